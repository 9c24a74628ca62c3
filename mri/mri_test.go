package mri

import (
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

const (
	cidV1   = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
	cidV0   = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"
	cidV0v1 = "bafybeie5nqv6kd3qnfjupgvz34woh3oksc3iau6abmyajn7qvtf6d2ho34"
	peerID  = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"
	rawCID  = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
)

// peerCID is peerID in its CIDv1 (libp2p-key, base32) text form.
var peerCID = func() string {
	h, err := mh.FromB58String(peerID)
	if err != nil {
		panic(err)
	}
	return cid.NewCidV1(cid.Libp2pKey, h).String()
}()

func mustCID(t testing.TB, s string) cid.Cid {
	t.Helper()
	c, err := cid.Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestParse(t *testing.T) {
	root := mustCID(t, cidV1)
	v0root := mustCID(t, cidV0v1)
	tests := []struct {
		in   string
		want MRI
		str  string // canonical form; "" means same as in
	}{
		{in: "myco://" + cidV1, want: MRI{Root: root}},
		{in: "myco://" + cidV1 + "/", want: MRI{Root: root}, str: "myco://" + cidV1},
		{in: "myco://" + cidV1 + "/docs/index.html", want: MRI{Root: root, Path: "docs/index.html"}},
		{in: "MYCO://" + cidV1 + "/a", want: MRI{Root: root, Path: "a"}, str: "myco://" + cidV1 + "/a"},
		{in: "myco://" + cidV1 + "/a/?x=1#top", want: MRI{Root: root, Path: "a", Query: "x=1", Fragment: "top"}, str: "myco://" + cidV1 + "/a?x=1#top"},
		{in: "myco://" + cidV1 + "#f?x", want: MRI{Root: root, Fragment: "f?x"}},
		{in: "myco://" + cidV1 + "?q?r#f#g", want: MRI{Root: root, Query: "q?r", Fragment: "f#g"}},
		{in: "myco://" + cidV1 + "/a//./b/../c", want: MRI{Root: root, Path: "a/c"}, str: "myco://" + cidV1 + "/a/c"},
		{in: "myco://" + cidV1 + "/a/../b", want: MRI{Root: root, Path: "b"}, str: "myco://" + cidV1 + "/b"},
		{in: "myco://" + cidV1 + "/a/..", want: MRI{Root: root}, str: "myco://" + cidV1},
		{in: "myco://" + cidV1 + "/hello%20world/%3F%23%25", want: MRI{Root: root, Path: "hello world/?#%"}},
		{in: "myco://" + cidV1 + "/caf%C3%A9", want: MRI{Root: root, Path: "café"}},
		{in: "myco://" + cidV1 + "/café", want: MRI{Root: root, Path: "café"}, str: "myco://" + cidV1 + "/caf%C3%A9"},
		{in: "myco://" + cidV1 + "/a%2fb", want: MRI{}, str: "error"},
		{in: "myco://" + cidV0 + "/x", want: MRI{Root: v0root, Path: "x"}, str: "myco://" + cidV0v1 + "/x"},
		{in: cidV1, want: MRI{Root: root}, str: "myco://" + cidV1},
		{in: cidV1 + "/p/q", want: MRI{Root: root, Path: "p/q"}, str: "myco://" + cidV1 + "/p/q"},
		{in: "/myco/" + cidV1 + "/p", want: MRI{Root: root, Path: "p"}, str: "myco://" + cidV1 + "/p"},
		{in: strings.ToUpper("b" + cidV1[1:]), want: MRI{Root: root}, str: "myco://" + cidV1},
		{in: "myco://" + rawCID, want: MRI{Root: mustCID(t, rawCID)}},
		{in: "myco://" + peerID + "/blog", want: MRI{Publisher: peerID, Channel: "blog"}},
		{in: "myco://" + peerID + "/blog/2024/post.html?x#y", want: MRI{Publisher: peerID, Channel: "blog", Path: "2024/post.html", Query: "x", Fragment: "y"}},
		{in: "myco://" + peerCID + "/my-site_1.0", want: MRI{Publisher: peerCID, Channel: "my-site_1.0"}},
		{in: "/myco/" + peerID + "/c/", want: MRI{Publisher: peerID, Channel: "c"}, str: "myco://" + peerID + "/c"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			m, err := Parse(tt.in)
			if tt.str == "error" {
				if err == nil {
					t.Fatalf("Parse = %+v, want error", m)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if m != tt.want {
				t.Fatalf("Parse = %+v\nwant    %+v", m, tt.want)
			}
			want := tt.str
			if want == "" {
				want = tt.in
			}
			if got := m.String(); got != want {
				t.Fatalf("String = %q, want %q", got, want)
			}
			if m.Mutable() != (tt.want.Publisher != "") {
				t.Fatalf("Mutable = %v", m.Mutable())
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	long := "myco://" + cidV1 + "/" + strings.Repeat("a", MaxLength)
	tests := []struct {
		name string
		in   string
		want error
		msg  string // substring of the message
	}{
		{"empty", "", ErrEmpty, "mri: empty"},
		{"too long", long, ErrTooLong, "mri: too long (max 4096 bytes)"},
		{"too long after escaping", "myco://" + cidV1 + "/" + strings.Repeat("é", 1500), ErrTooLong, "too long"},
		{"http", "http://example.com/", ErrScheme, `unsupported scheme: "http" (want myco://)`},
		{"ipfs", "ipfs://" + cidV1, ErrScheme, `"ipfs"`},
		{"myco no slashes", "myco:" + cidV1, ErrScheme, "want myco://"},
		{"other path form", "/ipfs/" + cidV1, ErrScheme, "/myco/"},
		{"bad cid", "myco://xyz", ErrBadCID, `mri: "myco://xyz": invalid package CID: `},
		{"missing cid", "myco:///a", ErrBadCID, "missing CID"},
		{"missing cid only scheme", "myco://", ErrBadCID, "missing CID"},
		{"space in cid", "myco://" + cidV1[:10] + " " + cidV1[10:], ErrBadCID, "unexpected character"},
		{"truncated cid", "myco://" + cidV1[:len(cidV1)-3], ErrBadCID, "invalid package CID"},
		{"cid with port", "myco://" + cidV1 + ":80/a", ErrBadCID, "invalid package CID"},
		{"truncated peer id", "myco://" + peerID[:len(peerID)-2] + "/c", ErrBadPeerID, "invalid publisher peer ID"},
		{"peer without channel", "myco://" + peerID, ErrBadChannel, "needs a channel name"},
		{"peer with empty channel", "myco://" + peerID + "/", ErrBadChannel, "needs a channel name"},
		{"channel upper", "myco://" + peerID + "/Blog", ErrBadChannel, `"B"`},
		{"channel dot", "myco://" + peerID + "/.hidden", ErrBadChannel, "starts with '.'"},
		{"channel long", "myco://" + peerID + "/" + strings.Repeat("c", 65), ErrBadChannel, "longer than 64"},
		{"channel escaped", "myco://" + peerID + "/a%20b", ErrBadChannel, `"%"`},
		{"escape root", "myco://" + cidV1 + "/..", ErrPathEscapes, "path climbs above the package root"},
		{"escape deep", "myco://" + cidV1 + "/a/../../b", ErrPathEscapes, "climbs"},
		{"escape encoded", "myco://" + cidV1 + "/%2e%2e/x", ErrPathEscapes, "climbs"},
		{"escape channel", "myco://" + peerID + "/c/../x", ErrPathEscapes, "climbs"},
		{"bad percent", "myco://" + cidV1 + "/a%zzb", ErrBadPath, "invalid percent-encoding in path"},
		{"short percent", "myco://" + cidV1 + "/a%2", ErrBadPath, "invalid percent-encoding in path"},
		{"encoded slash", "myco://" + cidV1 + "/a%2Fb", ErrBadPath, "contain '/'"},
		{"NUL", "myco://" + cidV1 + "/a\x00b", ErrBadPath, "control character"},
		{"encoded NUL", "myco://" + cidV1 + "/a%00b", ErrBadPath, "control character"},
		{"newline", "myco://" + cidV1 + "/a%0Ab", ErrBadPath, "control character"},
		{"bad utf8", "myco://" + cidV1 + "/a\xffb", ErrBadPath, "UTF-8"},
		{"encoded bad utf8", "myco://" + cidV1 + "/a%FFb", ErrBadPath, "UTF-8"},
		{"query control", "myco://" + cidV1 + "?a\tb", ErrBadQuery, "invalid query"},
		{"fragment control", "myco://" + cidV1 + "#a\x7fb", ErrBadFragment, "invalid fragment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse = %+v, want error", m)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %q, want it to contain %q", err, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "mri: ") || strings.Contains(err.Error(), "\n") || len(err.Error()) > 400 {
				t.Fatalf("err = %q, want one short line starting with \"mri: \"", err)
			}
		})
	}
}

func TestNew(t *testing.T) {
	root := mustCID(t, cidV1)
	tests := []struct {
		path    string
		want    string // Path
		wantErr error
	}{
		{"", "", nil},
		{"/", "", nil},
		{"index.html", "index.html", nil},
		{"/a/b/", "a/b", nil},
		{"a/./b//c/../d", "a/b/d", nil},
		{"100%.txt", "100%.txt", nil}, // plain, not decoded
		{"a%2Fb", "a%2Fb", nil},
		{"..", "", ErrPathEscapes},
		{"a/../../b", "", ErrPathEscapes},
		{"a\x00", "", ErrBadPath},
		{"a\nb", "", ErrBadPath},
		{"\xff", "", ErrBadPath},
		{strings.Repeat("x/", MaxLength), "", ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			m, err := New(root, tt.path)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("New: err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if m.Path != tt.want || m.Root != root {
				t.Fatalf("New = %+v, want path %q", m, tt.want)
			}
			back, err := Parse(m.String())
			if err != nil || back != m {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", m.String(), back, err, m)
			}
			again, err := m.WithPath(m.Path)
			if err != nil || again != m {
				t.Fatalf("WithPath(Path) = %+v, %v; want %+v", again, err, m)
			}
		})
	}
}

func TestNewRoot(t *testing.T) {
	t.Run("v0 converted", func(t *testing.T) {
		m, err := New(mustCID(t, cidV0), "a")
		if err != nil {
			t.Fatal(err)
		}
		if m.Root.Version() != 1 || m.String() != "myco://"+cidV0v1+"/a" {
			t.Fatalf("New = %v", m)
		}
	})
	t.Run("undef", func(t *testing.T) {
		if _, err := New(cid.Undef, ""); !errors.Is(err, ErrBadCID) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("peer id", func(t *testing.T) {
		if _, err := New(mustCID(t, peerCID), ""); !errors.Is(err, ErrBadCID) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("sha256 root", func(t *testing.T) {
		sum := sha256.Sum256([]byte("x"))
		h, _ := mh.Encode(sum[:], mh.SHA2_256)
		c := cid.NewCidV1(cid.Raw, h)
		m, err := New(c, "")
		if err != nil || m.Root != c {
			t.Fatalf("New = %v, %v", m, err)
		}
	})
}

func TestWithPath(t *testing.T) {
	m, err := Parse("myco://" + peerID + "/blog/a/b?q#f")
	if err != nil {
		t.Fatal(err)
	}
	n, err := m.WithPath("../c")
	if !errors.Is(err, ErrPathEscapes) {
		t.Fatalf("WithPath(../c) = %v, %v", n, err)
	}
	n, err = m.WithPath("c/d")
	if err != nil {
		t.Fatal(err)
	}
	want := MRI{Publisher: peerID, Channel: "blog", Path: "c/d"}
	if n != want {
		t.Fatalf("WithPath = %+v, want %+v", n, want)
	}
	if _, err := (MRI{}).WithPath("a"); err == nil {
		t.Fatal("WithPath on zero MRI succeeded")
	}
}

func TestSegments(t *testing.T) {
	tests := []struct {
		path string
		want []string
	}{
		{"", nil},
		{"a", []string{"a"}},
		{"a/b c/d", []string{"a", "b c", "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got := MRI{Path: tt.path}.Segments()
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || (got == nil) != (tt.want == nil) {
				t.Fatalf("Segments = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestZeroString(t *testing.T) {
	if s := (MRI{}).String(); s != "" {
		t.Fatalf("zero MRI String = %q", s)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"myco://" + cidV1,
		"myco://" + cidV1 + "/a/b/../c?x=1#y",
		"myco://" + cidV0 + "/%41%2e%2E/x",
		"myco://" + peerID + "/blog/x",
		"myco://" + peerCID + "/c",
		"/myco/" + cidV1 + "/index.html",
		cidV1 + "/a%20b",
		"myco://" + cidV1 + "/..",
		"myco://" + cidV1 + "/a%2Fb",
		"myco://" + rawCID + "/é?é#é",
		"http://x",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse(s)
		if err != nil {
			if m != (MRI{}) {
				t.Fatalf("Parse(%q) returned %+v with error %v", s, m, err)
			}
			return
		}
		if m.Root.Defined() == m.Mutable() {
			t.Fatalf("Parse(%q) = %+v: want exactly one of Root and Publisher", s, m)
		}
		if m.Root.Defined() && m.Root.Version() != 1 {
			t.Fatalf("Parse(%q): root not CIDv1", s)
		}
		if m.Path != "" {
			if strings.HasPrefix(m.Path, "/") || strings.HasSuffix(m.Path, "/") {
				t.Fatalf("Parse(%q): path %q has a leading or trailing slash", s, m.Path)
			}
			for _, seg := range m.Segments() {
				if seg == "" || seg == "." || seg == ".." {
					t.Fatalf("Parse(%q): path %q has segment %q", s, m.Path, seg)
				}
			}
		}
		str := m.String()
		if len(str) > MaxLength {
			t.Fatalf("Parse(%q): canonical form is %d bytes", s, len(str))
		}
		m2, err := Parse(str)
		if err != nil {
			t.Fatalf("Parse(%q) ok but Parse(String()=%q): %v", s, str, err)
		}
		if m2 != m {
			t.Fatalf("round trip of %q via %q: got %+v, want %+v", s, str, m2, m)
		}
		if str2 := m2.String(); str2 != str {
			t.Fatalf("String not stable: %q then %q", str, str2)
		}
		if m.Root.Defined() {
			n, err := New(m.Root, m.Path)
			if err != nil || n.Path != m.Path || n.Root != m.Root {
				t.Fatalf("New(root, %q) = %+v, %v", m.Path, n, err)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	s := "myco://" + cidV1 + "/docs/a%20b/index.html?x=1#top"
	for b.Loop() {
		if _, err := Parse(s); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzWithPath(f *testing.F) {
	for _, s := range []string{"", "a/b", "/a/../b/", "..", "a/./b//c", "100%.txt", "é/\x00", "a/%2F"} {
		f.Add(s)
	}
	root := mustCID(f, cidV1)
	f.Fuzz(func(t *testing.T, p string) {
		m, err := New(root, p)
		if err != nil {
			return
		}
		for _, seg := range m.Segments() {
			if seg == "" || seg == "." || seg == ".." || strings.Contains(seg, "/") {
				t.Fatalf("New(%q): path %q has segment %q", p, m.Path, seg)
			}
		}
		back, err := Parse(m.String())
		if err != nil || back != m {
			t.Fatalf("New(%q) = %q; Parse gives %+v, %v", p, m.String(), back, err)
		}
	})
}
