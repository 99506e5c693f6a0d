package topology

import (
	"encoding/json"
	"testing"
)

func TestErrorJSON(t *testing.T) {
	for _, tt := range []struct {
		e    *Error
		want string
	}{
		{&Error{Pos: Pos{File: "s.yaml", Line: 3, Col: 7}, Path: "load[0].rate", Msg: "bad rate"},
			`{"file":"s.yaml","line":3,"column":7,"path":"load[0].rate","message":"bad rate"}`},
		{&Error{Pos: Pos{File: "x.yaml"}, Msg: "cannot read: no such file"}, `{"file":"x.yaml","message":"cannot read: no such file"}`},
	} {
		got, err := json.Marshal(tt.e)
		if err != nil || string(got) != tt.want {
			t.Errorf("json.Marshal = %s, %v; want %s", got, err, tt.want)
		}
	}
}
