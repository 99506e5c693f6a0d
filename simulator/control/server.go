package control

import (
	"bytes"
	"context"
	"crypto/rand"
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

// Runtime is the fault control of a running simulator.Runtime: what the
// fault routes drive. Its methods are called from concurrent requests.
type Runtime interface {
	InjectFault(f topology.Fault, number int, live bool) (int, error)
	ClearFault(id int) error
	ClearFaults()
	Faults() []simulator.FaultInfo
	FaultWindows() []record.Fault
}

// Instance is a Runtime that runs one instance on its own (`tracerig
// serve`): the instance routes also report its health, export its ledger
// (whole, or what was written since the last take) and shut it down.
type Instance interface {
	Runtime
	Err() error
	Ledger() *simulator.Ledger
	Shutdown(ctx context.Context) error
	RemotePeers() map[string]string
	MessagesOwed() int64
}

// maxFault is the largest fault body the server reads.
const maxFault = 1 << 20

// Server serves the control API of one running simulator. It is an
// http.Handler; Listen serves it on an address of its own.
type Server struct {
	rt   Runtime
	inst Instance // set for an instance's control port
	topo *topology.Topology
	mux  *http.ServeMux

	mu     sync.Mutex
	timers map[int]*time.Timer // the end of each live fault that has a for

	shutOnce sync.Once
	shutErr  error

	// takeMu serialises takes; the fields below are the batch of records
	// the last take answered with, kept until a take acknowledges it.
	takeMu    sync.Mutex
	takeNonce string // this process's, so a restarted instance's batches are told apart
	takeSeq   uint64 // the number of the last batch
	pending   []byte // that batch, until acknowledged; nil then

	srv  *http.Server
	addr string
	done chan struct{} // closed when srv stops serving
}

// NewServer returns the live fault API of rt, running topo: the fault
// routes only.
func NewServer(rt Runtime, topo *topology.Topology) *Server {
	s := &Server{rt: rt, topo: topo, mux: http.NewServeMux(), timers: map[int]*time.Timer{}}
	s.mux.HandleFunc("GET "+faultsPath, s.list)
	s.mux.HandleFunc("POST "+faultsPath, s.add)
	s.mux.HandleFunc("DELETE "+faultsPath, s.clearAll)
	s.mux.HandleFunc("DELETE "+faultsPath+"/{id}", s.clear)
	return s
}

// NewInstanceServer returns the control API of one instance running on its
// own: the fault routes, which also take faults forwarded by the host, and
// the instance routes (health, ledger, shutdown).
func NewInstanceServer(in Instance, topo *topology.Topology) *Server {
	s := NewServer(in, topo)
	s.inst = in
	s.takeNonce = rand.Text()[:12]
	s.mux.HandleFunc("GET "+HealthPath, s.health)
	s.mux.HandleFunc("GET "+ledgerPath, s.ledger)
	s.mux.HandleFunc("POST "+takePath, s.take)
	s.mux.HandleFunc("POST "+shutdownPath, s.shutdown)
	s.mux.HandleFunc("GET "+peersPath, s.peers)
	s.mux.HandleFunc("GET "+messagesPath, s.messagesOwed)
	return s
}

// ServeHTTP serves one request of the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Listen listens on addr and serves the API in the background until Close,
// and returns the address it listens on. It is called once.
func (s *Server) Listen(addr string) (string, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listen for the control API on %s: %w", addr, err)
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	s.addr = lis.Addr().String()
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		s.srv.Serve(lis)
	}()
	return s.addr, nil
}

// Close stops serving (after the requests in flight, within ctx) and the
// timers that would end live faults. The faults themselves stay.
func (s *Server) Close(ctx context.Context) error {
	var err error
	if s.srv != nil {
		err = s.srv.Shutdown(ctx)
		<-s.done
	}
	s.stopTimers()
	return err
}

// Shutdown stops the instance once: live faults' timers, then the runtime,
// which flushes its spans. The API keeps serving (its ledger stays
// readable) until Close. Later calls return the first one's error.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.inst == nil {
		return errors.New("shut down: the control API of a run does not own its runtime")
	}
	s.shutOnce.Do(func() {
		s.stopTimers()
		s.shutErr = s.inst.Shutdown(ctx)
	})
	return s.shutErr
}

