package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tracerig/tracerig/topology"
)

// Client talks to the control API at one address. Its methods may be
// called concurrently.
type Client struct {
	// Addr is the API's HOST:PORT.
	Addr string
	// HTTP sends the requests; nil is http.DefaultClient.
	HTTP *http.Client
}

// ErrUnreachable marks the error of a request the control API did not
// answer; the error also wraps the cause (a *url.Error).
var ErrUnreachable = errors.New("control API unreachable")

// AnswerError is an answer other than the one the request expects: an
// error status, or a success whose body the client cannot read.
type AnswerError struct {
	Addr   string
	Method string
	Path   string
	Status int
	Body   []byte
}

// Message returns the message of an error answer ({"error": "..."}), and
// whether the body was one.
func (e *AnswerError) Message() (string, bool) {
	var b struct {
		Error *string `json:"error"`
	}
	if json.Unmarshal(e.Body, &b) != nil || b.Error == nil {
		return "", false
	}
	return *b.Error, true
}

func (e *AnswerError) Error() string {
	msg, ok := e.Message()
	if !ok {
		msg = string(bytes.TrimSpace(e.Body))
	}
	return fmt.Sprintf("%s http://%s%s: %d %s: %s", e.Method, e.Addr, e.Path, e.Status, http.StatusText(e.Status), msg)
}

// ParseAddr returns the HOST:PORT of a control address given as HOST:PORT
// or http://HOST:PORT/.
func ParseAddr(s string) (string, error) {
	addr := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "http://"), "/")
	if strings.Contains(addr, "/") || !strings.Contains(addr, ":") {
		return "", fmt.Errorf("%q is not HOST:PORT", addr)
	}
	if _, err := url.Parse("http://" + addr); err != nil {
		return "", fmt.Errorf("%q is not HOST:PORT: %w", addr, err)
	}
	return addr, nil
}

// maxAnswer is the largest answer the client reads, but for a ledger.
const maxAnswer = 4 << 20

// Health returns nil once the instance serves.
func (c *Client) Health(ctx context.Context) error {
	_, err := c.expect(ctx, http.MethodGet, HealthPath, nil, nil, http.StatusOK, maxAnswer)
	return err
}

// Peers returns nil once the instance reaches every instance it calls,
// else an error naming those it does not.
func (c *Client) Peers(ctx context.Context) error {
	_, err := c.expect(ctx, http.MethodGet, peersPath, nil, nil, http.StatusOK, maxAnswer)
	var ae *AnswerError
	if err == nil || !errors.As(err, &ae) {
		return err
	}
	var a PeersAnswer
	if json.Unmarshal(ae.Body, &a) == nil && len(a.Unreachable) > 0 {
		var names []string
		for id, why := range a.Unreachable {
			names = append(names, id+" ("+why+")")
		}
		slices.Sort(names)
		return fmt.Errorf("%d of %d peers unreachable: %s", len(a.Unreachable), a.Peers, strings.Join(names, ", "))
	}
	return err
}

// Ledger returns the instance's ledger so far, for simulator.Ledger.Merge.
func (c *Client) Ledger(ctx context.Context) ([]byte, error) {
	return c.expect(ctx, http.MethodGet, ledgerPath, nil, nil, http.StatusOK, -1)
}

// TakeLedger takes a batch of the instance's records, for a
// simulator.Merger that merges the takes: those written since the batch
// ack names (every record, the first time, with ack ""), or, when ack is
// not the last batch the instance answered with, that batch again. It
// returns the batch's ID, which the next take passes as ack once the batch
// is merged: an answer cut off on its way, or a merge that failed, is so
// answered again rather than lost.
func (c *Client) TakeLedger(ctx context.Context, ack string) (id string, batch []byte, err error) {
	path := takePath
	if ack != "" {
		path += "?" + url.Values{ackParam: {ack}}.Encode()
	}
	h := http.Header{}
	batch, err = c.expect(ctx, http.MethodPost, path, nil, nil, http.StatusOK, -1, h)
	if err != nil {
		return "", nil, err
	}
	id = h.Get(takeHeader)
	if id == "" {
		return "", nil, fmt.Errorf("take the ledger of %s: the answer names no batch (%s)", c.Addr, takeHeader)
	}
	return id, batch, nil
}

