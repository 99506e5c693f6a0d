package live

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// subBuffer is how many frames a subscriber holds before it drops the
// oldest: a page that reads slowly skips frames, never the reveal.
const subBuffer = 16

// hub keeps the run's history and the open event streams.
type hub struct {
	mu     sync.Mutex
	points []Point       // thinned past limit
	limit  int           // how many points to keep: maxPoints
	faults []FaultWindow // the latest frame's
	last   []byte        // the latest frame event's data, for a stream that opens later
	reveal []byte        // the reveal event's data, once revealed
	subs   map[*subscriber]struct{}
}

func (h *hub) init() { h.subs, h.limit = map[*subscriber]struct{}{}, maxPoints }

// subscriber is one open event stream: the events it has yet to write.
type subscriber struct {
	wake chan struct{} // has a value when there is something to write

	mu     sync.Mutex
	frames [][]byte // frame events' data, oldest first
	reveal []byte   // the reveal event's data, when not yet written
}

func (s *subscriber) push(frame, reveal []byte) {
	s.mu.Lock()
	if frame != nil {
		if len(s.frames) == subBuffer {
			s.frames = append(s.frames[:0], s.frames[1:]...)
		}
		s.frames = append(s.frames, frame)
	}
	if reveal != nil {
		s.reveal = reveal
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// take returns the events to write and forgets them.
func (s *subscriber) take() (frames [][]byte, reveal []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	frames, reveal = s.frames, s.reveal
	s.frames, s.reveal = nil, nil
	return frames, reveal
}

// history is what a stream starts with after its setup.
type history struct {
	Points []Point       `json:"points"`
	Faults []FaultWindow `json:"faults"`
}

// subscribe adds a stream and returns it with the history so far and the
// reveal to write after it, if any; the latest frame, if any, and then the
// reveal are queued on the stream instead. Later events go to the stream,
// none twice.
func (h *hub) subscribe() (*subscriber, []byte, []byte, error) {
	s := &subscriber{wake: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	data, err := json.Marshal(history{Points: nonNil(h.points), Faults: nonNil(h.faults)})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("encode the history: %w", err)
	}
	h.subs[s] = struct{}{}
	if h.last == nil {
		return s, data, h.reveal, nil
	}
	// A late page draws the edges as they stand, not grey until the next
	// frame (or forever, after the run), then the reveal: both queued.
	s.push(h.last, h.reveal)
	return s, data, nil, nil
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
}

// subscribers counts the open streams.
func (h *hub) subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Publish sends f to every open page and keeps its point and fault
// windows for pages that open later. It does not wait for any page.
func (v *View) Publish(f Frame) {
	f.Edges, f.Faults = nonNil(f.Edges), nonNil(f.Faults)
	data, err := json.Marshal(f)
	if err != nil {
		return // a Frame of numbers and strings always encodes
	}
	h := &v.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	h.points = thin(append(h.points, f.Point), h.limit)
	h.faults, h.last = f.Faults, data
	for s := range h.subs {
		s.push(data, nil)
	}
}

// Reveal sends the run's verdicts to every open page, and to every page
// that opens later.
func (v *View) Reveal(r Reveal) {
	r.Verdicts = nonNil(r.Verdicts)
	data, err := json.Marshal(r)
	if err != nil {
		return
	}
	h := &v.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reveal = data
	for s := range h.subs {
		s.push(nil, data)
	}
}

// subscribers counts the open event streams.
func (v *View) subscribers() int { return v.hub.subscribers() }

// setup is the first event of a stream: what the page needs to draw its
// panels.
type setup struct {
	Title   string  `json:"title"`
	Targets Targets `json:"targets"`
	Catalog []Kind  `json:"catalog"`
	Demo    bool    `json:"demo"`
	Stop    bool    `json:"stop"`
	Points  int     `json:"points"` // how many points of the series the page keeps
}

// events streams the run to one page until the page goes away or the view
// closes.
func (v *View) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, fmt.Errorf("the connection cannot stream events"))
		return
	}
	cfgData, err := json.Marshal(setup{
		Title: v.cfg.Title, Targets: v.cfg.Targets, Catalog: Catalog(),
		Demo: v.cfg.Demo, Stop: v.cfg.Stop != nil, Points: v.hub.limit,
	})
	if err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Errorf("encode the setup: %w", err))
		return
	}
	s, hist, reveal, err := v.hub.subscribe()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	defer v.hub.unsubscribe(s)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	writeEvent(w, "setup", cfgData)
	writeEvent(w, "history", hist)
	if reveal != nil {
		writeEvent(w, "reveal", reveal)
	}
	fl.Flush()
	v.stream(w, fl, r, s)
}

// stream writes s's events as they come, and a keepalive comment when
// idle.
func (v *View) stream(w http.ResponseWriter, fl http.Flusher, r *http.Request, s *subscriber) {
	tick := time.NewTicker(v.keepalive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-v.closing:
			return
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil {
				return
			}
		case <-s.wake:
			frames, reveal := s.take()
			for _, f := range frames {
				writeEvent(w, "frame", f)
			}
			if reveal != nil {
				writeEvent(w, "reveal", reveal)
			}
		}
		fl.Flush()
	}
}

// writeEvent writes one server-sent event; data is JSON, one line.
func writeEvent(w http.ResponseWriter, name string, data []byte) {
	fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data)
}
