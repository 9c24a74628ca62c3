package metadata

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/ipld/go-ipld-prime/fluent/qp"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	"github.com/ipld/go-ipld-prime/node/basicnode"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testKey is a fixed key: the seed is the bytes 0..31.
func testKey() ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	return ed25519.NewKeyFromSeed(seed)
}

// fullMeta sets every field.
func fullMeta(t testing.TB) Meta {
	return Meta{
		Title:       "Myconet design notes",
		Description: "How the network fits together.\nSecond line.",
		Tags:        []string{"p2p", "design", "ipfs"},
		Language:    "en-GB",
		License:     "CC-BY-4.0 OR MIT",
		Authors:     []string{"Ada Lovelace", "Grace Hopper"},
		Kind:        KindSite,
		Entry:       "index.html",
		Created:     time.Date(2024, 5, 1, 12, 30, 45, 0, time.UTC),
		Size:        123456,
		Files:       7,
		Previous:    testCID(t, cid.DagCBOR, "previous package"),
	}
}

func newPackage(t testing.TB, m Meta) *Package {
	t.Helper()
	p, err := New(testCID(t, cid.DagProtobuf, "content"), m, testKey())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		meta Meta
	}{
		{"minimal", Meta{Title: "x"}},
		{"full", fullMeta(t)},
		{"huge size", Meta{Title: "big", Size: 1<<64 - 1, Files: 1 << 63}},
		{"single file name", Meta{Title: "x", Name: "report.pdf", Files: 1}},
		{"empty lists", Meta{Title: "x", Tags: []string{}, Authors: []string{}}},
		{"created local with nanos", Meta{Title: "x", Created: time.Date(2024, 1, 2, 3, 4, 5, 999, time.FixedZone("CET", 3600))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPackage(t, tt.meta)
			if err := p.Verify(); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			b, err := p.Encode()
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			q, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(p, q) {
				t.Fatalf("Decode(Encode(p)) differs:\n got %#v\nwant %#v", q, p)
			}
			if err := q.Verify(); err != nil {
				t.Fatalf("Verify decoded: %v", err)
			}
			b2, err := q.Encode()
			if err != nil || !bytes.Equal(b, b2) {
				t.Fatalf("re-encoding differs (%v)", err)
			}
			c1, _ := p.CID()
			c2, _ := q.CID()
			if c1 != c2 || c1.Type() != cid.DagCBOR || c1.Version() != 1 {
				t.Fatalf("CIDs %v %v", c1, c2)
			}
		})
	}
}

func TestNewNormalizes(t *testing.T) {
	m := Meta{Title: "x", Tags: []string{"a"}, Created: time.Date(2024, 1, 2, 3, 4, 5, 6, time.FixedZone("X", -7200))}
	p := newPackage(t, m)
	m.Tags[0] = "changed"
	if p.Meta.Tags[0] != "a" {
		t.Fatal("New did not copy Tags")
	}
	want := time.Date(2024, 1, 2, 5, 4, 5, 0, time.UTC)
	if p.Meta.Created != want {
		t.Fatalf("Created = %v, want %v", p.Meta.Created, want)
	}
}

func TestNewErrors(t *testing.T) {
	content := testCID(t, cid.Raw, "c")
	if _, err := New(content, Meta{}, testKey()); !isField(err, "title") {
		t.Fatalf("New with empty title: %v", err)
	}
	if _, err := New(cid.Undef, Meta{Title: "x"}, testKey()); !isField(err, "content") {
		t.Fatalf("New with undefined content: %v", err)
	}
	if _, err := New(content, Meta{Title: "x"}, testKey()[:10]); !isField(err, "publisher") {
		t.Fatalf("New with short key: %v", err)
	}
}

func isField(err error, field string) bool {
	var fe *FieldError
	return errors.As(err, &fe) && fe.Field == field && errors.Is(err, ErrInvalid)
}

func TestDeterminism(t *testing.T) {
	// Two packages with equal content built from differently constructed
	// values, and the same node assembled in different key orders,
	// encode identically.
	a := newPackage(t, fullMeta(t))
	m := fullMeta(t)
	m.Created = m.Created.In(time.FixedZone("Z", 5*3600))
	b := newPackage(t, m)
	ea, _ := a.Encode()
	eb, _ := b.Encode()
	if !bytes.Equal(ea, eb) {
		t.Fatal("equal packages encode differently")
	}
	if !bytes.Equal(a.Sig, b.Sig) {
		t.Fatal("signatures differ")
	}

	fields := packageFields(a)
	keys := []string{"sig", "publisher", "meta", "content", "v"}
	reversed := buildBlock(t, keys, fields, codec.MapSortMode_RFC7049)
	if !bytes.Equal(reversed, ea) {
		t.Fatal("encoding depends on build order")
	}
}

// packageFields returns the top-level fields of p as assemblers.
func packageFields(p *Package) map[string]qp.Assemble {
	return map[string]qp.Assemble{
		"v":         qp.Int(int64(p.V)),
		"content":   qp.Link(cidlink.Link{Cid: p.Content}),
		"meta":      qp.Map(-1, func(ma datamodel.MapAssembler) { assembleMeta(ma, &p.Meta) }),
		"publisher": qp.Bytes(p.Publisher),
		"sig":       qp.Bytes(p.Sig),
	}
}