// Shutdown stops the instance and flushes its spans; its ledger stays
// readable.
func (c *Client) Shutdown(ctx context.Context) error {
	_, err := c.expect(ctx, http.MethodPost, shutdownPath, nil, nil, http.StatusNoContent, maxAnswer)
	return err
}

// Faults returns the active faults and the windows so far, and the answer
// as it came.
func (c *Client) Faults(ctx context.Context) (State, []byte, error) {
	var st State
	body, err := c.expect(ctx, http.MethodGet, faultsPath, nil, nil, http.StatusOK, maxAnswer)
	if err == nil && json.Unmarshal(body, &st) != nil {
		err = c.answerError(http.MethodGet, faultsPath, http.StatusOK, body)
	}
	return st, body, err
}

// Add adds a live fault, one item of a scenario's faults list as YAML or
// JSON, and returns its ID. A fault the API refuses is an *AnswerError
// whose Message lists every problem, positions in fault's text.
func (c *Client) Add(ctx context.Context, fault []byte) (int, error) {
	h := http.Header{"Content-Type": {"application/yaml"}}
	return c.plant(ctx, faultsPath, h, fault)
}

// Forward plants f, which the host plays, on the instance, as the number-th
// of the scenario's faults (0 for a live one), and returns its ID there.
func (c *Client) Forward(ctx context.Context, f topology.Fault, number int) (int, error) {
	body, err := json.Marshal(f)
	if err != nil {
		return 0, fmt.Errorf("forward %s: %w", f.Kind, err)
	}
	h := http.Header{"Content-Type": {"application/json"}, faultHeader: {faultStruct}}
	return c.plant(ctx, faultsPath+"?"+numberParam+"="+strconv.Itoa(number), h, body)
}

func (c *Client) plant(ctx context.Context, path string, h http.Header, body []byte) (int, error) {
	answer, err := c.expect(ctx, http.MethodPost, path, h, body, http.StatusCreated, maxAnswer)
	if err != nil {
		return 0, err
	}
	var r struct{ ID int }
	if json.Unmarshal(answer, &r) != nil || r.ID == 0 {
		return 0, c.answerError(http.MethodPost, path, http.StatusCreated, answer)
	}
	return r.ID, nil
}

// Clear clears the active fault id; one that is not active is an
// *AnswerError with status 404.
func (c *Client) Clear(ctx context.Context, id int) error {
	_, err := c.expect(ctx, http.MethodDelete, faultsPath+"/"+strconv.Itoa(id), nil, nil, http.StatusNoContent, maxAnswer)
	return err
}

// ClearAll clears every active fault.
func (c *Client) ClearAll(ctx context.Context) error {
	_, err := c.expect(ctx, http.MethodDelete, faultsPath, nil, nil, http.StatusNoContent, maxAnswer)
	return err
}

// expect sends one request with the headers h and body, and returns the
// answer's body, or an *AnswerError when its status is not want. It reads
// at most limit bytes (limit < 0: all); the answer's headers go into got
// when given.
func (c *Client) expect(ctx context.Context, method, path string, h http.Header, body []byte, want int, limit int64, got ...http.Header) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://"+c.Addr+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("control API request %s %s: %w", method, path, err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if limit >= 0 {
		r = io.LimitReader(r, limit)
	}
	answer, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read the answer of the control API at %s: %w", c.Addr, err)
	}
	if resp.StatusCode != want {
		return nil, c.answerError(method, path, resp.StatusCode, answer)
	}
	for _, g := range got {
		maps.Copy(g, resp.Header)
	}
	return answer, nil
}

func (c *Client) answerError(method, path string, status int, body []byte) *AnswerError {
	return &AnswerError{Addr: c.Addr, Method: method, Path: path, Status: status, Body: body}
}
