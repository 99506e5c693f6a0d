package report

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/internal/durfmt"
)

// WriteHTML writes the report as one self-contained HTML page: no scripts,
// no style sheets, fonts or images fetched from anywhere; the topology and
// the plots are inline SVG.
func (r *Report) WriteHTML(w io.Writer) error {
	page, err := r.htmlPage()
	if err != nil {
		return err
	}
	if err := htmlTemplate.Execute(w, page); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}

// WriteHTMLFile writes the HTML report to path, creating its folder.
func (r *Report) WriteHTMLFile(path string) error { return writeFile(path, r.WriteHTML) }

// htmlPage is what the template renders.
type htmlPage struct {
	R        *Report
	Result   string // PASS, FAIL or INTERRUPTED
	Started  string
	Counts   map[string]int
	Verdicts []htmlVerdict
	Faults   []htmlFault
	Topology template.HTML
	Plots    []htmlPlot
	Notes    []string // why a plot is absent
}

type htmlVerdict struct {
	assert.Verdict
	Name string
}

type htmlFault struct {
	Label, Window, Kind, Target string
}

type htmlPlot struct {
	Title  string
	Legend []legendItem
	SVG    template.HTML
}

func (r *Report) htmlPage() (*htmlPage, error) {
	p := &htmlPage{R: r, Result: r.result(), Counts: map[string]int{}}
	if !r.StartedAt.IsZero() {
		p.Started = r.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	for _, v := range r.Verdicts {
		p.Counts[string(v.Status)]++
		p.Verdicts = append(p.Verdicts, htmlVerdict{Verdict: v, Name: strings.TrimSpace(v.Check + " " + v.Subject)})
	}
	for _, f := range r.Faults {
		target := f.Service
		if f.From != "" || f.To != "" {
			target = f.From + " -> " + f.To
		} else if target != "" && f.Instance >= 0 {
			target = fmt.Sprintf("%s instance %d", target, f.Instance)
		}
		if target == "" {
			target = "export pipeline"
		}
		p.Faults = append(p.Faults, htmlFault{Label: faultLabel(f), Window: r.Window(f), Kind: f.Kind, Target: target})
	}
	if in := r.evidence().Input; in.Topology != nil {
		p.Topology = template.HTML(topologySVG(in.Topology, in.Hops, r.Verdicts))
	} else {
		p.Notes = append(p.Notes, "no topology graph: the report holds no topology")
	}
	plots, notes, err := r.plots()
	if err != nil {
		return nil, err
	}
	p.Plots, p.Notes = plots, append(p.Notes, notes...)
	return p, nil
}

// faultBands returns the fault windows in seconds since the load began.
func (r *Report) faultBands() []band {
	t0 := r.StartedAt.UnixNano()
	out := make([]band, 0, len(r.Faults))
	for _, f := range r.Faults {
		out = append(out, band{
			from:  float64(f.Start-t0) / 1e9,
			to:    float64(f.End-t0) / 1e9,
			label: faultLabel(f),
		})
	}
	return out
}

var htmlFuncs = template.FuncMap{
	"upper":   strings.ToUpper,
	"countOf": countOf,
	"dur":     func(d time.Duration) string { return durfmt.Human(d).String() },
	"pct":     func(f float64) string { return fmt.Sprintf("%.2f%%", 100*f) },
	"rate": func(f float64) string {
		if f <= 0 {
			return "max"
		}
		return fmt.Sprintf("%.1f/s", f)
	},
	"f1": func(f float64) string { return fmt.Sprintf("%.1f", f) },
}

var htmlTemplate = template.Must(template.New("report").Funcs(htmlFuncs).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tracerig {{.R.Scenario}}: {{.Result}}</title>
<style>
body{font:14px/1.45 "Liberation Sans",Arial,Helvetica,sans-serif;color:#1d2330;background:#f6f7f9;margin:0;padding:24px 32px;max-width:1300px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:18px;margin:28px 0 10px;border-bottom:1px solid #d5d9e0;padding-bottom:4px}
.meta{color:#4a5263;margin:2px 0}
.badge{display:inline-block;padding:2px 10px;border-radius:4px;font-weight:bold;color:#fff;vertical-align:middle;font-size:15px}
.PASS,.pass{background:#2e8540}.FAIL,.fail{background:#c62828}.INTERRUPTED{background:#b26a00}.not-run{background:#78808c}.warn{background:#b26a00}
table{border-collapse:collapse;width:100%;background:#fff;margin:6px 0}
th,td{border:1px solid #d5d9e0;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#eef0f4;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.status{color:#fff;font-weight:bold;text-align:center;white-space:nowrap}
ul.findings{margin:4px 0 0;padding-left:18px}
ul.findings li{margin:3px 0}
.fault{color:#8a4b00}.unexplained{color:#c62828;font-weight:600}
.ex{font-family:"Liberation Mono",Menlo,Consolas,monospace;font-size:12px;color:#4a5263;word-break:break-all}
.small{font-size:12px;color:#4a5263}
.card{background:#fff;border:1px solid #d5d9e0;border-radius:4px;padding:10px;margin:10px 0}
.card h3{font-size:15px;margin:0 0 6px}
svg{max-width:100%;height:auto}
svg.plot{width:100%;height:auto;display:block}
.legend{font-size:12px;color:#4a5263;margin:0 0 4px}
.legend span{margin-right:16px;white-space:nowrap}
.sw{display:inline-block;width:22px;height:0;margin:0 6px 3px 0;vertical-align:middle;border-top:2.5px solid var(--c)}
.sw.dashed{border-top-style:dashed}
.sw.box{height:11px;width:14px;border:1px solid rgba(0,0,0,.15);background:var(--c)}
.sw.dot{width:9px;height:9px;border:0;border-radius:50%;background:var(--c)}
details.ex summary{cursor:pointer;font-family:"Liberation Sans",Arial,Helvetica,sans-serif;color:#3b5b8c}
td.st{text-align:center;white-space:nowrap;width:1%}
.badge.sm{font-size:12px;padding:1px 8px}
.errors li{color:#c62828}
</style>
</head>
<body>
<header>
<h1>tracerig: {{.R.Scenario}} <span class="badge {{.Result}}">{{.Result}}</span></h1>
<p class="meta">topology <b>{{.R.Topology}}</b> · seed <b>{{.R.Seed}}</b>{{if .R.RunID}} · run <b>{{.R.RunID}}</b>{{end}}{{if and .R.TimeScale (ne .R.TimeScale 1.0)}} · time scale <b>{{.R.TimeScale}}</b>{{end}}{{if .R.File}} · file {{.R.File}}{{end}} · runtime {{.R.Runtime}}</p>
<p class="meta">started {{.Started}} · duration {{dur .R.Duration}} · backend {{.R.Backend.Type}} {{.R.Backend.Endpoint}}{{with .R.Backend.Export}} (export {{.}}){{end}}{{if .R.Backend.ReadBack}} ({{if .R.Settled}}settled in {{dur .R.SettleTime}}{{else}}not settled after {{dur .R.SettleTime}}{{end}}){{else}} (no read-back: {{.R.Backend.Reason}}){{end}}</p>
<p class="meta">checks: {{index .Counts "pass"}} passed, {{index .Counts "fail"}} failed, {{if index .Counts "warn"}}{{index .Counts "warn"}} warned, {{end}}{{index .Counts "not-run"}} not run{{if .R.Interrupted}} · <b>interrupted</b>: the run was stopped early; the checks ran on what had arrived{{end}}</p>
<p class="meta">ledger: {{.R.TracesStarted}} traces started, {{.R.TracesSampled}} sampled; {{.R.Ledger.SpansEnded}} spans ended, {{.R.Ledger.SpansExported}} exported, {{.R.Ledger.ExportFailed}} export failures; {{.R.Ledger.Hops}} hops · backend: {{.R.BackendSpans}} spans read back</p>
</header>
{{if .R.Errors}}<h2>Errors</h2><ul class="errors">{{range .R.Errors}}<li>{{.}}</li>{{end}}</ul>{{end}}

<h2>Verdicts</h2>
<table>
<tr><th>status</th><th>check</th><th>expected</th><th>observed</th><th>findings</th></tr>
{{range .Verdicts}}<tr>
<td class="st"><span class="badge sm {{.Status}}">{{upper (print .Status)}}</span></td>
<td><b>{{.Name}}</b><div class="small">{{.Measured}}</div></td>
<td>{{.Expected}}</td>
<td>{{if eq (print .Status) "not-run"}}not run: {{.Reason}}{{else}}{{.Observed}}{{end}}</td>
<td>{{if .Findings}}<ul class="findings">{{range .Findings}}<li><b>{{.Subject}}</b>: {{.Message}} ({{countOf .}}){{if .Fault}}<br><span class="{{if eq .Fault "unexplained"}}unexplained{{else}}fault{{end}}">{{.Fault}}</span>{{end}}{{if .Examples}}<details class="ex"><summary>{{len .Examples}} example{{if gt (len .Examples) 1}}s{{end}}</summary>{{range .Examples}}<div>{{.}}</div>{{end}}</details>{{end}}</li>{{end}}</ul>{{else}}<span class="small">none</span>{{end}}</td>
</tr>{{end}}
</table>

{{if .Faults}}<h2>Faults</h2>
<table><tr><th>fault</th><th>kind</th><th>target</th><th>window (since load start)</th></tr>
{{range .Faults}}<tr><td>{{.Label}}</td><td>{{.Kind}}</td><td>{{.Target}}</td><td>{{.Window}}</td></tr>{{end}}
</table>{{end}}

<h2>Load</h2>
<table><tr><th>target</th><th>requests</th><th>requested</th><th>achieved</th><th>success</th><th>p50</th><th>p99</th><th>max</th><th>status codes</th></tr>
{{range .R.Load}}<tr><td>{{.Target}}</td><td class="num">{{.Requests}}</td><td class="num">{{rate .RequestedRate}}</td><td class="num">{{f1 .AchievedRate}}/s</td><td class="num">{{pct .Success}}</td><td class="num">{{dur .LatencyP50}}</td><td class="num">{{dur .LatencyP99}}</td><td class="num">{{dur .LatencyMax}}</td><td>{{range $c, $n := .StatusCodes}}{{$c}}: {{$n}} {{end}}</td></tr>{{end}}
</table>

{{if .R.Export.Failures}}<h2>Export failures</h2>
<table><tr><th>service</th><th>reason</th><th>spans</th><th>first message</th></tr>
{{range .R.Export.Failures}}{{$svc := .Service}}{{range .Reasons}}<tr><td>{{$svc}}</td><td>{{.Reason}}</td><td class="num">{{.Spans}}</td><td class="ex">{{.FirstMessage}}</td></tr>{{end}}{{end}}
</table>

{{end}}{{if .Topology}}<h2>Topology</h2>
<div class="card">{{.Topology}}</div>{{end}}

{{range .Plots}}<div class="card"><h3>{{.Title}}</h3>
<div class="legend">{{range .Legend}}<span><i class="sw {{.Shape}}" style="--c:{{.Colour}}"></i>{{.Label}}</span>{{end}}</div>
{{.SVG}}</div>
{{end}}
{{if .Notes}}<ul class="small">{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
<p class="small">report.json schema version {{.R.Version}} · written by tracerig{{with .R.TracerigVersion}} {{.}}{{end}}</p>
</body>
</html>
`))
