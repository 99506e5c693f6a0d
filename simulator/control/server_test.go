package control

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

const testTopology = `name: t
services:
  web:
    routes:
      GET /order:
        calls:
          - stock: GET /items
  stock:
    routes:
      GET /items:
`

func testTopo(t *testing.T) *topology.Topology {
	t.Helper()
	topo, err := topology.ParseTopology("t.yaml", []byte(testTopology))
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// serve serves srv over httptest and returns a client of it.
func serve(t *testing.T, srv *Server) *Client {
	t.Helper()
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		srv.Close(context.Background())
	})
	return &Client{Addr: ts.Listener.Addr().String(), HTTP: ts.Client()}
}

// newServer returns an instance's API over rt, or a run's.
func newServer(t *testing.T, rt *fakeRuntime, instance bool) *Server {
	if instance {
		return NewInstanceServer(rt, testTopo(t))
	}
	return NewServer(rt, testTopo(t))
}

var stripHeaders = topology.Fault{
	Kind:   topology.FaultStripHeaders,
	Target: topology.FaultTarget{From: "web", To: "stock", Instance: -1},
}

// TestAnswers: every route, on a run's API and an instance's, answers what
// the client expects, and each refusal comes back as an *AnswerError with
// its status and message.
func TestAnswers(t *testing.T) {
	tests := []struct {
		name     string
		instance bool
		setup    func(*fakeRuntime)
		call     func(*Client, context.Context) error
		status   int    // 0: no error
		message  string // in the error answer's message; "" for a body that is not one
	}{
		{name: "add a live fault", call: add("strip-headers: {from: web, to: stock}")},
		{name: "add a live fault to an instance", instance: true, call: add("strip-headers: {from: web, to: stock}\nfor: 1m")},
		{name: "add what is not a fault", call: add("shrug: yes"), status: 400, message: "request:1:1"},
		{name: "add a fault on an undefined edge", call: add("strip-headers: {from: web, to: nowhere}"), status: 400, message: `service "nowhere" is not defined`},
		{name: "add a live fault that repeats", call: add("strip-headers: {from: web, to: stock}\nevery: 1s"), status: 400, message: "every and count are for planned faults"},
		{name: "add a fault the runtime refuses", setup: refuseFaults, call: add("strip-headers: {from: web, to: stock}"), status: 409, message: "broken"},
		{name: "forward a fault", instance: true, call: forward(2)},
		{name: "forward a fault the runtime refuses", instance: true, setup: refuseFaults, call: forward(2), status: 409, message: "broken"},
		{name: "forward to a run, which reads it as a live fault", call: forward(2), status: 400, message: "request:"},
		{name: "list the faults", call: func(c *Client, ctx context.Context) error { _, _, err := c.Faults(ctx); return err }},
		{name: "clear a fault", setup: plantOne, call: clearFault(1)},
		{name: "clear a fault not active", call: clearFault(7), status: 404, message: "clear fault 7: no such active fault"},
		{name: "clear a fault that fails", setup: func(r *fakeRuntime) { plantOne(r); r.clearErr = errBroken }, call: clearFault(1), status: 500, message: "broken"},
		{name: "clear every fault", setup: plantOne, call: (*Client).ClearAll},
		{name: "health", instance: true, call: (*Client).Health},
		{name: "health of a failed instance", instance: true, setup: func(r *fakeRuntime) { r.err = errBroken }, call: (*Client).Health, status: 500, message: "broken"},
		{name: "health of a run", call: (*Client).Health, status: 404},
		{name: "ledger", instance: true, call: ledger},
		{name: "ledger of a run", call: ledger, status: 404},
		{name: "take the ledger", instance: true, call: takeLedger},
		{name: "take the ledger of a run", call: takeLedger, status: 404},
		{name: "shutdown", instance: true, call: (*Client).Shutdown},
		{name: "shutdown that fails", instance: true, setup: func(r *fakeRuntime) { r.shutErr = errBroken }, call: (*Client).Shutdown, status: 500, message: "broken"},
		{name: "shutdown of a run", call: (*Client).Shutdown, status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := newFake()
			if tt.setup != nil {
				tt.setup(rt)
			}
			c := serve(t, newServer(t, rt, tt.instance))
			err := tt.call(c, t.Context())
			if tt.status == 0 {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			var ae *AnswerError
			if !errors.As(err, &ae) {
				t.Fatalf("got %v, want an *AnswerError", err)
			}
			if ae.Status != tt.status {
				t.Errorf("status %d, want %d (%v)", ae.Status, tt.status, err)
			}
			msg, ok := ae.Message()
			switch {
			case tt.message == "" && ok:
				t.Errorf("message %q, want a body that is not an error answer", msg)
			case tt.message != "" && (!ok || !strings.Contains(msg, tt.message)):
				t.Errorf("message %q (error shape: %v), want one with %q", msg, ok, tt.message)
			}
		})
	}
}

