package schema

import (
	"github.com/tracerig/tracerig/internal/otlpconf"
	"github.com/tracerig/tracerig/topology"
)

// scenarioNode is the root of a scenario file.
func scenarioNode() node {
	return object("A run: a topology, where its spans go, the load, the faults planted and the checks.", node{
		"name":        text("The scenario's name. Default: the file name."),
		"description": str("What the scenario shows."),
		"topology": node{
			"description": "The topology: a path relative to this file, or an inline topology.",
			"anyOf":       []node{{"type": "string"}, ref("topology")},
		},
		"runtime": enum("Where the services run. Default inprocess.", topology.Runtimes),
		"backend": node{
			"description": "Where the services export their spans: a type name or a mapping. Default embedded.",
			"anyOf":       []node{enum("A backend type.", topology.BackendTypes), ref("backend")},
		},
		"seed":   node{"type": "integer", "minimum": 0, "description": "The seed of every random decision. Default 1."},
		"settle": duration("How long to wait after the load for the backend to hold every span."),
		"load":   listOf("The traffic, each item on one entry route or a weighted mix.", ref("load")),
		"faults": listOf("Failures planted on the load's timeline.", ref("fault")),
		"expect": listOf("The checks. Default: propagation {connected: true} and completeness {min: 1}.", ref("expect")),
	})
}

// scenarioDefs returns the definitions a scenario refers to, beside the
// topology's.
func scenarioDefs() node {
	defs := node{
		"backend": backend(),
		"tls": object("TLS of the export; files relative to the scenario.", tlsProps(node{
			"insecure": boolean("Plaintext (not with an https:// endpoint)."),
		})),
		"headers": mapOf("Headers by name: literal text with ${VARIABLE} references, expanded when the run starts.", text("A header value.")),
		"load":    load(),
		"rate": node{
			"description": "Requests per period: N/s, N/100ms, N/1m, N (per second), 0 (as fast as the workers go), or a ramp {from, to}.",
			"anyOf": []node{oneRate(), object("A ramp from one rate to another over the load's duration.", node{
				"from": oneRate(),
				"to":   oneRate(),
			}, "from", "to")},
		},
		"fault":  fault(),
		"expect": expect(),
	}
	for k, v := range faultDefs() {
		defs[k] = v
	}
	return defs
}

func tlsProps(props node) node {
	props["ca"] = str("The CA certificate file. Default: the system's roots.")
	props["cert"] = str("The client certificate file for mTLS, with key.")
	props["key"] = str("The client key file for mTLS, with cert.")
	return props
}

func backend() node {
	return object("A backend and, for otlp, the export settings the OTEL_EXPORTER_OTLP_* variables would give.", node{
		"type":        enum("The backend. Default embedded.", topology.BackendTypes),
		"endpoint":    str("The OTLP endpoint: host:port, or an http:// or https:// URL (otlp)."),
		"protocol":    enum("The OTLP protocol (otlp). Default grpc.", []otlpconf.Protocol{otlpconf.GRPC, otlpconf.HTTPProtobuf}),
		"tls":         ref("tls"),
		"headers":     ref("headers"),
		"compression": enum("The export's compression (otlp).", topology.Compressions),
		"timeout":     duration("The timeout of each export (otlp)."),
		"config":      str("The collector's YAML config file, relative to the scenario (collector)."),
		"max-traces":  integer("The most traces the backend keeps."),
		"query": object("Where tracerig reads the spans back (otlp).", node{
			"type": enum("The query API.", topology.QueryTypes),
			"url":  str("The query API's http(s) URL, without credentials."),
			"tls": object("TLS of the query API; files relative to the scenario.", tlsProps(node{
				"insecure-skip-verify": boolean("Accept any server certificate."),
			})),
			"headers": ref("headers"),
			"basic-auth": object("Basic authentication, each field literal text with ${VARIABLE} references.", node{
				"username": text("The user name."),
				"password": text("The password: must hold a ${VARIABLE} reference."),
			}),
		}),
	})
}

