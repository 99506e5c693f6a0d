package assert

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/tracerig/tracerig/topology"
)

// Status is the outcome of one check.
type Status string

// Statuses.
const (
	StatusPass   Status = "pass"
	StatusFail   Status = "fail"
	StatusNotRun Status = "not-run"
	// StatusWarn is a problem the scenario does not make a failure: a load
	// that fell short of its rate without `expect: load`.
	StatusWarn Status = "warn"
)

// Verdict is the result of one check, as it goes into report.json.
type Verdict struct {
	Check string `json:"check"` // "propagation", "completeness", "detect"
	// Subject names what the check is about when it is not the whole run:
	// the fault a detect check looks for.
	Subject  string    `json:"subject,omitempty"`
	Status   Status    `json:"status"` // pass, fail or not-run
	Measured string    `json:"measured"`
	Expected string    `json:"expected"`
	Observed string    `json:"observed"`
	Reason   string    `json:"reason,omitempty"` // why the check did not run
	Findings []Finding `json:"findings,omitempty"`
	// Stats are the check's numbers, for reports and tests.
	Stats map[string]float64 `json:"stats,omitempty"`
}

// FindingStatus says whether a finding fails its check.
type FindingStatus string

// Finding statuses.
const (
	// FindingFailing is a finding the check fails for: a break where the
	// scenario requires none, an effect of a fault outside its windows, a
	// loss past the allowed share.
	FindingFailing FindingStatus = "failing"
	// FindingInfo is evidence that does not fail the check: a break on an
	// edge the scenario plants it on, a discovered external edge, a
	// fault's effect inside its windows, a baseline, anything reported
	// under a check that passed.
	FindingInfo FindingStatus = "info"
)

// Finding is one kind of problem on one subject (an edge, a service), with
// how often it happened and a few examples as evidence. Subject and
// Message are for people; Status and the target fields are for programs:
// an edge sets From and To, a service Service, one of its instances
// Instance too (named as its service.instance.id, "cart-0", in every
// check), and a finding a planted fault explains names it by FaultNumber
// (1-based, in the scenario's faults) or LiveFault (the ID of a fault
// added through the control API).
type Finding struct {
	Subject  string        `json:"subject"` // "legacy-proxy -> inventory", "payment"
	Status   FindingStatus `json:"status"`
	Service  string        `json:"service,omitempty"`
	Instance string        `json:"instance,omitempty"`
	Route    string        `json:"route,omitempty"`
	From     string        `json:"from,omitempty"`
	To       string        `json:"to,omitempty"`
	// FaultNumber and LiveFault name the fault Fault explains the finding
	// by; both zero when none does.
	FaultNumber int      `json:"fault_number,omitempty"`
	LiveFault   int      `json:"live_fault,omitempty"`
	Message     string   `json:"message"`
	Count       int      `json:"count"`
	Of          int      `json:"of,omitempty"` // out of how many hops, spans or traces
	Examples    []string `json:"examples,omitempty"`
	// Fault says which planted fault explains the finding: "explained by
	// fault #3 (strip-headers cart -> inventory, 30s–45s)", or "unexplained"
	// when faults were planted and none explains it; empty when the run had
	// no faults (and on evidence that is not an effect, such as a detect
	// check's baseline).
	Fault string `json:"fault,omitempty"`
}

// maxExamples bounds Finding.Examples.
const maxExamples = 5

// findingKey identifies one Finding while findings are collected: the same
// problem explained by different faults (or by none) is separate findings.
type findingKey struct {
	subject, message string
	fault            attribution
}

// findings collects Findings, one per (subject, message, attribution).
type findings struct {
	byKey  map[findingKey]*Finding
	faults *faultSet // names attributions; nil without faults
	status FindingStatus
	// expand, when set, renders a message for the list: a message that
	// names the fault windows holds windowsMark, since an open window's
	// end is known only when the findings are listed.
	expand func(string) string
}

// windowsMark stands, in a finding's message, for the detected fault's
// windows as they are when the findings are listed (see findings.expand).
const windowsMark = "\x00windows"

