package metadata

import (
	"bytes"
	"encoding/hex"
	"errors"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec"
	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/ipld/go-ipld-prime/fluent/qp"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	"github.com/ipld/go-ipld-prime/node/basicnode"
)

// metaFields returns the meta fields of m as assemblers, keyed by wire name.
func metaFields(t testing.TB, m *Meta) map[string]qp.Assemble {
	n, err := qp.BuildMap(basicnode.Prototype.Any, -1, func(ma datamodel.MapAssembler) { assembleMeta(ma, m) })
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]qp.Assemble{}
	for it := n.MapIterator(); !it.Done(); {
		k, v, _ := it.Next()
		ks, _ := k.AsString()
		out[ks] = qp.Node(v)
	}
	return out
}

func metaMap(fields map[string]qp.Assemble) qp.Assemble {
	return qp.Map(-1, func(ma datamodel.MapAssembler) {
		for _, k := range slices.Sorted(maps.Keys(fields)) {
			qp.MapEntry(ma, k, fields[k])
		}
	})
}

func TestDecodeErrors(t *testing.T) {
	p := newPackage(t, fullMeta(t))
	type edit func(top, meta map[string]qp.Assemble)
	strs := func(l ...string) qp.Assemble {
		return qp.List(-1, func(la datamodel.ListAssembler) {
			for _, s := range l {
				qp.ListEntry(la, qp.String(s))
			}
		})
	}
	tests := []struct {
		name   string
		edit   edit
		want   error
		field  string
		reason string
	}{
		{"unknown top-level", func(top, _ map[string]qp.Assemble) { top["extra"] = qp.Int(1) }, ErrInvalid, "extra", "unknown top-level field"},
		{"unknown meta", func(_, m map[string]qp.Assemble) { m["colour"] = qp.String("red") }, ErrInvalid, "colour", "unknown field in meta"},
		{"unprintable key", func(_, m map[string]qp.Assemble) { m["a\nb"] = qp.String("red") }, ErrInvalid, `"a\nb"`, "unknown field in meta"},
		{"v missing", func(top, _ map[string]qp.Assemble) { delete(top, "v") }, ErrInvalid, "v", "required"},
		{"v 2", func(top, _ map[string]qp.Assemble) { top["v"] = qp.Int(2) }, ErrInvalid, "v", "unsupported schema version 2"},
		{"v string", func(top, _ map[string]qp.Assemble) { top["v"] = qp.String("1") }, ErrInvalid, "v", "must be an integer, not string"},
		{"v float", func(top, _ map[string]qp.Assemble) { top["v"] = qp.Float(1) }, ErrInvalid, "v", "must be an integer, not float"},
		{"v huge", func(top, _ map[string]qp.Assemble) { top["v"] = qp.Node(basicnode.NewUint(1 << 63)) }, ErrInvalid, "v", "out of range"},
		{"content missing", func(top, _ map[string]qp.Assemble) { delete(top, "content") }, ErrInvalid, "content", "required"},
		{"content bytes", func(top, _ map[string]qp.Assemble) { top["content"] = qp.Bytes(p.Content.Bytes()) }, ErrInvalid, "content", "must be a link, not bytes"},
		{"meta missing", func(top, _ map[string]qp.Assemble) { delete(top, "meta") }, ErrInvalid, "meta", "required"},
		{"meta list", func(top, _ map[string]qp.Assemble) { top["meta"] = strs("a") }, ErrInvalid, "meta", "must be a map, not list"},
		{"publisher missing", func(top, _ map[string]qp.Assemble) { delete(top, "publisher") }, ErrInvalid, "publisher", "required"},
		{"publisher string", func(top, _ map[string]qp.Assemble) { top["publisher"] = qp.String("k") }, ErrInvalid, "publisher", "must be bytes"},
		{"publisher short", func(top, _ map[string]qp.Assemble) { top["publisher"] = qp.Bytes(p.Publisher[:31]) }, ErrInvalid, "publisher", "31 bytes, want 32"},
		{"sig missing", func(top, _ map[string]qp.Assemble) { delete(top, "sig") }, ErrInvalid, "sig", "required"},
		{"sig long", func(top, _ map[string]qp.Assemble) { top["sig"] = qp.Bytes(make([]byte, 65)) }, ErrInvalid, "sig", "65 bytes, want 64"},
		{"title missing", func(_, m map[string]qp.Assemble) { delete(m, "title") }, ErrInvalid, "title", "required"},
		{"title int", func(_, m map[string]qp.Assemble) { m["title"] = qp.Int(5) }, ErrInvalid, "title", "must be a string, not int"},
		{"title null", func(_, m map[string]qp.Assemble) { m["title"] = qp.Null() }, ErrInvalid, "title", "must be a string, not null"},
		{"title long", func(_, m map[string]qp.Assemble) { m["title"] = qp.String(strings.Repeat("x", 300)) }, ErrInvalid, "title", "longer than 256"},
		{"tags string", func(_, m map[string]qp.Assemble) { m["tags"] = qp.String("a,b") }, ErrInvalid, "tags", "must be a list of strings"},
		{"tags item", func(_, m map[string]qp.Assemble) {
			m["tags"] = qp.List(-1, func(la datamodel.ListAssembler) { qp.ListEntry(la, qp.String("a")); qp.ListEntry(la, qp.Int(1)) })
		}, ErrInvalid, "tags", "item 2 must be a string, not int"},
		{"tags duplicate", func(_, m map[string]qp.Assemble) { m["tags"] = strs("a", "a") }, ErrInvalid, "tags", "duplicate"},
		{"authors map", func(_, m map[string]qp.Assemble) { m["authors"] = metaMap(nil) }, ErrInvalid, "authors", "must be a list"},
		{"size negative", func(_, m map[string]qp.Assemble) { m["size"] = qp.Int(-1) }, ErrInvalid, "size", "negative"},
		{"files string", func(_, m map[string]qp.Assemble) { m["files"] = qp.String("3") }, ErrInvalid, "files", "must be an integer"},
		{"created int", func(_, m map[string]qp.Assemble) { m["created"] = qp.Int(1714566645) }, ErrInvalid, "created", "must be a string"},
		{"created offset", func(_, m map[string]qp.Assemble) { m["created"] = qp.String("2024-05-01T12:30:45+01:00") }, ErrInvalid, "created", "RFC 3339 UTC"},
		{"created nanos", func(_, m map[string]qp.Assemble) { m["created"] = qp.String("2024-05-01T12:30:45.5Z") }, ErrInvalid, "created", "second precision"},
		{"created lower z", func(_, m map[string]qp.Assemble) { m["created"] = qp.String("2024-05-01t12:30:45z") }, ErrInvalid, "created", "RFC 3339"},
		{"created bad date", func(_, m map[string]qp.Assemble) { m["created"] = qp.String("2024-02-30T12:30:45Z") }, ErrInvalid, "created", "RFC 3339"},
		{"created year 0", func(_, m map[string]qp.Assemble) { m["created"] = qp.String("0000-01-01T00:00:00Z") }, ErrInvalid, "created", "outside"},
		{"previous string", func(_, m map[string]qp.Assemble) { m["previous"] = qp.String(p.Meta.Previous.String()) }, ErrInvalid, "previous", "must be a link"},
		{"previous raw", func(_, m map[string]qp.Assemble) {
			m["previous"] = qp.Link(cidlink.Link{Cid: testCID(t, cid.Raw, "x")})
		}, ErrInvalid, "previous", "not a package CID"},
		{"name traversal", func(_, m map[string]qp.Assemble) { m["name"] = qp.String("../../.ssh/authorized_keys") }, ErrInvalid, "name", "not a single file name"},
		{"name dotdot", func(_, m map[string]qp.Assemble) { m["name"] = qp.String("..") }, ErrInvalid, "name", "not a file name"},
		{"name NUL", func(_, m map[string]qp.Assemble) { m["name"] = qp.String("x.pdf\x00.exe") }, ErrInvalid, "name", "control character"},
		{"name bytes", func(_, m map[string]qp.Assemble) { m["name"] = qp.Bytes([]byte("x")) }, ErrInvalid, "name", "must be a string"},
		{"name empty", func(_, m map[string]qp.Assemble) { m["name"] = qp.String("") }, ErrNonCanonical, "", ""},
		{"kind bad", func(_, m map[string]qp.Assemble) { m["kind"] = qp.String("book") }, ErrInvalid, "kind", "not one of"},
		// Fields that are present but empty would be omitted by Encode.
		{"empty description", func(_, m map[string]qp.Assemble) { m["description"] = qp.String("") }, ErrNonCanonical, "", ""},
		{"empty tags", func(_, m map[string]qp.Assemble) { m["tags"] = strs() }, ErrNonCanonical, "", ""},
		{"zero size", func(_, m map[string]qp.Assemble) { m["size"] = qp.Int(0) }, ErrNonCanonical, "", ""},
		{"zero created", func(_, m map[string]qp.Assemble) { m["created"] = qp.String("0001-01-01T00:00:00Z") }, ErrNonCanonical, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			top := packageFields(p)
			meta := metaFields(t, &p.Meta)
			tt.edit(top, meta)
			if _, ok := top["meta"]; ok && tt.name != "meta list" {
				top["meta"] = metaMap(meta)
			}
			b := buildBlock(t, slices.Sorted(maps.Keys(top)), top, codec.MapSortMode_RFC7049)
			_, err := Decode(b)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode = %v, want %v", err, tt.want)
			}
			if tt.field != "" {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != tt.field || !strings.Contains(fe.Reason, tt.reason) {
					t.Fatalf("Decode = %q, want field %q with reason containing %q", err, tt.field, tt.reason)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("message %q is not one line", err)
			}
		})
	}
}

