// Program otelcol-tracerig is an OpenTelemetry Collector distribution for tracerig's collector
// backend: the OTLP receiver and exporter, the batch processor, the debug exporter, the contrib
// file exporter (whose JSON lines tracerig reads as a span source), the contrib tail-sampling and probabilistic-sampler processors and the contrib bearer-token authenticator
// (bearertokenauth), all of one collector release (core v0.161.0 /
// v1.67.0, contrib v0.161.0). Build it with tools/collector/build.sh; it lands in bin/ at the
// module root, where tracerig looks for it.
//
// It is written like the collector builder's generated main (cmd/builder): otelcol.NewCommand with a
// factories function.
package main

import (
	"fmt"
	"os"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/debugexporter"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/bearertokenauthextension"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/probabilisticsamplerprocessor"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/tailsamplingprocessor"
)

// The stable core modules (component, confmap, pdata, ...) are at v1.67.0, as contrib v0.161.0 requires.
const (
	coreRelease    = "v0.161.0"
	contribRelease = "v0.161.0"
)

func main() {
	info := component.BuildInfo{
		Command:     "otelcol-tracerig",
		Description: "OpenTelemetry Collector for tracerig (OTLP, batch, debug, file, tail_sampling, probabilistic_sampler, bearertokenauth)",
		Version:     "0.161.0-tracerig",
	}
	set := otelcol.CollectorSettings{
		BuildInfo: info,
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				ProviderFactories: []confmap.ProviderFactory{
					envprovider.NewFactory(),
					fileprovider.NewFactory(),
					yamlprovider.NewFactory(),
				},
			},
		},
	}
	if err := otelcol.NewCommand(set).Execute(); err != nil {
		fmt.Fprintf(os.Stderr, "otelcol-tracerig: %v\n", err)
		os.Exit(1)
	}
}

func components() (otelcol.Factories, error) {
	var err error
	// The collector's own telemetry (its logs; tracerig turns its metrics off).
	f := otelcol.Factories{Telemetry: otelconftelemetry.NewFactory()}

	if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](
		otlpreceiver.NewFactory(),
	); err != nil {
		return otelcol.Factories{}, err
	}
	f.ReceiverModules = map[component.Type]string{
		otlpreceiver.NewFactory().Type(): "go.opentelemetry.io/collector/receiver/otlpreceiver " + coreRelease,
	}

	if f.Processors, err = otelcol.MakeFactoryMap[processor.Factory](
		batchprocessor.NewFactory(),
		tailsamplingprocessor.NewFactory(),
		probabilisticsamplerprocessor.NewFactory(),
	); err != nil {
		return otelcol.Factories{}, err
	}
	f.ProcessorModules = map[component.Type]string{
		batchprocessor.NewFactory().Type():                "go.opentelemetry.io/collector/processor/batchprocessor " + coreRelease,
		tailsamplingprocessor.NewFactory().Type():         "github.com/open-telemetry/opentelemetry-collector-contrib/processor/tailsamplingprocessor " + contribRelease,
		probabilisticsamplerprocessor.NewFactory().Type(): "github.com/open-telemetry/opentelemetry-collector-contrib/processor/probabilisticsamplerprocessor " + contribRelease,
	}

	if f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](
		otlpexporter.NewFactory(),
		debugexporter.NewFactory(),
		fileexporter.NewFactory(),
	); err != nil {
		return otelcol.Factories{}, err
	}
	f.ExporterModules = map[component.Type]string{
		otlpexporter.NewFactory().Type():  "go.opentelemetry.io/collector/exporter/otlpexporter " + coreRelease,
		debugexporter.NewFactory().Type(): "go.opentelemetry.io/collector/exporter/debugexporter " + coreRelease,
		fileexporter.NewFactory().Type():  "github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter " + contribRelease,
	}

	// bearertokenauth guards a receiver with a bearer token (the authenticated-ingest tests).
	if f.Extensions, err = otelcol.MakeFactoryMap[extension.Factory](
		bearertokenauthextension.NewFactory(),
	); err != nil {
		return otelcol.Factories{}, err
	}
	f.ExtensionModules = map[component.Type]string{
		bearertokenauthextension.NewFactory().Type(): "github.com/open-telemetry/opentelemetry-collector-contrib/extension/bearertokenauthextension " + contribRelease,
	}
	return f, nil
}