// newFindings returns a collector of findings that fail their check (when
// it fails: see annotate).
func newFindings(faults *faultSet) *findings {
	return &findings{byKey: make(map[findingKey]*Finding), faults: faults, status: FindingFailing}
}

// newInfo returns a collector of findings that never fail their check.
func newInfo(faults *faultSet) *findings {
	f := newFindings(faults)
	f.status = FindingInfo
	return f
}

// add counts one occurrence of message on subject, attributed to a;
// example is called only while the finding still wants examples.
func (fs *findings) add(subject, message string, a attribution, example func() string) *Finding {
	k := findingKey{subject, message, a}
	f := fs.byKey[k]
	if f == nil {
		f = &Finding{Subject: subject, Message: message, Status: fs.status}
		fs.byKey[k] = f
	}
	f.Count++
	if example != nil && len(f.Examples) < maxExamples {
		f.Examples = append(f.Examples, example())
	}
	return f
}

// total returns the sum of the counts.
func (fs *findings) total() int {
	n := 0
	for _, f := range fs.byKey {
		n += f.Count
	}
	return n
}

// subjects returns how many distinct subjects have findings.
func (fs *findings) subjects() int {
	seen := make(map[string]bool, len(fs.byKey))
	for k := range fs.byKey {
		seen[k.subject] = true
	}
	return len(seen)
}

// list returns the findings, largest count first, then by subject and
// message, so reports are stable. Attributions are named, and messages
// expanded, as the fault windows stand now; findings that then read the
// same are one.
func (fs *findings) list() []Finding {
	out := make([]Finding, 0, len(fs.byKey))
	type same struct {
		subject, message, fault string
		status                  FindingStatus
		number, live, of        int
	}
	at := make(map[same]int, len(fs.byKey))
	for k, f := range fs.byKey {
		r := *f
		r.Fault = fs.faults.label(k.fault)
		r.FaultNumber, r.LiveFault = fs.faults.faultOf(k.fault)
		if fs.expand != nil {
			r.Message = fs.expand(r.Message)
		}
		id := same{r.Subject, r.Message, r.Fault, r.Status, r.FaultNumber, r.LiveFault, r.Of}
		if i, ok := at[id]; ok {
			o := &out[i]
			o.Count += r.Count
			o.Examples = append(slices.Clip(o.Examples), r.Examples[:min(len(r.Examples), maxExamples-len(o.Examples))]...)
			continue
		}
		at[id] = len(out)
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count),
			cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.Message, b.Message), cmp.Compare(a.Fault, b.Fault))
	})
	return out
}

// merge appends the findings of several collectors, in order, each sorted.
func merge(sets ...*findings) []Finding {
	var out []Finding
	for _, s := range sets {
		out = append(out, s.list()...)
	}
	return out
}

// annotate finishes v's findings for programs: a finding under a check that
// did not fail is informational, and each finding's subject is split into
// the service, instance, route or edge it names, as top knows them.
func annotate(v *Verdict, top *topology.Topology) {
	for i := range v.Findings {
		f := &v.Findings[i]
		if v.Status != StatusFail || f.Status == "" {
			f.Status = FindingInfo
		}
		f.Service, f.Instance, f.Route, f.From, f.To = subjectFields(f.Subject, top)
	}
}

// subjectFields splits a finding's subject: "a -> b" (an edge), "svc-2"
// (an instance of svc), "svc GET /x" or "svc-0 GET /x" (a route, of one
// instance), or a service. Without a topology an ambiguous subject is
// taken as a service name.
func subjectFields(subject string, top *topology.Topology) (svc, inst, route, from, to string) {
	if a, b, ok := strings.Cut(subject, " -> "); ok {
		return "", "", "", a, b
	}
	name, route, _ := strings.Cut(subject, " ")
	if top == nil || top.Service(name) != nil {
		return name, "", route, "", ""
	}
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if n, err := strconv.Atoi(name[i+1:]); err == nil && n >= 0 && top.Service(name[:i]) != nil {
			return name[:i], name, route, "", ""
		}
	}
	return name, "", route, "", ""
}
