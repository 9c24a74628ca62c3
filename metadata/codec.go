package metadata

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"strconv"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/ipld/go-ipld-prime/fluent/qp"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	"github.com/ipld/go-ipld-prime/node/basicnode"
)

// createdLayout is the only accepted form of "created".
const createdLayout = "2006-01-02T15:04:05Z"

// encodeOptions give dag-cbor's canonical form: map keys sorted by length,
// then bytewise, whatever order the node was built in.
var encodeOptions = dagcbor.EncodeOptions{AllowLinks: true, MapSortMode: codec.MapSortMode_RFC7049}

// decodeOptions are strict: no relaxed forms, and no nesting deeper than
// the schema (package map → meta map → tag list).
var decodeOptions = dagcbor.DecodeOptions{AllowLinks: true, MaxDepth: 4, AllocationBudget: 8 * MaxPackageSize}

// encode appends the canonical encoding of p (with or without "sig") to prefix.
func encode(p *Package, withSig bool, prefix []byte) ([]byte, error) {
	n, err := qp.BuildMap(basicnode.Prototype.Any, -1, func(ma datamodel.MapAssembler) {
		qp.MapEntry(ma, "v", qp.Int(int64(p.V)))
		qp.MapEntry(ma, "content", qp.Link(cidlink.Link{Cid: p.Content}))
		qp.MapEntry(ma, "meta", qp.Map(-1, func(ma datamodel.MapAssembler) { assembleMeta(ma, &p.Meta) }))
		qp.MapEntry(ma, "publisher", qp.Bytes(p.Publisher))
		if withSig {
			qp.MapEntry(ma, "sig", qp.Bytes(p.Sig))
		}
	})
	if err != nil {
		return nil, fmt.Errorf("metadata: build package node: %w", err)
	}
	buf := bytes.NewBuffer(prefix)
	if err := encodeOptions.Encode(n, buf); err != nil {
		return nil, fmt.Errorf("metadata: encode package: %w", err)
	}
	return buf.Bytes(), nil
}

func assembleMeta(ma datamodel.MapAssembler, m *Meta) {
	str := func(k, v string) {
		if v != "" {
			qp.MapEntry(ma, k, qp.String(v))
		}
	}
	list := func(k string, l []string) {
		if len(l) > 0 {
			qp.MapEntry(ma, k, qp.List(int64(len(l)), func(la datamodel.ListAssembler) {
				for _, s := range l {
					qp.ListEntry(la, qp.String(s))
				}
			}))
		}
	}
	uint := func(k string, v uint64) {
		if v != 0 {
			qp.MapEntry(ma, k, qp.Node(basicnode.NewUint(v)))
		}
	}
	str("title", m.Title)
	str("description", m.Description)
	list("tags", m.Tags)
	str("language", m.Language)
	str("license", m.License)
	list("authors", m.Authors)
	str("kind", m.Kind)
	str("entry", m.Entry)
	str("name", m.Name)
	if !m.Created.IsZero() {
		str("created", m.Created.UTC().Truncate(time.Second).Format(createdLayout))
	}
	uint("size", m.Size)
	uint("files", m.Files)
	if m.Previous.Defined() {
		qp.MapEntry(ma, "previous", qp.Link(cidlink.Link{Cid: m.Previous}))
	}
}

// Decode parses a package root block. It is strict: the block must be at
// most MaxPackageSize bytes of dag-cbor holding exactly the schema (unknown
// keys and wrong types are refused with a *FieldError naming the field),
// the package must be valid, and the block must be the package's
// canonical encoding (else ErrNonCanonical). Decode does not verify the
// signature; call Verify.
func Decode(data []byte) (*Package, error) {
	if len(data) > MaxPackageSize {
		return nil, fmt.Errorf("%w: %d bytes (max %d)", ErrTooLarge, len(data), MaxPackageSize)
	}
	nb := basicnode.Prototype.Any.NewBuilder()
	if err := decodeOptions.Decode(nb, bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecode, err)
	}
	n := nb.Build()
	if n.Kind() != datamodel.Kind_Map {
		return nil, fmt.Errorf("%w: top level is a %s, want a map", ErrDecode, n.Kind())
	}
	p, err := fromNode(n)
	if err != nil {
		return nil, err
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	enc, err := p.Encode()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(enc, data) {
		return nil, ErrNonCanonical
	}
	return p, nil
}

// fromNode reads the package fields out of a decoded map node.
func fromNode(n datamodel.Node) (*Package, error) {
	// "v" first: a future schema may have other fields.
	vn, err := n.LookupByString("v")
	if err != nil {
		return nil, fieldErr("v", "required")
	}
	v, err := asInt(vn, "v")
	if err != nil {
		return nil, err
	}
	if v != SchemaVersion {
		return nil, fieldErr("v", fmt.Sprintf("unsupported schema version %d (want %d)", v, SchemaVersion))
	}
	p := &Package{V: SchemaVersion}
	var seenContent, seenMeta bool
	for it := n.MapIterator(); !it.Done(); {
		kn, vn, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrDecode, err)
		}
		k, err := kn.AsString()
		if err != nil {
			return nil, fmt.Errorf("%w: map key: %v", ErrDecode, err)
		}
		switch k {
		case "v":
		case "content":
			if p.Content, err = asLink(vn, k); err != nil {
				return nil, err
			}
			seenContent = true
		case "meta":
			if vn.Kind() != datamodel.Kind_Map {
				return nil, fieldErr(k, "must be a map, not "+kindName(vn))
			}
			if p.Meta, err = metaFromNode(vn); err != nil {
				return nil, err
			}
			seenMeta = true
		case "publisher":
			b, err := asBytes(vn, k)
			if err != nil {
				return nil, err
			}
			p.Publisher = ed25519.PublicKey(b)
		case "sig":
			if p.Sig, err = asBytes(vn, k); err != nil {
				return nil, err
			}
		default:
			return nil, fieldErr(keyName(k), "unknown top-level field")
		}
	}
	switch {
	case !seenContent:
		return nil, fieldErr("content", "required")
	case !seenMeta:
		return nil, fieldErr("meta", "required")
	case p.Publisher == nil:
		return nil, fieldErr("publisher", "required")
	case p.Sig == nil:
		return nil, fieldErr("sig", "required")
	}
	return p, nil
}