func load() node {
	n := object("Traffic on one entry route, or on a weighted mix sharing one rate.", node{
		"route": str("The entry route: \"SERVICE ROUTE\", like \"frontend GET /checkout\"."),
		"routes": node{
			"type":                 "object",
			"description":          "A weighted mix: \"SERVICE ROUTE\" to weight.",
			"propertyNames":        node{"pattern": `^\s*\S+ .*\S`},
			"additionalProperties": number("The route's weight."),
			"minProperties":        1,
		},
		"rate":     ref("rate"),
		"duration": duration("How long the load runs."),
		"requests": integer("How many requests the load sends."),
		"workers":  integer("The initial number of workers."),
	}, "rate")
	n["oneOf"] = []node{{"required": []string{"route"}}, {"required": []string{"routes"}}}
	return n
}

func expect() node {
	return node{
		"type":                 "object",
		"description":          "One check: a mapping with one key, the check.",
		"minProperties":        1,
		"maxProperties":        1,
		"additionalProperties": false,
		"properties": node{
			string(topology.ExpectPropagation): orNull(object("Every hop continued its caller's trace.", node{
				"connected":    boolean("Every trace one tree. Default true."),
				"broken":       listOf("Edges expected broken, like \"cart -> inventory\".", str("An edge.")),
				"during-fault": integer("The fault (from 1, in file order) in whose windows the breaks are expected."),
			})),
			string(topology.ExpectCompleteness): orNull(object("Every span the ledger saw end found in the backend exactly once.", node{
				"min":    number("The least share of spans found. Default 1."),
				"within": duration("The bound on the p99 delay until queryable."),
			})),
			string(topology.ExpectDetect): object("A planted fault's effect visible within its windows only.", node{
				"fault": integer("The fault to detect, from 1 in file order."),
			}, "fault"),
			string(topology.ExpectSampling): orNull(object("Head sampling as configured.", node{
				"service":     str("The service whose root decisions are counted."),
				"ratio":       number("The expected ratio. Default: the service's sampler ratio."),
				"confidence":  number("The interval's confidence. Default 0.99."),
				"method":      enum("The interval: wilson (Wilson score) or exact (Clopper-Pearson).", topology.SamplingMethods),
				"min-samples": integer("The fewest decisions the check needs. Default 30."),
				"consistent":  boolean("Parent-based decisions hold along every trace."),
				"probability": boolean("Consistent probability sampling honoured."),
			})),
			string(topology.ExpectTailSampling): orNull(object("What the collector's tail sampling kept.", node{
				"keep-errors":      boolean("Every error trace kept whole."),
				"keep-slower-than": duration("Every trace slower than this kept whole."),
				"probabilistic":    number("The share of the rest kept."),
				"confidence":       number("The interval's confidence. Default 0.99."),
			})),
			string(topology.ExpectSpans): orNull(object("An expression over the spans selected.", node{
				"where":        str("An expr expression selecting spans."),
				"during":       node{"type": "array", "description": "[from, to): spans starting in this window of the load's timeline.", "items": duration("A time into the load."), "minItems": 2, "maxItems": 2},
				"assert":       str("An expr expression the selected spans must satisfy. Default true."),
				"count":        node{"type": "string", "description": "For how many: all (default), none, >= N, <= N, == N, or a share like >= 0.9.", "pattern": `^\s*(all|none|(>=|<=|==)\s*[0-9.]+)?\s*$`},
				"min-selected": integer("The fewest spans where must select. Default 1."),
			})),
			string(topology.ExpectLoad): orNull(object("The rate each load achieved.", node{
				"min": number("The least share of the rate asked. Default 0.97."),
			})),
			string(topology.ExpectMessaging): orNull(object("The asynchronous edges: messages processed, consumer spans linked, the lag.", node{
				"edge":      str("One asynchronous edge, like \"checkout -> billing\"; default every one."),
				"delivered": number("The least share of each group's messages processed. Default 1."),
				"lag": object("Bounds on the time from publish to processing, per edge.", node{
					"p50": duration("The bound on the median lag."),
					"p99": duration("The bound on the 99th percentile lag."),
				}),
			})),
		},
	}
}
