package overlay_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/myconet/myconet/overlay"
)

func TestParseRule(t *testing.T) {
	tests := []struct {
		in   string
		want overlay.Rule
		out  string // String(); empty means in
		err  string // substring of the error
	}{
		{in: "allow tcp 22 from fd6d:7963::/32", want: overlay.Rule{Action: overlay.Allow, Proto: overlay.ProtoTCP, Port: 22, From: netip.MustParsePrefix("fd6d:7963::/32")}},
		{in: "deny udp 53", want: overlay.Rule{Action: overlay.Deny, Proto: overlay.ProtoUDP, Port: 53}},
		{in: "ALLOW  TCP\t443  FROM fd6d:7963:1:2::5", want: overlay.Rule{Action: overlay.Allow, Proto: overlay.ProtoTCP, Port: 443, From: netip.MustParsePrefix("fd6d:7963:1:2::5/128")}, out: "allow tcp 443 from fd6d:7963:1:2::5"},
		{in: "allow udp 65535 from fd6d:7963::1/32", want: overlay.Rule{Action: overlay.Allow, Proto: overlay.ProtoUDP, Port: 65535, From: netip.MustParsePrefix("fd6d:7963::/32")}, out: "allow udp 65535 from fd6d:7963::/32"},
		{in: "allow tcp 8080 from ::/0", want: overlay.Rule{Action: overlay.Allow, Proto: overlay.ProtoTCP, Port: 8080, From: netip.MustParsePrefix("::/0")}},
		{in: "permit tcp 22", err: "action"},
		{in: "allow icmp 22", err: "protocol"},
		{in: "allow tcp 0", err: "port"},
		{in: "allow tcp 65536", err: "port"},
		{in: "allow tcp +22", err: "port"},
		{in: "allow tcp ssh", err: "port"},
		{in: "allow tcp 22 to fd6d::1", err: "from"},
		{in: "allow tcp 22 from 10.0.0.1", err: "IPv6"},
		{in: "allow tcp 22 from ::ffff:10.0.0.1", err: "IPv6"},
		{in: "allow tcp 22 from fe80::1%eth0", err: "zone"},
		{in: "allow tcp 22 from fd6d::/129", err: "source"},
		{in: "allow tcp", err: "want"},
		{in: "allow tcp 22 from", err: "want"},
		{in: "", err: "want"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := overlay.ParseRule(tt.in)
			if tt.err != "" {
				if err == nil || !errors.Is(err, overlay.ErrBadRule) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r != tt.want {
				t.Fatalf("got %+v, want %+v", r, tt.want)
			}
			out := tt.out
			if out == "" {
				out = tt.in
			}
			if r.String() != out {
				t.Fatalf("String() = %q, want %q", r.String(), out)
			}
		})
	}
}

func TestParseRules(t *testing.T) {
	rules, err := overlay.ParseRules("# ssh for friends\nallow tcp 22 from fd6d:7963::/32\n\ndeny udp 53\n")
	if err != nil || len(rules) != 2 {
		t.Fatalf("%v %v", rules, err)
	}
	if _, err := overlay.ParseRules("allow tcp 22\nallow tcp x\n"); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err = %v", err)
	}
}

func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"allow tcp 22 from fd6d:7963::/32", "deny udp 53", "allow udp 1 from ::1", "ALLOW Tcp 0080 from FD6D::1/64"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := overlay.ParseRule(s)
		if err != nil {
			return
		}
		r2, err := overlay.ParseRule(r.String())
		if err != nil {
			t.Fatalf("%q → %q does not parse: %v", s, r.String(), err)
		}
		if r2 != r || r2.String() != r.String() {
			t.Fatalf("%q: round trip %+v → %q → %+v", s, r, r.String(), r2)
		}
	})
}
