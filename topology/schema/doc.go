// Package schema builds the JSON Schemas (draft 2020-12) of tracerig's
// topology and scenario files, for editors and for tools that check a file
// before tracerig reads it.
//
// The schemas describe what package topology decodes: every key each
// mapping takes, the type of its value, and the values a named setting
// allows. They are built from the model rather than written beside it:
// the allowed values (protocols, propagators, samplers, distributions,
// runtimes, backends, fault kinds, corruption modes, trace headers, checks,
// gRPC codes) are topology's exported lists, the same ones validation
// accepts and names in its messages, and the grammars of durations and
// rates follow the parsers. The shape of each mapping is a declarative
// table in this package, and its tests hold the decoder to it: every key
// the decoder takes is a property of the schema and every property a key
// the decoder takes; every fault kind's and check's properties, given
// together, decode without an unknown field; a key added to any mapping of
// a valid file is refused by the schema exactly where the decoder refuses
// it; every library scenario and valid test file validates, and the
// invalid test files whose fault is one of shape, type or allowed value
// are refused.
//
// A schema checks the form of a file, not its meaning: references between
// services, routes and faults, value ranges and the rules that tie one
// setting to another are validation's (tracerig validate), and the decoder
// accepts a little more than the documented forms the schema states (a
// quoted number where a number is due, a gRPC code in any case).
//
// The files kept in the repository's schema folder are these schemas as
// Topology and Scenario return them; go generate rewrites them.
package schema

//go:generate go test -run TestCommittedFiles -update .