// buildBlock encodes a map of the given keys, in the given order unless sort is set.
func buildBlock(t testing.TB, keys []string, fields map[string]qp.Assemble, sort codec.MapSortMode) []byte {
	t.Helper()
	n, err := qp.BuildMap(basicnode.Prototype.Any, -1, func(ma datamodel.MapAssembler) {
		for _, k := range keys {
			qp.MapEntry(ma, k, fields[k])
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := (dagcbor.EncodeOptions{AllowLinks: true, MapSortMode: sort}).Encode(n, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestVerifyTampering(t *testing.T) {
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	tests := []struct {
		name string
		edit func(p *Package)
	}{
		{"content", func(p *Package) { p.Content = testCID(t, cid.DagProtobuf, "other") }},
		{"title", func(p *Package) { p.Meta.Title += "!" }},
		{"description", func(p *Package) { p.Meta.Description = "" }},
		{"tags order", func(p *Package) { p.Meta.Tags[0], p.Meta.Tags[1] = p.Meta.Tags[1], p.Meta.Tags[0] }},
		{"tags added", func(p *Package) { p.Meta.Tags = append(p.Meta.Tags, "new") }},
		{"language", func(p *Package) { p.Meta.Language = "en-US" }},
		{"license", func(p *Package) { p.Meta.License = "MIT" }},
		{"authors", func(p *Package) { p.Meta.Authors = p.Meta.Authors[:1] }},
		{"kind", func(p *Package) { p.Meta.Kind = KindOther }},
		{"entry", func(p *Package) { p.Meta.Entry = "other.html" }},
		{"created", func(p *Package) { p.Meta.Created = p.Meta.Created.Add(time.Second) }},
		{"size", func(p *Package) { p.Meta.Size++ }},
		{"files", func(p *Package) { p.Meta.Files-- }},
		{"previous", func(p *Package) { p.Meta.Previous = cid.Undef }},
		{"publisher", func(p *Package) { p.Publisher = other.Public().(ed25519.PublicKey) }},
		{"sig", func(p *Package) { p.Sig[5] ^= 1 }},
		{"sig by other key", func(p *Package) {
			b, _ := SigningBytes(p)
			p.Sig = ed25519.Sign(other, b)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPackage(t, fullMeta(t))
			tt.edit(p)
			if err := p.Verify(); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("Verify after tampering %s = %v, want ErrBadSignature", tt.name, err)
			}
		})
	}
	t.Run("invalid fields", func(t *testing.T) {
		p := newPackage(t, fullMeta(t))
		p.Publisher = p.Publisher[:31]
		if err := p.Verify(); !isField(err, "publisher") {
			t.Fatalf("Verify with short key = %v", err)
		}
		p = newPackage(t, fullMeta(t))
		p.Sig = p.Sig[:63]
		if err := p.Verify(); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("Verify with short sig = %v", err)
		}
	})
}

// TestTamperBytes flips every bit of an encoded package: the result must
// never both decode and verify.
func TestTamperBytes(t *testing.T) {
	b, err := newPackage(t, fullMeta(t)).Encode()
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		for bit := range 8 {
			c := bytes.Clone(b)
			c[i] ^= 1 << bit
			p, err := Decode(c)
			if err != nil {
				continue
			}
			if p.Verify() == nil {
				t.Fatalf("flipping bit %d of byte %d gives a valid signed package", bit, i)
			}
		}
	}
}

func TestSigningBytes(t *testing.T) {
	p := newPackage(t, fullMeta(t))
	sb, err := SigningBytes(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(sb, []byte("myconet-package/v1\n")) {
		t.Fatalf("SigningBytes lacks the domain prefix: %q", sb[:20])
	}
	want := buildBlock(t, []string{"v", "content", "meta", "publisher"}, packageFields(p), codec.MapSortMode_RFC7049)
	if !bytes.Equal(sb[len("myconet-package/v1\n"):], want) {
		t.Fatal("SigningBytes is not the canonical map without sig")
	}
	p.Sig = nil
	if _, err := SigningBytes(p); err != nil {
		t.Fatalf("SigningBytes needs no signature: %v", err)
	}
	if _, err := p.Encode(); !isField(err, "sig") {
		t.Fatalf("Encode without sig = %v", err)
	}
}

func TestGolden(t *testing.T) {
	p := newPackage(t, fullMeta(t))
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.CID()
	if err != nil {
		t.Fatal(err)
	}
	got := hex.EncodeToString(b) + "\n" + c.String() + "\n"
	path := filepath.Join("testdata", "package-v1.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Fatalf("golden vector changed:\n got %s\nwant %s", got, want)
	}
	lines := strings.Fields(string(want))
	raw, _ := hex.DecodeString(lines[0])
	q, err := Decode(raw)
	if err != nil {
		t.Fatalf("Decode golden: %v", err)
	}
	if err := q.Verify(); err != nil {
		t.Fatalf("Verify golden: %v", err)
	}
	if qc, _ := q.CID(); qc.String() != lines[1] {
		t.Fatalf("golden CID = %s, want %s", qc, lines[1])
	}
}

func TestTooLarge(t *testing.T) {
	if _, err := Decode(make([]byte, MaxPackageSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Decode of a huge block = %v", err)
	}
}