func add(fault string) func(*Client, context.Context) error {
	return func(c *Client, ctx context.Context) error { _, err := c.Add(ctx, []byte(fault)); return err }
}

func forward(number int) func(*Client, context.Context) error {
	return func(c *Client, ctx context.Context) error { _, err := c.Forward(ctx, stripHeaders, number); return err }
}

func clearFault(id int) func(*Client, context.Context) error {
	return func(c *Client, ctx context.Context) error { return c.Clear(ctx, id) }
}

func ledger(c *Client, ctx context.Context) error { _, err := c.Ledger(ctx); return err }

func takeLedger(c *Client, ctx context.Context) error { _, _, err := c.TakeLedger(ctx, ""); return err }

func refuseFaults(r *fakeRuntime) { r.injectErr = errBroken }

func plantOne(r *fakeRuntime) { r.InjectFault(stripHeaders, 0, true) }

// TestPlanted: a live fault is planted as live with no number; a forwarded
// one with its number, as it was sent; a run ignores ?number.
func TestPlanted(t *testing.T) {
	tests := []struct {
		name     string
		instance bool
		plant    func(context.Context, *Client) (int, error)
		want     planted
	}{
		{"live on a run", false, func(ctx context.Context, c *Client) (int, error) {
			return c.Add(ctx, []byte("strip-headers: {from: web, to: stock}"))
		}, planted{f: stripHeaders, live: true}},
		{"live on an instance", true, func(ctx context.Context, c *Client) (int, error) {
			return c.Add(ctx, []byte("strip-headers: {from: web, to: stock}"))
		}, planted{f: stripHeaders, live: true}},
		{"forwarded", true, func(ctx context.Context, c *Client) (int, error) {
			return c.Forward(ctx, stripHeaders, 3)
		}, planted{f: stripHeaders, number: 3}},
		{"forwarded as live", true, func(ctx context.Context, c *Client) (int, error) {
			return c.Forward(ctx, stripHeaders, 0)
		}, planted{f: stripHeaders, live: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := newFake()
			c := serve(t, newServer(t, rt, tt.instance))
			id, err := tt.plant(t.Context(), c)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := rt.planted(id)
			if !ok {
				t.Fatalf("fault %d is not active", id)
			}
			if got.f.Kind != tt.want.f.Kind || got.f.Target != tt.want.f.Target || got.number != tt.want.number || got.live != tt.want.live {
				t.Errorf("planted %s %+v number %d live %v, want %s %+v number %d live %v",
					got.f.Kind, got.f.Target, got.number, got.live, tt.want.f.Kind, tt.want.f.Target, tt.want.number, tt.want.live)
			}
		})
	}
}

