// Package mri parses and formats Myconet Resource Identifiers.
//
// An MRI names either an immutable package, by its CID,
//
//	myco://<package-cid>[/path/inside/the/package][?query][#fragment]
//
// or the newest package of a publisher's channel (the mutable form):
//
//	myco://<publisher-peer-id>/<channel-name>[/path][?query][#fragment]
//
// For convenience on the command line Parse also accepts a bare
// "<cid>[/path]" and the gateway style "/myco/<cid>[/path]".
//
// Parsing is strict: a malformed MRI is an error that says what is wrong,
// and the path of a parsed MRI never climbs above the package root. The
// package is pure: no I/O and no network; it does not resolve anything.
package mri

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// MaxLength is the maximum length in bytes of an MRI string, both of the
// input to Parse and of the canonical form that String returns.
const MaxLength = 4096

// Scheme is the URI scheme of MRIs.
const Scheme = "myco"

// maxInlineKeyLength is the longest public key that libp2p inlines into a
// peer ID with the identity multihash.
const maxInlineKeyLength = 42

// maxAuthority bounds the CID or peer ID text of an MRI; real ones are
// well under 100 bytes.
const maxAuthority = 512

// MRI is a parsed Myconet Resource Identifier. The zero value is not a
// valid MRI. MRIs are comparable with ==; two MRIs that are equal have the
// same canonical String.
type MRI struct {
	Root      cid.Cid // package CID (immutable form), always CIDv1; cid.Undef for the mutable form
	Publisher string  // publisher peer ID text (mutable form only), as given
	Channel   string  // channel name (mutable form only)
	Path      string  // cleaned path inside the package, no leading or trailing slash, "" = root; percent-decoded
	Query     string  // raw query without '?'
	Fragment  string  // raw fragment without '#'
}

// Parse parses an MRI in any of the accepted forms (see the package doc).
// A CIDv0 root is converted to its CIDv1 (dag-pb) equivalent. The path is
// percent-decoded and cleaned: empty and "." segments are dropped and ".."
// segments are resolved; a ".." that would climb above the root is an
// error wrapping ErrPathEscapes.
func Parse(s string) (MRI, error) {
	if s == "" {
		return MRI{}, errorf("", ErrEmpty, "")
	}
	if len(s) > MaxLength {
		return MRI{}, errorf("", ErrTooLong, "")
	}

	rest, err := stripScheme(s)
	if err != nil {
		return MRI{}, err
	}

	var m MRI
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		m.Fragment = rest[i+1:]
		rest = rest[:i]
		if !validRaw(m.Fragment) {
			return MRI{}, errorf(s, ErrBadFragment, "control character or invalid UTF-8")
		}
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		m.Query = rest[i+1:]
		rest = rest[:i]
		if !validRaw(m.Query) {
			return MRI{}, errorf(s, ErrBadQuery, "control character or invalid UTF-8")
		}
	}

	authority, rawPath, _ := strings.Cut(rest, "/")
	if err := m.setAuthority(s, authority); err != nil {
		return MRI{}, err
	}
	if m.Mutable() {
		var channel string
		channel, rawPath, _ = strings.Cut(rawPath, "/")
		if channel == "" {
			return MRI{}, errorf(s, ErrBadChannel, "a publisher MRI needs a channel name after the peer ID")
		}
		if err := checkChannel(channel); err != nil {
			return MRI{}, errorf(s, ErrBadChannel, err.Error())
		}
		m.Channel = channel
	}

	m.Path, err = cleanPath(s, rawPath, true)
	if err != nil {
		return MRI{}, err
	}
	if len(m.String()) > MaxLength {
		return MRI{}, errorf("", ErrTooLong, "")
	}
	return m, nil
}

// New returns the immutable MRI of path inside the package root. The path
// is a plain (not percent-encoded) slash-separated path, cleaned as by
// Parse: a leading or trailing slash, empty and "." segments are dropped,
// ".." segments are resolved, and climbing above the root is an error.
// A CIDv0 root is converted to CIDv1.
func New(root cid.Cid, path string) (MRI, error) {
	if !root.Defined() {
		return MRI{}, errorf("", ErrBadCID, "undefined CID")
	}
	if root.Type() == cid.Libp2pKey {
		return MRI{}, errorf(root.String(), ErrBadCID, "this is a peer ID, not a package CID")
	}
	m := MRI{Root: toV1(root)}
	return m.WithPath(path)
}

// WithPath returns an MRI with the same root (or publisher and channel) as
// m, the given path, and no query or fragment. The path is plain and
// cleaned as for New.
func (m MRI) WithPath(path string) (MRI, error) {
	if !m.Root.Defined() && !m.Mutable() {
		return MRI{}, errorf("", ErrBadCID, "the MRI has no package CID or publisher")
	}
	p, err := cleanPath(path, path, false)
	if err != nil {
		return MRI{}, err
	}
	n := MRI{Root: m.Root, Publisher: m.Publisher, Channel: m.Channel, Path: p}
	if len(n.String()) > MaxLength {
		return MRI{}, errorf("", ErrTooLong, "")
	}
	return n, nil
}

