package simulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerig/tracerig/topology"
)

var discardLog = log.New(io.Discard, "", 0)

// httpHandler routes each of the service's routes, each behind otelhttp when
// the service is instrumented.
func (in *instance) httpHandler() http.Handler {
	mux := http.NewServeMux()
	for _, r := range in.svc.Routes {
		var h http.Handler = in.httpRoute(r)
		if in.svc.Instrumented {
			h = otelhttp.NewHandler(h, r.Name,
				otelhttp.WithTracerProvider(in.tracer),
				otelhttp.WithMeterProvider(in.meter),
				otelhttp.WithPropagators(in.prop),
			)
		}
		mux.Handle(r.Name, harness(h))
	}
	return mux
}

type inboundKey struct{}

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

func (in *instance) httpRoute(route *topology.Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := &inbound{route: route}
		req.hop, req.request, _ = parseHop(r.Header.Get(HopHeader))
		if req.hop == 0 {
			req.hop = in.rt.externalHop()
		}
		rec := recvRec{hop: req.hop, headers: httpHeaderSet(r.Header)}
		carrier := propagation.HeaderCarrier(r.Header)
		if in.svc.Instrumented {
			rec.got = extracted(in.prop, carrier)
			sc := trace.SpanContextFromContext(r.Context())
			rec.server, rec.serverSpan = contextOf(sc), sc.IsValid()
		} else {
			rec.got = extracted(anyFormat, carrier)
			if in.svc.ForwardHeaders {
				req.forward = forwardable(r.Header)
			}
		}
		err := in.handle(r.Context(), req)
		rec.calleeError = err != nil
		in.shard.addRecv(rec)
		switch {
		case err == nil:
			w.WriteHeader(http.StatusOK)
		case errors.Is(err, errInjected):
			w.WriteHeader(route.Errors.HTTPStatus)
		case r.Context().Err() != nil:
			w.WriteHeader(http.StatusGatewayTimeout)
		default:
			w.WriteHeader(http.StatusBadGateway)
		}
	})
}

// forwardable returns the trace headers of h keyed in lower case.
func forwardable(h http.Header) map[string]string {
	var out map[string]string
	for _, th := range traceHeaders {
		if v := h.Get(th.name); v != "" {
			if out == nil {
				out = make(map[string]string, 4)
			}
			out[strings.ToLower(th.name)] = v
		}
	}
	return out
}

type outboundKey struct{}

// clientTransport is the instance's HTTP client stack: otelhttp (client span,
// injection) over the ledger recorder over a pooled transport.
func (in *instance) clientTransport() http.RoundTripper {
	rec := &recordingTransport{next: in.transport}
	if !in.svc.Instrumented {
		return rec
	}
	return otelhttp.NewTransport(rec,
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

// recordingTransport records what goes on the wire: it sits below otelhttp,
// so it sees the client span and the headers exactly as sent.
type recordingTransport struct{ next http.RoundTripper }

func (t *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if o, ok := r.Context().Value(outboundKey{}).(*outbound); ok {
		rec := o.record()
		rec.headers = httpHeaderSet(r.Header)
		if rec.clientSpan {
			rec.sent = contextOf(trace.SpanContextFromContext(r.Context()))
		} else {
			rec.sent = extracted(anyFormat, propagation.HeaderCarrier(r.Header))
		}
		o.from.shard.addSend(rec)
	}
	return t.next.RoundTrip(r)
}

func (in *instance) sendHTTP(ctx context.Context, o *outbound) error {
	method, path, _ := strings.Cut(o.route, " ")
	r, err := http.NewRequestWithContext(context.WithValue(ctx, outboundKey{}, o), method, "http://"+o.to.addr()+path, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	r.Header.Set(HopHeader, formatHop(o.hop, o.request))
	for k, v := range o.forward {
		r.Header.Set(k, v)
	}
	resp, err := in.httpClient.Do(r)
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
