package control

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

// fakeRuntime is an Instance that records what the API asks of it and
// fails as told.
type fakeRuntime struct {
	injectErr error // InjectFault's error
	clearErr  error // ClearFault's error for an active fault
	err       error // Err
	shutErr   error // Shutdown's error

	mu        sync.Mutex
	next      int
	active    map[int]planted
	shutdowns int
	ledger    *simulator.Ledger
	peers     map[string]string // RemotePeers
	owed      int64             // MessagesOwed
}

// planted is one fault InjectFault was given.
type planted struct {
	f      topology.Fault
	number int
	live   bool
}

func newFake() *fakeRuntime {
	return &fakeRuntime{active: map[int]planted{}, ledger: simulator.NewLedger()}
}

func (r *fakeRuntime) InjectFault(f topology.Fault, number int, live bool) (int, error) {
	if r.injectErr != nil {
		return 0, r.injectErr
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	r.active[r.next] = planted{f: f, number: number, live: live}
	return r.next, nil
}

func (r *fakeRuntime) ClearFault(id int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.active[id]; !ok {
		return fmt.Errorf("clear fault %d: %w", id, simulator.ErrNoFault)
	}
	if r.clearErr != nil {
		return r.clearErr
	}
	delete(r.active, id)
	return nil
}

func (r *fakeRuntime) ClearFaults() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.active)
}

func (r *fakeRuntime) Faults() []simulator.FaultInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []simulator.FaultInfo{}
	for id := 1; id <= r.next; id++ {
		if p, ok := r.active[id]; ok {
			out = append(out, simulator.FaultInfo{ID: id, Number: p.number, Kind: string(p.f.Kind), Desc: simulator.Describe(p.f), Live: p.live, Since: time.Unix(1700000000, 0).UTC()})
		}
	}
	return out
}

func (r *fakeRuntime) FaultWindows() []record.Fault {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []record.Fault{}
	for id := 1; id <= r.next; id++ {
		out = append(out, record.Fault{ID: id, Start: int64(id), End: int64(id + 1)})
	}
	return out
}

func (r *fakeRuntime) Err() error                { return r.err }
func (r *fakeRuntime) Ledger() *simulator.Ledger { return r.ledger }

func (r *fakeRuntime) RemotePeers() map[string]string { return r.peers }

func (r *fakeRuntime) MessagesOwed() int64 { return r.owed }

func (r *fakeRuntime) Shutdown(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.shutdowns++
	return r.shutErr
}

// planted returns the fault planted as id, if it is active.
func (r *fakeRuntime) planted(id int) (planted, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.active[id]
	return p, ok
}

var errBroken = errors.New("broken")