func TestDecodeNonCanonical(t *testing.T) {
	p := newPackage(t, fullMeta(t))
	good, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	unsorted := buildBlock(t, []string{"v", "content", "meta", "publisher", "sig"}, packageFields(p), codec.MapSortMode_None)
	if bytes.Equal(unsorted, good) {
		t.Fatal("test setup: unsorted encoding equals the canonical one")
	}
	// "v" is the first entry: a1 61 76 01 → key "v", value 1; make the
	// value a non-minimal uint8 (0x18 0x01).
	nonMinimal := bytes.Replace(good, []byte{0x61, 'v', 0x01}, []byte{0x61, 'v', 0x18, 0x01}, 1)
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"canonical", good, nil},
		{"unsorted keys", unsorted, ErrNonCanonical},
		{"non-minimal int", nonMinimal, ErrDecode},
		{"trailing bytes", append(bytes.Clone(good), 0x00), ErrDecode},
		{"truncated", good[:len(good)-1], ErrDecode},
		{"empty", nil, ErrDecode},
		{"not a map", []byte{0x80}, ErrDecode},
		{"string", []byte{0x61, 'a'}, ErrDecode},
		{"indefinite map", []byte{0xbf, 0xff}, ErrDecode},
		{"integer key", []byte{0xa1, 0x01, 0x01}, ErrDecode},
		{"deep", bytes.Repeat([]byte{0x81}, 100), ErrDecode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.data)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, m := range []Meta{{Title: "x"}, fullMeta(f), {Title: "big", Size: 1<<64 - 1, Files: 1}, {Title: "file", Name: "report.pdf", Files: 1}} {
		b, err := newPackage(f, m).Encode()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	if g, err := os.ReadFile("testdata/package-v1.golden"); err == nil {
		if b, err := hex.DecodeString(strings.Fields(string(g))[0]); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte{0xa0})
	f.Add([]byte{0xa1, 0x61, 'v', 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode(data)
		if err != nil {
			if p != nil {
				t.Fatal("Decode returned a package with an error")
			}
			return
		}
		b, err := p.Encode()
		if err != nil {
			t.Fatalf("Decode ok but Encode: %v", err)
		}
		if !bytes.Equal(b, data) {
			t.Fatalf("Encode(Decode(x)) != x:\n x = %x\nre = %x", data, b)
		}
		if err := p.Meta.Validate(); err != nil {
			t.Fatalf("decoded meta invalid: %v", err)
		}
		_ = p.Verify() // must not panic
	})
}

func BenchmarkEncode(b *testing.B) {
	p := newPackage(b, fullMeta(b))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	data, err := newPackage(b, fullMeta(b)).Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}
