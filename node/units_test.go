package node

import (
	"errors"
	"strings"
	"testing"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"500MB", 500e6, false},
		{"20GB", 20e9, false},
		{"1GiB", 1 << 30, false},
		{"1.5 kb", 1500, false},
		{"4096", 4096, false},
		{"unlimited", 0, false},
		{"", 0, false},
		{"0", 0, true},
		{"none", 0, true},
		{"-1GB", 0, true},
		{"lots", 0, true},
		{"1e400", 0, true},
		{"NaN", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := apitype.ParseSize(tt.in)
			if (err != nil) != tt.err {
				t.Fatalf("ParseSize(%q) err = %v", tt.in, err)
			}
			if err != nil && !errors.Is(err, apitype.ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			if got != tt.want {
				t.Fatalf("ParseSize(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
	if r, err := apitype.ParseRate("10MB/s"); err != nil || r != 10e6 {
		t.Fatalf("ParseRate = %d, %v", r, err)
	}
}

// TestQuotaZeroAndUnlimited pins down issue 10 item 6: "unlimited" is the
// one spelling of no limit, 0 is zero (refused where zero would stop the
// node), "none" is refused as ambiguous: in the parsers, the config keys and
// `quota set` alike.
func TestQuotaZeroAndUnlimited(t *testing.T) {
	for _, tt := range []struct {
		in      string
		limit   int64 // ParseLimit (quota.replicas)
		size    int64 // ParseSize (quota.disk, quota.memory); -2 = refused
		rate    int64 // ParseRate (quota.upload, quota.download); -2 = refused
		limitOK bool
	}{
		{"unlimited", apitype.Unlimited, 0, 0, true},
		{"UNLIMITED", apitype.Unlimited, 0, 0, true},
		{"", apitype.Unlimited, 0, 0, true},
		{"0", 0, -2, -2, true},
		{"0B", 0, -2, -2, true},
		{"0.0001KB", 0, -2, -2, true}, // rounds to zero bytes: not "no limit"
		{"none", 0, -2, -2, false},
		{" None ", 0, -2, -2, false},
		{"2GB", 2e9, 2e9, 2e9, true},
	} {
		t.Run(tt.in, func(t *testing.T) {
			l, err := apitype.ParseLimit(tt.in)
			if (err == nil) != tt.limitOK || (err == nil && l != tt.limit) {
				t.Errorf("ParseLimit(%q) = %d, %v", tt.in, l, err)
			}
			if err != nil && !strings.Contains(err.Error(), "ambiguous") {
				t.Errorf("ParseLimit(%q): %v does not say why", tt.in, err)
			}
			for _, f := range []struct {
				name  string
				parse func(string) (int64, error)
				want  int64
			}{{"ParseSize", apitype.ParseSize, tt.size}, {"ParseRate", apitype.ParseRate, tt.rate}} {
				got, err := f.parse(tt.in)
				if f.want == -2 {
					if err == nil || !errors.Is(err, apitype.ErrInvalid) {
						t.Errorf("%s(%q) = %d, %v; want refused", f.name, tt.in, got, err)
					}
				} else if err != nil || got != f.want {
					t.Errorf("%s(%q) = %d, %v; want %d", f.name, tt.in, got, err, f.want)
				}
			}
		})
	}
}

func TestQuotaConfigKeys(t *testing.T) {
	set := func(key, v string) (config.FileConfig, error) {
		c := config.DefaultConfig()
		if err := c.SetKey(key, v); err != nil {
			return c, err
		}
		return c, c.Validate()
	}
	for _, tt := range []struct {
		key, value string
		ok         bool
	}{
		{"quota.replicas", "0", true},
		{"quota.replicas", "unlimited", true},
		{"quota.replicas", "none", false},
		{"quota.disk", "0", false},
		{"quota.disk", "none", false},
		{"quota.disk", "unlimited", true},
		{"quota.memory", "0", false},
		{"quota.upload", "0", false},
		{"quota.download", "0/s", false},
		{"quota.download", "unlimited", true},
		{"quota.connections", "auto", true},
		{"quota.connections", "unlimited", false}, // automatic is not unlimited
		{"quota.cpu", "auto", true},
		{"quota.cpu", "none", false},
		{"overlay.mtu", "auto", false},
	} {
		_, err := set(tt.key, tt.value)
		if (err == nil) != tt.ok {
			t.Errorf("set %s %q: %v", tt.key, tt.value, err)
		}
	}
	if c, _ := set("quota.connections", "auto"); c.Quota.Connections != 0 {
		t.Errorf("connections auto = %d", c.Quota.Connections)
	}
	// The defaults spell out "unlimited".
	d := config.DefaultConfig().Quota
	if d.Upload != "unlimited" || d.Download != "unlimited" || d.Memory != "unlimited" {
		t.Errorf("default quotas %+v", d)
	}
}

func TestQuotaAPIZeroReplicas(t *testing.T) {
	n := testNode(t)
	ctx := t.Context()
	q, err := n.SetQuota(ctx, "replicas", "0")
	if err != nil || q.Replicas != 0 {
		t.Fatalf("quota set replicas 0: %+v %v", q, err)
	}
	if got, _ := n.ConfigGet(ctx, "quota.replicas"); got != "0" {
		t.Fatalf("config get quota.replicas = %q", got)
	}
	if n.replicaQuota() != 0 {
		t.Fatalf("replicaQuota = %d, want 0", n.replicaQuota())
	}
	if _, err := n.SetQuota(ctx, "replicas", "none"); !errors.Is(err, apitype.ErrInvalid) {
		t.Fatalf("quota set replicas none: %v", err)
	}
	if q, _ := n.Quota(ctx); q.Replicas != 0 {
		t.Fatalf("a refused set changed the quota: %d", q.Replicas)
	}
	q, err = n.SetQuota(ctx, "replicas", "unlimited")
	if err != nil || q.Replicas != apitype.Unlimited || q.Upload != apitype.Unlimited || q.Memory != apitype.Unlimited {
		t.Fatalf("quota set replicas unlimited: %+v %v", q, err)
	}
}
