package topology

import "strings"

// grpcCodeNames are the gRPC status code names, indexed by code, in upper
// snake case (CANCELED as google.golang.org/grpc/codes spells it).
var grpcCodeNames = [...]string{
	"OK", "CANCELED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
	"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
	"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
	"INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
}

// GRPCCodeByName returns the gRPC status code with the given name. Case and
// underscores are ignored, so UNAVAILABLE, Unavailable and DeadlineExceeded
// all work; CANCELLED is accepted for CANCELED.
func GRPCCodeByName(name string) (uint32, bool) {
	key := squash(name)
	if key == "CANCELLED" {
		key = "CANCELED"
	}
	for code, n := range grpcCodeNames {
		if squash(n) == key {
			return uint32(code), true
		}
	}
	return 0, false
}

// GRPCCodeName returns the upper snake case name of a gRPC status code, or
// "" when code is unknown.
func GRPCCodeName(code uint32) string {
	if int(code) < len(grpcCodeNames) {
		return grpcCodeNames[code]
	}
	return ""
}

func squash(s string) string {
	return strings.ToUpper(strings.ReplaceAll(s, "_", ""))
}
