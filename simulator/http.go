package simulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptrace"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerig/tracerig/topology"
)

var discardLog = log.New(io.Discard, "", 0)

// httpHandler routes each of the service's routes. An instrumented service
// serves each route behind otelhttp, and bare while an uninstrument fault
// holds.
func (in *instance) httpHandler() http.Handler {
	mux := http.NewServeMux()
	for _, r := range in.svc.Routes {
		if r.Consume != nil {
			continue // messages run it
		}
		var traced http.Handler
		if in.svc.Instrumented {
			traced = otelhttp.NewHandler(in.httpRoute(r, true), r.Name,
				otelhttp.WithTracerProvider(in.tracer),
				otelhttp.WithMeterProvider(in.meter),
				otelhttp.WithPropagators(in.prop),
			)
		}
		bare := in.httpRoute(r, false)
		mux.Handle(r.Name, harness(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if on, _ := in.instrumentedNow(); on {
				traced.ServeHTTP(w, req)
				return
			}
			bare.ServeHTTP(w, req)
		})))
	}
	return mux
}

// harness reads the hop header before instrumentation starts the server
// span, so a trace the callee starts gets an ID derived from the hop.
func harness(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hop, _, ok := parseHop(r.Header.Get(HopHeader)); ok {
			r = r.WithContext(withHop(r.Context(), hop))
		}
		next.ServeHTTP(w, r)
	})
}

func (in *instance) httpRoute(route *topology.Route, traced bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := &inbound{route: route, instrumented: traced}
		req.hop, req.request, _ = parseHop(r.Header.Get(HopHeader))
		orphan := req.hop == 0
		at := time.Now()
		if orphan {
			req.hop = in.rt.externalHop()
		}
		rec := recvRec{hop: req.hop, headers: httpHeaderSet(r.Header)}
		carrier := propagation.HeaderCarrier(r.Header)
		if traced {
			rec.got = extracted(in.prop, carrier)
			sc := trace.SpanContextFromContext(r.Context())
			rec.server, rec.serverSpan = contextOf(sc), sc.IsValid()
		} else {
			rec.got = extracted(anyFormat, carrier)
			if _, forward := in.instrumentedNow(); forward {
				req.forward = forwardable(r.Header)
			}
		}
		in.rt.ledger.headerDetail(&rec, r.Header.Get)
		err := in.handle(r.Context(), req)
		rec.calleeError = err != nil && r.Context().Err() == nil
		if orphan {
			in.recordOrphan(route, rec, at)
		} else {
			in.shard.addRecv(rec)
		}
		var inj *injected
		switch {
		case err == nil:
			w.WriteHeader(http.StatusOK)
		case errors.As(err, &inj):
			w.WriteHeader(inj.httpStatus)
		case r.Context().Err() != nil:
			w.WriteHeader(http.StatusGatewayTimeout)
		default:
			w.WriteHeader(http.StatusBadGateway)
		}
	})
}

// forwardable returns the trace headers of h keyed in lower case.
func forwardable(h http.Header) map[string]string { return forwardableFrom(h.Get) }

// forwardableFrom returns the trace headers get finds, keyed in lower
// case, for an uninstrumented service that passes them on.
func forwardableFrom(get func(string) string) map[string]string {
	var out map[string]string
	for _, th := range traceHeaders {
		if v := get(th.name); v != "" {
			if out == nil {
				out = make(map[string]string, 4)
			}
			out[strings.ToLower(th.name)] = v
		}
	}
	return out
}

type outboundKey struct{}

// instrumentedTransport puts otelhttp (client span, injection) over rt.
func (in *instance) instrumentedTransport(rt http.RoundTripper) http.RoundTripper {
	return otelhttp.NewTransport(rt,
		otelhttp.WithTracerProvider(in.tracer),
		otelhttp.WithMeterProvider(in.meter),
		otelhttp.WithPropagators(in.prop),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if o, ok := r.Context().Value(outboundKey{}).(*outbound); ok {
				return o.route
			}
			return r.Method
		}),
	)
}

// recordingTransport records what the caller puts on the wire (it sits
// below otelhttp, so it sees the client span and the headers as sent), then
// plays the faults of the network between caller and callee: headers
// rewritten in transit, partitions.
type recordingTransport struct{ next http.RoundTripper }

func (t *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	o, ok := r.Context().Value(outboundKey{}).(*outbound)
	if !ok {
		return t.next.RoundTrip(r)
	}
	rec := o.record()
	rec.headers = httpHeaderSet(r.Header)
	o.from.rt.ledger.sentDetail(&rec, r.Header.Get)
	if rec.clientSpan {
		rec.sent = contextOf(trace.SpanContextFromContext(r.Context()))
	} else {
		rec.sent = extracted(anyFormat, propagation.HeaderCarrier(r.Header))
	}
	o.from.shard.addSend(rec)
	rt := o.from.rt
	if err := rt.partitioned(r.Context(), o.from.svc.Name, o.to.svc.Name); err != nil {
		return nil, err
	}
	if hf := rt.headerFaults(o.from.svc.Name, o.to.svc.Name); len(hf) > 0 {
		r = r.Clone(r.Context())
		for _, a := range hf {
			applyHeaderFault(r.Header, a.f, o.hop)
		}
	}
	return t.next.RoundTrip(r)
}

func (in *instance) sendHTTP(ctx context.Context, o *outbound) error {
	method, path, _ := strings.Cut(o.route, " ")
	ctx = httptrace.WithClientTrace(context.WithValue(ctx, outboundKey{}, o), &httptrace.ClientTrace{
		GotConn: func(c httptrace.GotConnInfo) {
			if c.Reused && c.WasIdle {
				o.idleSince.Store(time.Now().Add(-c.IdleTime).UnixNano())
			}
		},
	})
	r, err := http.NewRequestWithContext(ctx, method, "http://"+o.to.addr()+path, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	r.Header.Set(HopHeader, formatHop(o.hop, o.request))
	for k, v := range o.forward {
		r.Header.Set(k, v)
	}
	client := in.bareClient
	if o.instrumented {
		client = in.httpClient
	}
	resp, err := client.Do(r)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("%s answered %d", o.to.id, resp.StatusCode)
	}
	return nil
}
