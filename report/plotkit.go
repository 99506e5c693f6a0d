package report

// This file holds the plotting parts the report's figures share: fault
// bands, markers, fonts, ticks and SVG output.

import (
	"bytes"
	"html/template"
	"image/color"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// band is a fault window on a time axis, in seconds since load start.
type band struct {
	from, to float64
	label    string
}

// faultBands shades the fault windows across a plot's full height, each
// labelled at its top.
type faultBands struct{ bands []band }

func (f *faultBands) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	sty := sansStyle(9)
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YTop
	for i, b := range f.bands {
		x0 := max(trX(b.from), c.Min.X)
		x1 := min(trX(b.to), c.Max.X)
		if x1 <= x0 {
			x1 = x0 + vg.Points(1)
		}
		fill := bandFills[i%len(bandFills)]
		c.FillPolygon(fill, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
		edge := fill
		edge.A = 0xa0
		ls := draw.LineStyle{Color: edge, Width: vg.Points(0.8)}
		c.StrokeLine2(ls, x0, c.Min.Y, x0, c.Max.Y)
		c.StrokeLine2(ls, x1, c.Min.Y, x1, c.Max.Y)
		sty.Color = color.NRGBA{0x5a, 0x3a, 0x00, 0xff}
		c.FillText(sty, vg.Point{X: x0 + vg.Points(3), Y: c.Max.Y - vg.Points(2) - vg.Length(i%3)*vg.Points(11)}, b.label)
	}
}

// marker is a labelled vertical line at x.
type marker struct {
	x     float64
	label string
}

// markers draws labelled vertical lines (percentiles) over a plot.
type markers struct{ lines []marker }

func (m *markers) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	sty := sansStyle(9)
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YTop
	ls := draw.LineStyle{Color: color.NRGBA{0x1d, 0x23, 0x30, 0xff}, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(3), vg.Points(2)}}
	for i, l := range m.lines {
		x := trX(l.x)
		if x < c.Min.X || x > c.Max.X {
			continue
		}
		c.StrokeLine2(ls, x, c.Min.Y, x, c.Max.Y)
		st, at := sty, x+vg.Points(3)
		// Near the right edge, label the line on its left. The browser may
		// draw a wider fallback font than the one measured: allow 25%.
		if x+sty.Width(l.label)*1.25+vg.Points(6) > c.Max.X {
			st.XAlign, at = draw.XRight, x-vg.Points(3)
		}
		c.FillText(st, vg.Point{X: at, Y: c.Max.Y - vg.Points(2) - vg.Length(i)*vg.Points(11)}, l.label)
	}
}

// sansFont is the plots' typeface: Liberation Sans, metrically Arial, so
// the browser lays out the text as the plot measured it.
func sansFont(size float64) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: font.Length(size)}
}

func sansStyle(size float64) text.Style {
	return text.Style{Font: sansFont(size), Handler: plot.DefaultTextHandler, Color: color.Black}
}

// newPlot returns a plot in the report's style: sans fonts and a light
// grid; the legend is the page's.
func newPlot() *plot.Plot {
	p := plot.New()
	for _, s := range []*text.Style{&p.Title.TextStyle, &p.X.Label.TextStyle, &p.Y.Label.TextStyle, &p.X.Tick.Label, &p.Y.Tick.Label, &p.Legend.TextStyle} {
		s.Font.Variant = "Sans"
	}
	p.X.Label.TextStyle.Font.Size, p.Y.Label.TextStyle.Font.Size = 11, 11
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.NRGBA{0xe4, 0xe7, 0xec, 0xff}
	grid.Horizontal.Color = grid.Vertical.Color
	p.Add(grid)
	return p
}

var (
	svgProlog   = regexp.MustCompile(`(?s)^<\?xml[^>]*\?>\s*(<!--.*?-->\s*)?`)
	svgXMLNS    = regexp.MustCompile(`\s+xmlns(:xlink)?="[^"]*"`)
	svgFontName = regexp.MustCompile(`font-family:Liberation (Sans|Serif|Mono)`)
)

// plotSVG renders p as inline SVG: no XML prolog, no namespace URLs (HTML
// puts <svg> in its namespace), fonts named with metric-compatible
// fallbacks instead of embedded.
func plotSVG(p *plot.Plot, w, h vg.Length) (template.HTML, error) {
	c := vgsvg.New(w, h)
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", err
	}
	s := svgProlog.ReplaceAllString(buf.String(), "")
	s = svgXMLNS.ReplaceAllString(s, "")
	s = svgFontName.ReplaceAllStringFunc(s, func(m string) string {
		switch {
		case strings.HasSuffix(m, "Sans"):
			return `font-family:'Liberation Sans',Arial,Helvetica,sans-serif`
		case strings.HasSuffix(m, "Mono"):
			return `font-family:'Liberation Mono','Courier New',monospace`
		}
		return `font-family:'Liberation Serif','Times New Roman',serif`
	})
	s = strings.Replace(s, "<svg ", `<svg class="plot" `, 1)
	return template.HTML(s), nil
}

// niceTicks puts major ticks at round steps (1, 2, 2.5 or 5 times a power
// of ten), about eight of them, labelled without trailing zeros; integer
// keeps the step whole, for counts.
type niceTicks struct{ integer bool }

func (n niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if hi <= lo {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 4, 64)}}
	}
	raw := (hi - lo) / 8
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	if n.integer {
		step = max(1, math.Round(step))
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
		if mid := v + step/2; mid < hi {
			ticks = append(ticks, plot.Tick{Value: mid})
		}
	}
	for i := range ticks {
		if ticks[i].Label != "" && strings.Contains(ticks[i].Label, ".") {
			// Round away float noise: 0.30000000000000004.
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'f', decimals(step), 64)
		}
	}
	return ticks
}

// decimals is how many decimals a tick step needs.
func decimals(step float64) int {
	for d := 0; d < 6; d++ {
		if math.Abs(step*math.Pow(10, float64(d))-math.Round(step*math.Pow(10, float64(d)))) < 1e-9 {
			return d
		}
	}
	return 6
}
