package schema

import "github.com/tracerig/tracerig/topology"

// topologyNode is the root of a topology file.
func topologyNode() node {
	return object("A graph of services, each with its routes and the calls each route makes.", node{
		"name": text("The topology's name."),
		"limits": object("Limits on what the topology may ask of a run.", node{
			"max-spans-per-request": integer("The most spans one request may produce; a route expecting more is an error. Default 10000."),
		}),
		"services": mapOf("The services, by name: lowercase letters, digits, '-', '_' and '.', starting with a letter or digit.", ref("service")),
		"brokers":  mapOf("The message brokers asynchronous edges go through, by name.", ref("broker")),
	}, "name")
}

// topologyDefs returns the definitions a topology refers to.
func topologyDefs() node {
	return node{
		"service": service(),
		"sampler": node{
			"description": "The service's head sampler, a name or {type, ratio}. Default parentbased_always_on.",
			"anyOf": []node{
				enum("A sampler that takes no ratio.", topology.SamplerTypes),
				object("A sampler and its ratio.", node{
					"type":  enum("The sampler, named as in OTEL_TRACES_SAMPLER.", topology.SamplerTypes),
					"ratio": number("The share of traces sampled, for the traceidratio samplers and consistent_probability."),
				}),
			},
		},
		"route": orNull(object("A route the service serves: its own latency, its errors and the calls it makes. An external service's routes are names only.", node{
			"latency": refDesc("latency", "The route's own work, before its calls."),
			"errors": object("How often the route fails, and how.", node{
				"rate":   number("The share of requests that fail, between 0 and 1."),
				"status": integer("The HTTP status of a failure (http services)."),
				"code":   grpcCode("The gRPC code of a failure (grpc services), a name like UNAVAILABLE or a number."),
			}),
			"calls": refDesc("steps", "The calls, run in order; each item is a call, a message published, a parallel group or a sequence."),
			"consume": object("Makes the route a consumer of a topic: each batch of messages runs it once, under one consumer span.", node{
				"topic":          str("The topic consumed."),
				"group":          str("The consumer group; each instance is a member. Default the service's name."),
				"batch":          integer("The most messages per run, each linked from the consumer span. Default 1."),
				"max-wait":       duration("How long a fetch waits to fill a batch. Default 50ms."),
				"mode":           enum("link: the consumer starts a trace of its own, linked to each message's; parent: it continues the producer's trace (batch 1 only). Default link.", topology.ConsumeModes),
				"max-deliveries": integer("Deliveries of a message, the first included, before it goes to dead-letter. Default 5."),
				"dead-letter":    str("The topic a message goes to after max-deliveries failed deliveries; without it, it is dropped."),
			}, "topic"),
		})),
		"broker": orNull(object("A message broker: embedded (the NATS server with JetStream, or an in-memory Kafka-protocol broker) unless addresses name yours.", node{
			"kind":      enum("The broker's protocol. Default nats.", topology.BrokerKinds),
			"addresses": listOf("Your running broker: Kafka seed brokers as host:port, or NATS URLs. Without them tracerig runs one.", str("An address.")),
			"auth": object("The client's credentials: SASL for Kafka, user and password for NATS.", node{
				"mechanism": enum("The SASL mechanism (kafka); plain for nats.", topology.SASLMechanisms),
				"username":  str("The user: literal text or ${VARIABLE} references."),
				"password":  str("The password: a ${VARIABLE} reference, expanded when the run starts."),
			}, "username", "password"),
			"tls": orNull(object("Connect with TLS; files relative to the topology's folder.", node{
				"ca":                   str("The CA that signed the broker's certificate; default the system's roots."),
				"cert":                 str("The client's certificate, for mutual TLS."),
				"key":                  str("The client's private key."),
				"insecure-skip-verify": boolean("Accept any broker certificate."),
			})),
			"topics": mapOf("The broker's topics, by name.", orNull(object("A topic.", node{
				"partitions": integer("Kafka partitions. Default as many as the most instances of a consuming service."),
			}))),
		})),
		"latency": node{
			"description": "A latency: a constant duration, or a distribution whose dist is inferred from its fields when left out.",
			"anyOf": []node{
				duration("A constant latency."),
				object("A latency distribution.", node{
					"dist":   enum("The distribution: constant {value}, uniform {min, max}, normal {mean, stddev}, lognormal {p50, p99} or pareto {min, alpha}.", topology.Dists),
					"value":  duration("The constant latency."),
					"min":    duration("The least latency (uniform, pareto)."),
					"max":    duration("The greatest latency (uniform)."),
					"mean":   duration("The mean (normal, clamped at zero)."),
					"stddev": duration("The standard deviation (normal)."),
					"p50":    duration("The median (lognormal)."),
					"p99":    duration("The 99th percentile (lognormal)."),
					"alpha":  number("The tail index (pareto): min / U^(1/alpha)."),
				}),
			},
		},
		"steps": listOf("Steps run in order.", ref("step")),
		"step": node{
			"description": "A call, a message published, a parallel group or a sequence.",
			"oneOf": []node{
				object("Steps run at once.", node{"parallel": ref("steps")}, "parallel"),
				object("Steps run in order.", node{"sequence": ref("steps")}, "sequence"),
				object("Publishes one message: a producer span, the trace context in the message's headers.", node{
					"publish": object("The message.", node{"topic": str("The topic published to.")}, "topic"),
				}, "publish"),
				call(),
			},
		},
	}
}

