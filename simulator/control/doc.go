// Package control is the control protocol of a running simulator: the HTTP
// API that lists, plants and clears its faults and, on an instance that
// `tracerig serve` runs in a container, reports its health, hands over its
// ledger (whole, or piece by piece as it grows) and stops it; the Go client of that API; and the command line of
// `tracerig serve`, which the host of a container run writes and the
// container parses (ServeConfig).
//
// A Server made by NewServer is the live fault API of `tracerig run
// --control`; one made by NewInstanceServer is the control port of a
// `tracerig serve` instance and serves every route:
//
//	GET    /healthz      200 "ok" once the instance serves (instance only)
//	GET    /ledger       the instance's ledger so far, as simulator.Ledger.Export
//	                     writes it (instance only)
//	POST   /ledger/take  the records written since the last take, which leave
//	                     the ledger, as simulator.Ledger.ExportTaken writes
//	                     them: merged one after another through one
//	                     simulator.Merger they add up to the ledger, each
//	                     record once (instance only)
//	POST   /shutdown     stop serving and flush spans; the ledger stays
//	                     readable; 204 (instance only)
//	GET    /faults       200 State: {"active": [FaultInfo...], "windows": [record.Fault...]}
//	POST   /faults       one fault as in a scenario's faults list (YAML or JSON):
//	                     201 {"id": N}; 400 listing every problem; 409 when the
//	                     running topology cannot apply it. On an instance, with
//	                     header X-Tracerig-Fault: struct, a JSON topology.Fault
//	                     the host forwards, and ?number=N, the fault's index
//	                     among the scenario's faults
//	DELETE /faults       clear every active fault; 204
//	DELETE /faults/{id}  clear one active fault; 204; 404 when it is not active
//
// Every error answer is {"error": "message"}. A fault added live (the YAML
// form) starts when it is added: its `at` is ignored, `every` and `count`
// are refused, and its `for`, when set, ends it. A forwarded fault lasts
// until the host clears it. Both enter the ledger like planned ones.
package control
