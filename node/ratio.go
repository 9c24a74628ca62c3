package node

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Ratio is a share between 0 and 1 in the config file. It reads a number
// (0.75) or a fraction ("2/3", as a string), and writes a fraction back as
// one, so that 2/3 stays "2/3" and not 0.6666666666666666 (which a rounded
// 0.6667 could not replace: 2 remove votes of 3 would no longer reach it).
type Ratio float64

// parseRatio reads "0.75", "2/3" or " 2 / 3 ".
func parseRatio(s string) (Ratio, error) {
	s = strings.TrimSpace(s)
	if a, b, ok := strings.Cut(s, "/"); ok {
		x, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
		y, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
		if err1 != nil || err2 != nil || y == 0 {
			return 0, fmt.Errorf("want a number or a fraction such as 2/3, got %q", s)
		}
		return Ratio(x / y), nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("want a number or a fraction such as 2/3, got %q", s)
	}
	return Ratio(x), nil
}

// UnmarshalTOML implements toml.Unmarshaler: a float, an integer or a
// string holding a number or a fraction.
func (r *Ratio) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case float64:
		*r = Ratio(v)
	case int64:
		*r = Ratio(v)
	case string:
		x, err := parseRatio(v)
		if err != nil {
			return err
		}
		*r = x
	default:
		return fmt.Errorf("want a number or a fraction such as \"2/3\", got %T", v)
	}
	return nil
}

// fraction returns p/q when r is exactly (in float64) a fraction with a
// small denominator whose decimal form is long; ok is false otherwise.
func (r Ratio) fraction() (p, q int, ok bool) {
	x := float64(r)
	if len(strconv.FormatFloat(x, 'g', -1, 64)) <= 8 {
		return 0, 0, false
	}
	for q := 2; q <= 12; q++ {
		p := math.Round(x * float64(q))
		if p/float64(q) == x && p >= 0 && p <= float64(q) {
			return int(p), q, true
		}
	}
	return 0, 0, false
}

// String is the ratio as `config get` prints it: "2/3" or "0.75".
func (r Ratio) String() string {
	if p, q, ok := r.fraction(); ok {
		return fmt.Sprintf("%d/%d", p, q)
	}
	return strconv.FormatFloat(float64(r), 'g', -1, 64)
}

// tomlText is the ratio as a TOML value: a quoted fraction or a float.
func (r Ratio) tomlText() string {
	if _, _, ok := r.fraction(); ok {
		return strconv.Quote(r.String())
	}
	s := strconv.FormatFloat(float64(r), 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") { // a TOML float needs a point
		s += ".0"
	}
	return s
}