// Mutable reports whether m names a publisher's channel rather than a
// fixed package.
func (m MRI) Mutable() bool { return m.Publisher != "" }

// Segments returns the path split on "/", or nil for the package root.
func (m MRI) Segments() []string {
	if m.Path == "" {
		return nil
	}
	return strings.Split(m.Path, "/")
}

// String returns the canonical form of m:
// myco://<cid in base32 CIDv1>[/path][?query][#fragment], or
// myco://<peer-id>/<channel>[/path][?query][#fragment] for the mutable form.
// Path segments are percent-escaped where needed. The zero MRI gives "".
func (m MRI) String() string {
	var b strings.Builder
	switch {
	case m.Mutable():
		b.Grow(len(Scheme) + 3 + len(m.Publisher) + 1 + len(m.Channel) + 1 + len(m.Path) + len(m.Query) + len(m.Fragment) + 2)
		b.WriteString(Scheme + "://")
		b.WriteString(m.Publisher)
		b.WriteByte('/')
		b.WriteString(m.Channel)
	case m.Root.Defined():
		b.WriteString(Scheme + "://")
		b.WriteString(toV1(m.Root).String())
	default:
		return ""
	}
	if m.Path != "" {
		for _, seg := range strings.Split(m.Path, "/") {
			b.WriteByte('/')
			escapeSegment(&b, seg)
		}
	}
	if m.Query != "" {
		b.WriteByte('?')
		b.WriteString(m.Query)
	}
	if m.Fragment != "" {
		b.WriteByte('#')
		b.WriteString(m.Fragment)
	}
	return b.String()
}

// stripScheme removes "myco://" or "/myco/" and returns what follows, or
// the whole string for a bare CID.
func stripScheme(s string) (string, error) {
	if len(s) >= len(Scheme)+3 && strings.EqualFold(s[:len(Scheme)], Scheme) && s[len(Scheme):len(Scheme)+3] == "://" {
		return s[len(Scheme)+3:], nil
	}
	if strings.HasPrefix(s, "/"+Scheme+"/") {
		return s[len(Scheme)+2:], nil
	}
	if scheme, ok := schemeOf(s); ok {
		if strings.EqualFold(scheme, Scheme) {
			return "", errorf(s, ErrScheme, "want myco:// followed by a CID or peer ID")
		}
		return "", errorf(s, ErrScheme, quote(scheme)+" (want myco://)")
	}
	if strings.HasPrefix(s, "/") {
		return "", errorf(s, ErrScheme, "a path form must start with /myco/")
	}
	return s, nil
}

// schemeOf returns the RFC 3986 scheme of s, if s starts with one.
func schemeOf(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return s[:i], true
		default:
			return "", false
		}
	}
	return "", false
}

// setAuthority decides whether authority is a peer ID (mutable MRI) or a
// package CID (immutable MRI) and sets m accordingly.
func (m *MRI) setAuthority(input, authority string) error {
	if authority == "" {
		return errorf(input, ErrBadCID, "missing CID after the scheme")
	}
	if len(authority) > maxAuthority {
		return errorf(input, ErrBadCID, "longer than "+strconv.Itoa(maxAuthority)+" bytes")
	}
	for i := 0; i < len(authority); i++ {
		if c := authority[i]; c <= ' ' || c >= 0x7f {
			return errorf(input, ErrBadCID, "unexpected character "+quote(authority[i:i+1]))
		}
	}
	if c, err := cid.Decode(authority); err == nil {
		if err := checkCanonical(authority, c); err != nil {
			return errorf(input, ErrBadCID, err.Error())
		}
		if c.Type() != cid.Libp2pKey {
			m.Root = toV1(c)
			return nil
		}
		if err := checkPeerHash(c.Hash()); err != nil {
			return errorf(input, ErrBadPeerID, err.Error())
		}
		m.Publisher = authority
		return nil
	} else if h, herr := mh.FromB58String(authority); herr == nil {
		// A plain base58btc multihash that is not a CIDv0 ("Qm…" is
		// handled above): the legacy text form of a peer ID.
		if err := checkPeerHash(h); err != nil {
			return errorf(input, ErrBadPeerID, err.Error())
		}
		if h.B58String() != authority {
			return errorf(input, ErrBadPeerID, "not the canonical text of its bytes (want "+h.B58String()+")")
		}
		m.Publisher = authority
		return nil
	} else if strings.HasPrefix(authority, "1") {
		// base58btc '1' is a leading zero byte: the identity multihash
		// code that inline peer IDs ("12D3KooW…") start with.
		return errorf(input, ErrBadPeerID, herr.Error())
	} else {
		return errorf(input, ErrBadCID, cidErrText(err))
	}
}

