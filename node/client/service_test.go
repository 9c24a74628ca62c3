package client

import "testing"

func TestLoopbackFor(t *testing.T) {
	for in, want := range map[string]string{
		"0.0.0.0:5190":   "127.0.0.1:5190",
		"[::]:5190":      "[::1]:5190",
		"127.0.0.1:5190": "127.0.0.1:5190",
		"localhost:5190": "localhost:5190",
		"garbage":        "garbage",
	} {
		if got := loopbackFor(in); got != want {
			t.Errorf("loopbackFor(%q) = %q, want %q", in, got, want)
		}
	}
}
