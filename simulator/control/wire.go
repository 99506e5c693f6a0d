package control

import (
	"encoding/json"
	"net/http"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/simulator"
)

// HealthPath is the path of the instance's health check, which answers 200
// once the instance serves: what a container's start waits for.
const HealthPath = "/healthz"

// The other paths of the API, and the header and query parameter of a
// fault forwarded by the host of a container run.
const (
	ledgerPath   = "/ledger"
	takePath     = "/ledger/take"
	shutdownPath = "/shutdown"
	peersPath    = "/peers"
	faultsPath   = "/faults"

	// takeHeader names the batch a take answers with ("NONCE.SEQ"), and
	// ackParam the batch the host has merged: a take answers the batch it
	// answered last again until the next take acknowledges it.
	takeHeader = "X-Tracerig-Take"
	ackParam   = "ack"

	faultHeader = "X-Tracerig-Fault"
	faultStruct = "struct" // the header's value: the body is a JSON topology.Fault
	numberParam = "number"
)

// State is the body of GET /faults: the active faults, oldest first, then
// every fault window so far (windows still open end at the answer).
type State struct {
	Active  []simulator.FaultInfo `json:"active"`
	Windows []record.Fault        `json:"windows"`
}

// errorBody is the body of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

// writeJSON answers status with v as JSON, HTML characters as they are.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// writeError answers status with err in the error shape.
func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, errorBody{Error: err.Error()})
}

// PeersAnswer is GET /peers' answer: how many instances the instance calls,
// and the error of each it could not connect to, by service.instance.id.
type PeersAnswer struct {
	Peers       int               `json:"peers"`
	Unreachable map[string]string `json:"unreachable,omitempty"`
}
