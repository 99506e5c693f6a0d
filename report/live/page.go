package live

import (
	"bytes"
	_ "embed"
	"fmt"
	"html"
	"html/template"
)

var (
	//go:embed page.html
	pageHTML string
	//go:embed page.css
	pageCSS string
	//go:embed page.js
	pageJS string
	//go:embed faults.js
	faultsJS string
	//go:embed reveal.js
	revealJS string
)

// pageData is what page.html is executed with.
type pageData struct {
	Title string
	Demo  bool
	Stop  bool
	SVG   template.HTML // drawn by package report, from the topology
	CSS   template.CSS
	JS    template.JS
}

// renderPage renders the page of cfg, every script and style inline.
func renderPage(cfg Config) ([]byte, error) {
	t, err := template.New("page").Parse(pageHTML)
	if err != nil {
		return nil, fmt.Errorf("parse the live page: %w", err)
	}
	var b bytes.Buffer
	err = t.Execute(&b, pageData{
		Title: cfg.Title, Demo: cfg.Demo, Stop: cfg.Stop != nil,
		SVG: template.HTML(cfg.SVG), CSS: template.CSS(pageCSS), JS: template.JS(faultsJS + "\n" + revealJS + "\n" + pageJS),
	})
	if err != nil {
		return nil, fmt.Errorf("render the live page: %w", err)
	}
	return b.Bytes(), nil
}

func htmlEscape(s string) string { return html.EscapeString(s) }