func (s *Server) stopTimers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.timers {
		t.Stop()
	}
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	if err := s.inst.Err(); err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	io.WriteString(w, "ok\n")
}

func (s *Server) ledger(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/octet-stream")
	s.inst.Ledger().Export(w)
}

// take answers with the records the instance wrote since the last batch
// (simulator.Ledger.ExportTaken), as a new batch, once the host
// acknowledges that batch (ack=ID, the ID of its header); until then it
// answers with that batch again. A take the
// host gave up on mid-answer so loses nothing: the next one gets it.
func (s *Server) take(w http.ResponseWriter, r *http.Request) {
	s.takeMu.Lock()
	defer s.takeMu.Unlock()
	if s.pending != nil && r.URL.Query().Get(ackParam) == s.batchID() {
		s.pending = nil
	}
	if s.pending == nil {
		var buf bytes.Buffer
		if err := s.inst.Ledger().ExportTaken(&buf); err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		s.takeSeq++
		s.pending = buf.Bytes()
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set(takeHeader, s.batchID())
	w.Write(s.pending)
}

// batchID names the last batch a take answered with. The caller holds
// takeMu.
func (s *Server) batchID() string { return s.takeNonce + "." + strconv.FormatUint(s.takeSeq, 10) }

func (s *Server) shutdown(w http.ResponseWriter, r *http.Request) {
	if err := s.Shutdown(r.Context()); err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) list(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, State{Active: s.rt.Faults(), Windows: s.rt.FaultWindows()})
}

func (s *Server) clearAll(w http.ResponseWriter, _ *http.Request) {
	s.rt.ClearFaults()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) clear(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("fault id %q is not a number", r.PathValue("id")))
		return
	}
	if err := s.rt.ClearFault(id); err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, simulator.ErrNoFault) {
			status = http.StatusNotFound
		}
		writeError(w, status, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// add plants a fault: a live one as in a scenario's faults list, or, on an
// instance, one the host forwards.
func (s *Server) add(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxFault))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("read fault: %w", err))
		return
	}
	forwarded := s.inst != nil && r.Header.Get(faultHeader) == faultStruct
	var f topology.Fault
	if forwarded {
		err = json.Unmarshal(body, &f)
	} else {
		f, err = s.parseLive(body)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	number := 0
	if s.inst != nil {
		number, _ = strconv.Atoi(r.URL.Query().Get(numberParam))
	}
	id, err := s.rt.InjectFault(f, number, number == 0)
	if err != nil {
		writeError(w, http.StatusConflict, err)
		return
	}
	if !forwarded && f.Window.For > 0 {
		s.endAfter(id, f.Window.For)
	}
	writeJSON(w, http.StatusCreated, map[string]int{"id": id})
}

// parseLive parses a fault added live, which starts now and lasts for its
// for or until cleared: every and count belong to planned faults.
func (s *Server) parseLive(body []byte) (topology.Fault, error) {
	f, err := topology.ParseFault("request", body, s.topo)
	if err != nil {
		return f, err
	}
	if f.Window.Every > 0 || f.Window.Count > 0 {
		return f, errors.New("request: every and count are for planned faults; a live fault starts when added and ends after its for, or when cleared")
	}
	return f, nil
}

// endAfter clears fault id after d.
func (s *Server) endAfter(id int, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timers[id] = time.AfterFunc(d, func() { s.rt.ClearFault(id) })
}

// peerDialTimeout bounds one connection attempt of peers.
const peerDialTimeout = time.Second

// peers dials every instance this one calls and answers 200 when each
// accepted a connection, 503 with those that did not otherwise: the proof,
// from inside a container or pod, that the network between the instances
// is in place (a cluster's service proxy programmed, say).
func (s *Server) peers(w http.ResponseWriter, r *http.Request) {
	peers := s.inst.RemotePeers()
	var mu sync.Mutex
	failed := map[string]string{}
	var wg sync.WaitGroup
	for id, addr := range peers {
		wg.Go(func() {
			d := net.Dialer{Timeout: peerDialTimeout}
			c, err := d.DialContext(r.Context(), "tcp", addr)
			if err != nil {
				mu.Lock()
				failed[id] = err.Error()
				mu.Unlock()
				return
			}
			c.Close()
		})
	}
	wg.Wait()
	w.Header().Set("Content-Type", "application/json")
	if len(failed) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(PeersAnswer{Peers: len(peers), Unreachable: failed})
}
