package overlay

import (
	"encoding/hex"
	"testing"
)

func TestAddressFromKey(t *testing.T) {
	tests := []struct {
		name string
		key  string // hex
		want string
	}{
		// SHA-256("") = e3b0c442 98fc1c14 9afbf4c8 996fb924 ...
		{"empty", "", "fd6d:7963:e3b0:c442:98fc:1c14:9afb:f4c8"},
		// SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 ...
		{"abc", hex.EncodeToString([]byte("abc")), "fd6d:7963:ba78:16bf:8f01:cfea:4141:40de"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, _ := hex.DecodeString(tt.key)
			got := AddressFromKey(k)
			if got.String() != tt.want {
				t.Fatalf("AddressFromKey = %s, want %s", got, tt.want)
			}
			if !Prefix.Contains(got) {
				t.Fatalf("%s not in %s", got, Prefix)
			}
			if !KeyMatches(got, k) || KeyMatches(got, append(k, 0)) {
				t.Fatal("KeyMatches disagrees with AddressFromKey")
			}
		})
	}
}
