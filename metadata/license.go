package metadata

import (
	"errors"
	"fmt"
	"strings"
)

// checkLicense checks the syntax of an SPDX license expression (SPDX 2.3
// annex D): license ids ("MIT", "GPL-2.0-or-later", "Apache-2.0+"),
// "LicenseRef-…" and "DocumentRef-…:LicenseRef-…" references, combined with
// the upper-case operators AND, OR and WITH and parentheses, tokens
// separated by single spaces. Ids are not checked against the SPDX list.
func checkLicense(s string) error {
	if len(s) > MaxLicense {
		return fmt.Errorf("longer than %d bytes (%d)", MaxLicense, len(s))
	}
	if strings.TrimSpace(s) != s || strings.Contains(s, "  ") {
		return fmt.Errorf("%q: tokens must be separated by single spaces", s)
	}
	var toks []string
	for f := range strings.SplitSeq(s, " ") {
		for f != "" {
			i := strings.IndexAny(f, "()")
			switch {
			case i < 0:
				toks, f = append(toks, f), ""
			case i == 0:
				toks, f = append(toks, f[:1]), f[1:]
			default:
				toks, f = append(toks, f[:i]), f[i:]
			}
		}
	}
	p := licenseParser{toks: toks}
	if err := p.expr(0); err != nil {
		return fmt.Errorf("%q is not an SPDX license expression: %v", s, err)
	}
	if p.pos < len(toks) {
		return fmt.Errorf("%q is not an SPDX license expression: unexpected %q", s, toks[p.pos])
	}
	return nil
}

type licenseParser struct {
	toks []string
	pos  int
}

func (p *licenseParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

// expr := term { ("AND" | "OR") term }
func (p *licenseParser) expr(depth int) error {
	if depth > 32 {
		return errors.New("parentheses nested too deep")
	}
	for {
		if err := p.term(depth); err != nil {
			return err
		}
		op := p.peek()
		if op != "AND" && op != "OR" {
			if u := strings.ToUpper(op); u == "AND" || u == "OR" || u == "WITH" {
				return fmt.Errorf("operator %q must be upper case", op)
			}
			return nil
		}
		p.pos++
	}
}

// term := "(" expr ")" | license [ "WITH" exception ]
func (p *licenseParser) term(depth int) error {
	t := p.peek()
	switch t {
	case "":
		return errors.New("unexpected end")
	case "(":
		p.pos++
		if err := p.expr(depth + 1); err != nil {
			return err
		}
		if p.peek() != ")" {
			return errors.New("missing ')'")
		}
		p.pos++
		return nil
	}
	if err := licenseRef(t); err != nil {
		return err
	}
	p.pos++
	if p.peek() == "WITH" {
		p.pos++
		e := p.peek()
		if e == "" {
			return errors.New("missing exception after WITH")
		}
		if !idString(e) || isOperator(e) {
			return fmt.Errorf("bad exception id %q", e)
		}
		p.pos++
	}
	return nil
}

// licenseRef checks a license id, optionally with "+", or a reference.
func licenseRef(t string) error {
	if isOperator(t) || t == ")" {
		return fmt.Errorf("unexpected %q", t)
	}
	switch strings.ToUpper(t) {
	case "AND", "OR", "WITH":
		return fmt.Errorf("operator %q must be upper case", t)
	}
	if doc, ref, ok := strings.Cut(t, ":"); ok {
		if !strings.HasPrefix(doc, "DocumentRef-") || !idString(doc[len("DocumentRef-"):]) ||
			!strings.HasPrefix(ref, "LicenseRef-") || !idString(ref[len("LicenseRef-"):]) {
			return fmt.Errorf("bad license reference %q", t)
		}
		return nil
	}
	if strings.HasPrefix(t, "LicenseRef-") {
		if !idString(t[len("LicenseRef-"):]) {
			return fmt.Errorf("bad license reference %q", t)
		}
		return nil
	}
	if !idString(strings.TrimSuffix(t, "+")) {
		return fmt.Errorf("bad license id %q", t)
	}
	return nil
}

func isOperator(t string) bool { return t == "AND" || t == "OR" || t == "WITH" }

// idString reports whether s is a non-empty run of [A-Za-z0-9.-].
func idString(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}
