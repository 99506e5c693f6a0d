package scenarios

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

// The live control API, served with `tracerig run --control ADDR` for the
// length of the load:
//
//	GET    /faults       {"active": [FaultInfo...], "windows": [record.Fault...]}
//	POST   /faults       body: one fault as in a scenario's faults list (YAML or JSON);
//	                     answers 201 {"id": N}; 400 with {"error": "..."} listing every
//	                     problem; 409 when the running topology cannot apply it
//	DELETE /faults/{id}  clears one active fault; 404 when it is not active
//	DELETE /faults       clears every active fault
//
// A live fault's window starts when it is added; its `at` is ignored, its
// `for` (when set) ends it. Live faults enter the ledger like planned ones.
type control struct {
	rt   *simulator.Runtime
	topo *topology.Topology

	mu     sync.Mutex
	timers map[int]*time.Timer
}

// ControlState is the body of GET /faults.
type ControlState struct {
	Active  []simulator.FaultInfo `json:"active"`
	Windows []record.Fault        `json:"windows"`
}

// serveControl starts the control API on addr ("" serves nothing). The
// returned stop closes it and ends live faults' timers.
func serveControl(addr string, rt *simulator.Runtime, sc *topology.Scenario, ready func(string)) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for the control API on %s: %w; pick another --control address", addr, err)
	}
	c := &control{rt: rt, topo: sc.Topology, timers: map[int]*time.Timer{}}
	srv := &http.Server{Handler: c.handler(), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(lis)
	}()
	if ready != nil {
		ready(lis.Addr().String())
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
		c.mu.Lock()
		for _, t := range c.timers {
			t.Stop()
		}
		c.mu.Unlock()
	}, nil
}

func (c *control) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, ControlState{Active: c.rt.Faults(), Windows: c.rt.FaultWindows()})
	})
	mux.HandleFunc("POST /faults", c.add)
	mux.HandleFunc("DELETE /faults", func(w http.ResponseWriter, _ *http.Request) {
		c.rt.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("id"))
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("fault id %q is not a number", r.PathValue("id")))
			return
		}
		if err := c.rt.ClearFault(id); err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, simulator.ErrNoFault) {
				status = http.StatusNotFound
			}
			writeError(w, status, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func (c *control) add(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("read fault: %w", err))
		return
	}
	f, err := topology.ParseFault("request", body, c.topo)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if f.Window.Every > 0 || f.Window.Count > 0 {
		writeError(w, http.StatusBadRequest, errors.New("request: every and count are for planned faults; a live fault starts when added and ends after its for, or when cleared"))
		return
	}
	id, err := c.rt.InjectFault(f, 0, true)
	if err != nil {
		writeError(w, http.StatusConflict, err)
		return
	}
	if f.Window.For > 0 {
		c.mu.Lock()
		c.timers[id] = time.AfterFunc(f.Window.For, func() { c.rt.ClearFault(id) })
		c.mu.Unlock()
	}
	writeJSON(w, http.StatusCreated, map[string]int{"id": id})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