// TestLiveFaultEnds: a live fault with a for is cleared when it has
// lasted; a forwarded one lasts until the host clears it.
func TestLiveFaultEnds(t *testing.T) {
	rt := newFake()
	c := serve(t, NewInstanceServer(rt, testTopo(t)))
	live, err := c.Add(t.Context(), []byte("strip-headers: {from: web, to: stock}\nfor: 50ms"))
	if err != nil {
		t.Fatal(err)
	}
	timed := stripHeaders
	timed.Window.For = 50 * time.Millisecond
	forwarded, err := c.Forward(t.Context(), timed, 1)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, ok := rt.planted(live); ok; _, ok = rt.planted(live) {
		if time.Now().After(deadline) {
			t.Fatal("the live fault is still active 5s after its 50ms")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if _, ok := rt.planted(forwarded); !ok {
		t.Error("the forwarded fault ended on its own")
	}
}

// TestFaultsState: GET /faults carries the active faults and the windows,
// and the client gives the answer as it came too.
func TestFaultsState(t *testing.T) {
	rt := newFake()
	plantOne(rt)
	rt.InjectFault(stripHeaders, 2, false)
	c := serve(t, NewServer(rt, testTopo(t)))
	st, raw, err := c.Faults(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Active) != 2 || st.Active[0].ID != 1 || !st.Active[0].Live || st.Active[1].Number != 2 || len(st.Windows) != 2 {
		t.Errorf("state %+v, want faults 1 (live) and 2 (#2) and two windows", st)
	}
	if !bytes.HasPrefix(raw, []byte(`{"active":[{"id":1,"kind":"strip-headers"`)) {
		t.Errorf("answer %s", raw)
	}
}

// TestBadFaultID: a fault ID that is not a number is a 400 in the error
// shape.
func TestBadFaultID(t *testing.T) {
	c := serve(t, NewServer(newFake(), testTopo(t)))
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodDelete, "http://"+c.Addr+"/faults/one", nil)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if want := `{"error":"fault id \"one\" is not a number"}` + "\n"; resp.StatusCode != 400 || string(body) != want {
		t.Errorf("answer %d %s, want 400 %s", resp.StatusCode, body, want)
	}
}

// TestShutdownOnce: the instance shuts down once, however often asked;
// the ledger stays readable after.
func TestShutdownOnce(t *testing.T) {
	rt := newFake()
	c := serve(t, NewInstanceServer(rt, testTopo(t)))
	for range 2 {
		if err := c.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if rt.shutdowns != 1 {
		t.Errorf("the runtime shut down %d times, want once", rt.shutdowns)
	}
	b, err := c.Ledger(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := simulator.NewLedger().Merge(bytes.NewReader(b)); err != nil {
		t.Errorf("merge the instance's ledger: %v", err)
	}
}

// TestTakeLedger: each take hands over what was recorded since the one
// before, once; merged one after another they add up to the ledger.
func TestTakeLedger(t *testing.T) {
	rt := newFake()
	c := serve(t, NewInstanceServer(rt, testTopo(t)))
	host := simulator.NewLedger()
	m := host.Merger()
	ack := ""
	for i, retries := range []int{2, 0, 3} {
		for range retries {
			rt.ledger.ExportRetried(1)
		}
		id, b, err := c.TakeLedger(t.Context(), ack)
		if err != nil {
			t.Fatal(err)
		}
		ack = id
		before := host.Totals().ExportRetries
		if err := m.Merge(bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		if got := host.Totals().ExportRetries - before; got != retries {
			t.Errorf("take %d handed over %d retries, want %d", i, got, retries)
		}
	}
	if got, want := host.ExportRetries(), rt.ledger.ExportRetries(); len(got) != len(want) {
		t.Errorf("the takes merged %d retries, the instance recorded %d", len(got), len(want))
	}
}

// TestTakeUntilAcknowledged: a take answers with its last batch again
// until a take acknowledges it, then with what was recorded since; a
// batch of another process (a restarted instance's) acknowledges nothing.
func TestTakeUntilAcknowledged(t *testing.T) {
	rt := newFake()
	c := serve(t, NewInstanceServer(rt, testTopo(t)))
	take := func(ack string) (string, []byte) {
		t.Helper()
		id, b, err := c.TakeLedger(t.Context(), ack)
		if err != nil {
			t.Fatal(err)
		}
		return id, b
	}
	rt.ledger.ExportRetried(1)
	id1, b1 := take("")
	rt.ledger.ExportRetried(1)
	if id, b := take(""); id != id1 || !bytes.Equal(b, b1) {
		t.Errorf("a take that acknowledges nothing answered batch %s, want %s again", id, id1)
	}
	other, _, err := serve(t, NewInstanceServer(newFake(), testTopo(t))).TakeLedger(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := take(other); id != id1 {
		t.Errorf("acknowledged with another process's batch %s: answered %s, want %s again", other, id, id1)
	}
	id2, b2 := take(id1)
	if id2 == id1 || id2 == "" {
		t.Fatalf("acknowledged %s: answered batch %q, want a new one", id1, id2)
	}
	host := simulator.NewLedger()
	m := host.Merger()
	for _, b := range [][]byte{b1, b2} {
		if err := m.Merge(bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	if got := host.Totals().ExportRetries; got != 2 {
		t.Errorf("the two batches hold %d retries, want the 2 recorded", got)
	}
}

// TestUnreachable: a request nothing answers is ErrUnreachable, wrapping
// the client's *url.Error.
func TestUnreachable(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	c := &Client{Addr: addr}
	_, _, err = c.Faults(t.Context())
	var ue *url.Error
	if !errors.Is(err, ErrUnreachable) || !errors.As(err, &ue) {
		t.Errorf("got %v, want ErrUnreachable wrapping a *url.Error", err)
	}
}

// TestListen: the API serves on the address it listens on until Close; an
// address in use is an error that names it.
func TestListen(t *testing.T) {
	srv := NewInstanceServer(newFake(), testTopo(t))
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &Client{Addr: addr, HTTP: &http.Client{Transport: tr}}
	if err := c.Health(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, err = NewServer(newFake(), testTopo(t)).Listen(addr)
	if want := "listen for the control API on " + addr; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("listen on a taken address: got %v, want %q", err, want)
	}
	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := c.Health(t.Context()); !errors.Is(err, ErrUnreachable) {
		t.Errorf("after Close: got %v, want ErrUnreachable", err)
	}
}

func TestParseAddr(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{in: "127.0.0.1:7000", want: "127.0.0.1:7000"},
		{in: " http://127.0.0.1:7000/ ", want: "127.0.0.1:7000"},
		{in: "localhost:1", want: "localhost:1"},
		{in: "7000", err: `"7000" is not HOST:PORT`},
		{in: "http://a:1/faults", err: `"a:1/faults" is not HOST:PORT`},
		{in: "a b:1", err: `"a b:1" is not HOST:PORT: parse "http://a b:1": invalid character " " in host name`},
	}
	for _, tt := range tests {
		got, err := ParseAddr(tt.in)
		if got != tt.want || (err == nil) != (tt.err == "") || err != nil && err.Error() != tt.err {
			t.Errorf("ParseAddr(%q) = %q, %v; want %q, %q", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestAnswerErrorText(t *testing.T) {
	tests := []struct {
		body, want string
	}{
		{`{"error":"clear fault 7: no such active fault"}`, "DELETE http://h:1/faults/7: 404 Not Found: clear fault 7: no such active fault"},
		{"404 page not found\n", "DELETE http://h:1/faults/7: 404 Not Found: 404 page not found"},
	}
	for _, tt := range tests {
		e := &AnswerError{Addr: "h:1", Method: "DELETE", Path: "/faults/7", Status: 404, Body: []byte(tt.body)}
		if got := e.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

// TestPeers: an instance reports that it reaches the instances it calls,
// and names those it cannot connect to.
func TestPeers(t *testing.T) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	gone, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	goneAddr := gone.Addr().String()
	gone.Close()
	for _, tc := range []struct {
		name  string
		peers map[string]string
		want  string // in the error; "" for none
	}{
		{"none", nil, ""},
		{"every peer answers", map[string]string{"stock-0": up.Addr().String(), "stock-1": up.Addr().String()}, ""},
		{"one is refused", map[string]string{"stock-0": up.Addr().String(), "pricing-0": goneAddr}, "1 of 2 peers unreachable: pricing-0 ("},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := serve(t, newServer(t, &fakeRuntime{peers: tc.peers}, true))
			err := c.Peers(t.Context())
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Peers = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestMessagesOwed: an instance's share of the deliveries owed comes back
// through its control API; a run's API has no such route.
func TestMessagesOwed(t *testing.T) {
	rt := newFake()
	rt.owed = -3 // a consumer that processed more than its process published
	c := serve(t, newServer(t, rt, true))
	if n, err := c.MessagesOwed(t.Context()); err != nil || n != -3 {
		t.Errorf("MessagesOwed = %d, %v; want -3", n, err)
	}
	run := serve(t, newServer(t, newFake(), false))
	var ae *AnswerError
	if _, err := run.MessagesOwed(t.Context()); !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		t.Errorf("a run's API answered MessagesOwed with %v, want 404", err)
	}
}

// TestBrokerControl: a broker's control API stops and starts it.
func TestBrokerControl(t *testing.T) {
	b := &fakeBroker{}
	ts := httptest.NewServer(BrokerHandler(b))
	defer ts.Close()
	c := &Client{Addr: ts.Listener.Addr().String(), HTTP: ts.Client()}
	if err := c.Health(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := c.StopBroker(t.Context()); err != nil || b.stops != 1 {
		t.Fatalf("StopBroker: %v, %d stops", err, b.stops)
	}
	b.startErr = errors.New("port taken")
	if err := c.StartBroker(t.Context()); err == nil || !strings.Contains(err.Error(), "port taken") {
		t.Errorf("StartBroker = %v, want the broker's error", err)
	}
	b.startErr = nil
	if err := c.StartBroker(t.Context()); err != nil || b.starts != 2 {
		t.Errorf("StartBroker: %v, %d starts", err, b.starts)
	}
}

type fakeBroker struct {
	stops, starts int
	startErr      error
}

func (b *fakeBroker) Stop() { b.stops++ }

func (b *fakeBroker) Start(context.Context) error {
	b.starts++
	return b.startErr
}