// ParseCID decodes the text of a CID and refuses a text that is not the
// canonical one of its base: base32 and other bases whose last character
// carries unused bits decode the same bytes from several texts, and one
// package must have one name (an MRI, a gateway origin).
func ParseCID(s string) (cid.Cid, error) {
	c, err := cid.Decode(s)
	if err != nil {
		return cid.Undef, errString(cidErrText(err))
	}
	if err := checkCanonical(s, c); err != nil {
		return cid.Undef, err
	}
	return c, nil
}

// checkCanonical checks that text is how c is written in text's own
// multibase (a CIDv0 in base58btc).
func checkCanonical(text string, c cid.Cid) error {
	want := c.String()
	if c.Version() != 0 {
		enc, err := cid.ExtractEncoding(text)
		if err != nil {
			return err
		}
		if want, err = c.StringOfBase(enc); err != nil {
			return err
		}
	}
	if want != text {
		return errString("not the canonical text of its bytes (want " + want + ")")
	}
	return nil
}

// cidErrText is err's message without go-cid's repeated "invalid cid: ".
func cidErrText(err error) string {
	s := err.Error()
	for strings.HasPrefix(s, "invalid cid: ") {
		s = s[len("invalid cid: "):]
	}
	return s
}

// checkPeerHash checks that h is a multihash a libp2p peer ID can have.
func checkPeerHash(h mh.Multihash) error {
	d, err := mh.Decode(h)
	if err != nil {
		return err
	}
	switch d.Code {
	case mh.IDENTITY:
		if d.Length == 0 || d.Length > maxInlineKeyLength {
			return errString("identity multihash of a bad length")
		}
	case mh.SHA2_256:
		if d.Length != 32 {
			return errString("sha2-256 multihash of a bad length")
		}
	default:
		return errString("multihash is neither identity nor sha2-256")
	}
	return nil
}

type errString string

func (e errString) Error() string { return string(e) }

// ValidateChannel checks a channel name: 1..64 chars of [a-z0-9._-], not
// starting with '.'. The error says what is wrong, without the name.
func ValidateChannel(ch string) error {
	if ch == "" {
		return errString("empty")
	}
	return checkChannel(ch)
}

// checkChannel is ValidateChannel for a non-empty name.
func checkChannel(ch string) error {
	if len(ch) > 64 {
		return errString("longer than 64 characters")
	}
	if ch[0] == '.' {
		return errString("starts with '.'")
	}
	for i := 0; i < len(ch); i++ {
		c := ch[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return errString("character " + quote(ch[i:i+1]) + " is not one of [a-z0-9._-]")
		}
	}
	return nil
}

// cleanPath cleans a slash-separated path, percent-decoding each segment
// when decode is set. input names the whole input in error messages.
func cleanPath(input, p string, decode bool) (string, error) {
	if p == "" {
		return "", nil
	}
	if !utf8.ValidString(p) {
		return "", errorf(input, ErrBadPath, "invalid UTF-8")
	}
	var out []string
	for seg := range strings.SplitSeq(p, "/") {
		if decode {
			var ok bool
			seg, ok = unescape(seg)
			if !ok {
				return "", errorf(input, ErrBadPath, "invalid percent-encoding in path")
			}
			if strings.IndexByte(seg, '/') >= 0 {
				return "", errorf(input, ErrBadPath, "a path segment decodes to contain '/'")
			}
			if !utf8.ValidString(seg) {
				return "", errorf(input, ErrBadPath, "a path segment decodes to invalid UTF-8")
			}
		}
		if hasControl(seg) {
			return "", errorf(input, ErrBadPath, "control character or NUL in path")
		}
		switch seg {
		case "", ".":
		case "..":
			if len(out) == 0 {
				return "", errorf(input, ErrPathEscapes, "")
			}
			out = out[:len(out)-1]
		default:
			out = append(out, seg)
		}
	}
	return strings.Join(out, "/"), nil
}

// hasControl reports whether s contains an ASCII control character
// (including NUL and DEL) or a C1 control character.
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return true
		}
	}
	return false
}

// validRaw reports whether a raw query or fragment is acceptable.
func validRaw(s string) bool {
	return utf8.ValidString(s) && !hasControl(s)
}

// unescape percent-decodes s. It reports false for a '%' that is not
// followed by two hex digits.
func unescape(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 {
		return s, true
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", false
		}
		b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
		i += 2
	}
	return string(b), true
}

// escapeSegment writes seg to b, percent-escaping every byte that is not
// an RFC 3986 pchar (unreserved, sub-delims, ':' or '@').
func escapeSegment(b *strings.Builder, seg string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if isPchar(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
}

func isPchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', // unreserved
		'!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', // sub-delims
		':', '@':
		return true
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// toV1 converts a CIDv0 to the equivalent CIDv1 (dag-pb).
func toV1(c cid.Cid) cid.Cid {
	if c.Version() == 0 {
		return cid.NewCidV1(cid.DagProtobuf, c.Hash())
	}
	return c
}

func quote(s string) string { return strconv.Quote(s) }
