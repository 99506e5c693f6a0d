package main

import (
	"reflect"
	"testing"
)

func TestServeParsePeers(t *testing.T) {
	got, err := parsePeers("web=web-0:8080,web-1:8080; stock=stock-0:8080;")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"web": {"web-0:8080", "web-1:8080"}, "stock": {"stock-0:8080"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"web", "=a:1", "web=nohostport"} {
		if _, err := parsePeers(bad); err == nil {
			t.Errorf("parsePeers(%q) succeeded", bad)
		}
	}
}
