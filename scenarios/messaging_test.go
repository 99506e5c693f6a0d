package scenarios

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracerig/tracerig/simulator/broker"
	"github.com/tracerig/tracerig/topology"
)

// yourBrokers is a scenario whose brokers are the user's own: a Kafka-
// protocol broker that takes SCRAM and a NATS server that takes a user and
// password, both given by address, the passwords by ${VARIABLE}.
const yourBrokers = `
name: your-brokers
topology:
  name: your-brokers
  brokers:
    kafka:
      kind: kafka
      addresses: [%s]
      auth: {mechanism: scram-sha-256, username: app, password: "${TEST_KAFKA_PASSWORD}"}
      topics:
        orders:
    nats:
      addresses: [%s]
      auth: {username: app, password: "${TEST_NATS_PASSWORD}"}
      topics:
        audit:
  services:
    shop:
      routes:
        POST /order:
          calls:
            - publish: {topic: orders}
            - publish: {topic: audit}
    billing:
      routes:
        process orders:
          consume: {topic: orders, batch: 5, max-wait: 20ms}
    auditor:
      routes:
        record:
          consume: {topic: audit, mode: parent}
load:
  - route: shop POST /order
    rate: 40/s
    duration: 2s
expect:
  - propagation: {connected: true}
  - completeness: {min: 1}
  - messaging: {}
`

// TestYourBrokers runs a topology through brokers it does not run, with
// credentials from the environment: the run passes, and no report file
// holds a password; a wrong one fails the start without printing it.
func TestYourBrokers(t *testing.T) {
	const kafkaPass, natsPass = "kafka-s3cret-pass", "nats-s3cret-pass"
	k, err := broker.StartKafka(t.Context(), broker.WithServerUser("scram-sha-256", "app", kafkaPass))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	n, err := broker.StartNATS(t.Context(), broker.WithServerUser("plain", "app", natsPass))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	src := fmt.Sprintf(yourBrokers, k.Seeds()[0], strings.TrimPrefix(n.URL(), "nats://"))
	sc, err := topology.ParseScenario("your-brokers.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}

	t.Setenv("TEST_KAFKA_PASSWORD", kafkaPass)
	t.Setenv("TEST_NATS_PASSWORD", natsPass)
	out := t.TempDir()
	rep, err := Run(t.Context(), sc, Options{OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	passAll(t, rep)
	files, _ := filepath.Glob(filepath.Join(out, "*"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), kafkaPass) || strings.Contains(string(data), natsPass) {
			t.Errorf("%s holds a password", filepath.Base(f))
		}
	}

	t.Setenv("TEST_KAFKA_PASSWORD", "wrong-"+kafkaPass)
	if _, err := Run(t.Context(), sc, Options{OutDir: t.TempDir()}); err == nil {
		t.Error("a wrong password started the run")
	} else if strings.Contains(err.Error(), kafkaPass) {
		t.Errorf("the error holds the password: %v", err)
	} else {
		t.Logf("wrong password: %v", err)
	}
}