func metaFromNode(n datamodel.Node) (Meta, error) {
	var m Meta
	for it := n.MapIterator(); !it.Done(); {
		kn, vn, err := it.Next()
		if err != nil {
			return Meta{}, fmt.Errorf("%w: meta: %v", ErrDecode, err)
		}
		k, err := kn.AsString()
		if err != nil {
			return Meta{}, fmt.Errorf("%w: meta: map key: %v", ErrDecode, err)
		}
		var dst *string
		switch k {
		case "title":
			dst = &m.Title
		case "description":
			dst = &m.Description
		case "language":
			dst = &m.Language
		case "license":
			dst = &m.License
		case "kind":
			dst = &m.Kind
		case "entry":
			dst = &m.Entry
		case "name":
			dst = &m.Name
		case "tags":
			m.Tags, err = asStrings(vn, k)
		case "authors":
			m.Authors, err = asStrings(vn, k)
		case "created":
			m.Created, err = asTime(vn, k)
		case "size":
			m.Size, err = asUint(vn, k)
		case "files":
			m.Files, err = asUint(vn, k)
		case "previous":
			m.Previous, err = asLink(vn, k)
		default:
			return Meta{}, fieldErr(keyName(k), "unknown field in meta")
		}
		if dst != nil {
			*dst, err = asString(vn, k)
		}
		if err != nil {
			return Meta{}, err
		}
	}
	return m, nil
}

func kindName(n datamodel.Node) string {
	return n.Kind().String()
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// keyName makes an unknown map key printable in an error message.
func keyName(k string) string {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x21 || c > 0x7e {
			return strconv.Quote(truncate(k))
		}
	}
	if len(k) > 64 {
		return strconv.Quote(truncate(k))
	}
	return k
}

func asString(n datamodel.Node, field string) (string, error) {
	if n.Kind() != datamodel.Kind_String {
		return "", fieldErr(field, "must be a string, not "+kindName(n))
	}
	return n.AsString()
}

func asStrings(n datamodel.Node, field string) ([]string, error) {
	if n.Kind() != datamodel.Kind_List {
		return nil, fieldErr(field, "must be a list of strings, not "+kindName(n))
	}
	out := make([]string, 0, min(n.Length(), MaxTags+1))
	for it := n.ListIterator(); !it.Done(); {
		i, vn, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrDecode, field, err)
		}
		if vn.Kind() != datamodel.Kind_String {
			return nil, fieldErr(field, fmt.Sprintf("item %d must be a string, not %s", i+1, kindName(vn)))
		}
		s, err := vn.AsString()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func asBytes(n datamodel.Node, field string) ([]byte, error) {
	if n.Kind() != datamodel.Kind_Bytes {
		return nil, fieldErr(field, "must be bytes, not "+kindName(n))
	}
	b, err := n.AsBytes()
	if err != nil {
		return nil, err
	}
	return append([]byte{}, b...), nil
}

func asLink(n datamodel.Node, field string) (cid.Cid, error) {
	if n.Kind() != datamodel.Kind_Link {
		return cid.Undef, fieldErr(field, "must be a link, not "+kindName(n))
	}
	l, err := n.AsLink()
	if err != nil {
		return cid.Undef, err
	}
	cl, ok := l.(cidlink.Link)
	if !ok || !cl.Cid.Defined() {
		return cid.Undef, fieldErr(field, "not a CID link")
	}
	return cl.Cid, nil
}

func asInt(n datamodel.Node, field string) (int64, error) {
	if n.Kind() != datamodel.Kind_Int {
		return 0, fieldErr(field, "must be an integer, not "+kindName(n))
	}
	if _, ok := n.(datamodel.UintNode); ok {
		return 0, fieldErr(field, "integer out of range")
	}
	return n.AsInt()
}

func asUint(n datamodel.Node, field string) (uint64, error) {
	if n.Kind() != datamodel.Kind_Int {
		return 0, fieldErr(field, "must be an integer, not "+kindName(n))
	}
	if u, ok := n.(datamodel.UintNode); ok {
		return u.AsUint()
	}
	i, err := n.AsInt()
	if err != nil {
		return 0, err
	}
	if i < 0 {
		return 0, fieldErr(field, "must not be negative")
	}
	return uint64(i), nil
}

func asTime(n datamodel.Node, field string) (time.Time, error) {
	s, err := asString(n, field)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(createdLayout, s)
	if err != nil || t.Format(createdLayout) != s {
		return time.Time{}, fieldErr(field, fmt.Sprintf("%q is not an RFC 3339 UTC time with second precision (like 2024-05-01T12:00:00Z)", truncate(s)))
	}
	return t, nil
}
