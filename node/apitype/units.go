package apitype

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1e3}, {"m", 1e6}, {"g", 1e9}, {"t", 1e12},
	{"b", 1},
}

// Quota values. Every limit is written the same way in the CLI, the config
// file and the API: a size or rate limits, the word "unlimited" (or an unset
// value) lifts the limit, and 0 means zero, never "no limit". Where zero
// would stop the node (disk, memory, upload, download) it is refused; for
// quota.replicas it means "take no replicas". "none" is refused everywhere as
// ambiguous. quota.connections and quota.cpu are counts, "auto" (0 in the
// file) choosing for you.

// Unlimited is the value of a limit that does not limit, as ParseLimit and
// the API (QuotaInfo) give it.
const Unlimited int64 = -1

// ParseLimit parses a size limit that may be zero: "500MB", "20GB",
// "1.5GiB", "4096", "0", or "unlimited" (and "") for Unlimited.
func ParseLimit(s string) (int64, error) {
	if err := refuseNone(s, "0 for a limit of zero or unlimited for no limit"); err != nil {
		return 0, err
	}
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "" || t == "unlimited" {
		return Unlimited, nil
	}
	mult := 1.0
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			mult = u.mult
			t = strings.TrimSpace(strings.TrimSuffix(t, u.suffix))
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) || f*mult > math.MaxInt64/2 {
		return 0, Errorf(CodeInvalid, "invalid size %q (want e.g. 500MB, 20GB, unlimited)", s)
	}
	return int64(f * mult), nil
}

// refuseNone refuses "none", which users mean as "no limit" as often as
// "nothing".
func refuseNone(s, want string) error {
	if strings.EqualFold(strings.TrimSpace(s), "none") {
		return Errorf(CodeInvalid, "%q is ambiguous: write %s", s, want)
	}
	return nil
}

// ParseSize parses a size limit that cannot be zero (quota.disk,
// quota.memory): as ParseLimit, but 0 means no limit in what it returns
// (the store's and the runtime's convention) and a size of zero bytes is
// refused.
func ParseSize(s string) (int64, error) {
	if err := refuseNone(s, "a size (500MB) or unlimited for no limit"); err != nil {
		return 0, err
	}
	n, err := ParseLimit(s)
	switch {
	case err != nil:
		return 0, err
	case n == Unlimited:
		return 0, nil
	case n == 0:
		return 0, Errorf(CodeInvalid, "a limit of %q would stop the node: write a size (500MB) or unlimited", s)
	}
	return n, nil
}

// ParseRate parses a bandwidth: "10MB/s", "10MB", "unlimited"; bytes per
// second, 0 meaning no limit in what it returns. A rate of zero is refused.
func ParseRate(s string) (int64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(strings.TrimSuffix(t, "/s"), "ps")
	if err := refuseNone(t, "a rate (10MB/s) or unlimited for no limit"); err != nil {
		return 0, err
	}
	n, err := ParseLimit(t)
	switch {
	case err != nil:
		return 0, Errorf(CodeInvalid, "invalid rate %q (want e.g. 10MB/s, unlimited)", s)
	case n == Unlimited:
		return 0, nil
	case n == 0:
		return 0, Errorf(CodeInvalid, "a rate of %q would stop every transfer: write a rate (10MB/s) or unlimited", s)
	}
	return n, nil
}

// FormatSize renders n bytes for people: "1.5 GB", "512 B". Limits render
// through FormatLimit.
func FormatSize(n int64) string {
	if n < 1000 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"kB", "MB", "GB", "TB", "PB"}
	f := float64(n)
	i := -1
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}

// FormatLimit renders a limit as the API gives it (Unlimited, or bytes).
func FormatLimit(n int64) string {
	if n < 0 {
		return "unlimited"
	}
	return FormatSize(n)
}
