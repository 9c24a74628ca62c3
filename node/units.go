package node

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

// ParseSize parses a human size: "500MB", "20GB", "1.5GiB", "4096", "unlimited".
// "", "0" and "unlimited" return 0 (no limit).
func ParseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "" || t == "unlimited" || t == "none" {
		return 0, nil
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
		return 0, codedf(CodeInvalid, "invalid size %q (want e.g. 500MB, 20GB, unlimited)", s)
	}
	return int64(f * mult), nil
}

// ParseRate parses a bandwidth: "10MB/s", "10MB", "unlimited"; bytes per second.
func ParseRate(s string) (int64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(strings.TrimSuffix(t, "/s"), "ps")
	n, err := ParseSize(t)
	if err != nil {
		return 0, codedf(CodeInvalid, "invalid rate %q (want e.g. 10MB/s, unlimited)", s)
	}
	return n, nil
}

// FormatSize renders n bytes for people: "1.5 GB", "512 B". 0 limits render as
// "unlimited" through FormatLimit.
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

// FormatLimit renders a limit where 0 means none.
func FormatLimit(n int64) string {
	if n == 0 {
		return "unlimited"
	}
	return FormatSize(n)
}