func service() node {
	return orNull(object("A simulated service; with external a running service of yours; with image or command a service of yours that tracerig starts.", node{
		"protocol":        enum("How the service is called. Default http.", topology.Protocols),
		"external":        str("The URL of a running service tracerig does not start: http, loopback only; ${VAR} references are expanded when the run starts."),
		"port":            integer("A fixed loopback port (one instance only)."),
		"instances":       integer("How many instances run. Default 1."),
		"version":         text("The resource's service.version. Default 1.0.0."),
		"instrumented":    boolean("Whether the service emits spans. Default true."),
		"forward-headers": boolean("With instrumented false, whether trace headers are passed on. Default true."),
		"propagators":     listOf("The context formats the service injects and extracts. Default [tracecontext, baggage].", enum("A propagation format.", topology.Propagators)),
		"sampler":         ref("sampler"),
		"routes":          mapOf("The routes, by name: \"METHOD /path\" for http, \"package.Service/Method\" for grpc.", ref("route")),
		"image":           str("A container image of yours that tracerig starts for the run (a local tag, or one the engine can pull)."),
		"command":         listOf("With an image, its command; without, a program of yours tracerig starts for the run, with its arguments. {port} is replaced by the port it serves on.", str("An argument.")),
		"env":             mapOf("Variables added to the started service's environment; values may hold ${VAR} references and {port}.", str("The value.")),
		"ports": object("The port the started service serves on, by protocol: inside the container for an image; for a command, a fixed loopback port (left out: a free one).", node{
			"http": integer("The http port."),
			"grpc": integer("The grpc port."),
		}),
		"wait": object("How tracerig knows the started service is ready: one of http, port and log. Default: its port accepts connections.", node{
			"http":    str("A path that answers 2xx or 3xx."),
			"port":    integer("A port that accepts connections."),
			"log":     str("A text that appears in its output."),
			"timeout": duration("How long to wait. Default 60s."),
		}),
		"calls-env": mapOf("Per callee, a variable of the started service's environment that receives its address.", str("The variable's name.")),
		"calls": listOf("The calls a service of yours (external, image or command) is expected to make: edges out of it.", object("An expected call.", node{
			"service": str("The service called."),
			"route":   str("The route called."),
		}, "service", "route")),
	}))
}

// call is a call step: one key, the service called, whose value is the
// route, beside the call's options.
func call() node {
	n := object("A call: {SERVICE: ROUTE} with its options.", node{
		"timeout": duration("The timeout of each attempt."),
		"retries": integer("Extra attempts after a failure, each its own hop and client span."),
		"backoff": duration("The wait before the first retry, doubled each time. Default 10ms."),
	})
	n["additionalProperties"] = str("The route called on the service this key names, like GET /cart.")
	n["minProperties"] = 1
	return n
}
