package search

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/myconet/myconet/metadata"
)

func testPackage(t testing.TB, title string) (cid.Cid, []byte) {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	mh, err := multihash.Sum([]byte(title), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	p, err := metadata.New(cid.NewCidV1(cid.Raw, mh), metadata.Meta{Title: title, Kind: metadata.KindDocument}, priv)
	if err != nil {
		t.Fatal(err)
	}
	root, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.CID()
	if err != nil {
		t.Fatal(err)
	}
	return c, root
}

// body strips the length prefix of an encoded message.
func body(t testing.TB, msg []byte) []byte {
	t.Helper()
	n, k := binary.Uvarint(msg)
	if k <= 0 || int(n) != len(msg)-k {
		t.Fatalf("bad length prefix")
	}
	return msg[k:]
}

func TestRequestRoundTrip(t *testing.T) {
	req := SearchRequest{Query: `分布式 "a b" kind:video`, Limit: 20}
	msg, err := req.Encode()
	if err != nil {
		t.Fatal(err)
	}
	// A reader that is not an io.ByteReader, followed by more data.
	r := io.MultiReader(bytes.NewReader(msg), strings.NewReader("next"))
	got, err := ReadRequest(r)
	if err != nil || got != req {
		t.Fatalf("ReadRequest = %+v, %v", got, err)
	}
	if rest, _ := io.ReadAll(r); string(rest) != "next" {
		t.Fatalf("ReadRequest consumed too much: rest %q", rest)
	}
	for _, bad := range []SearchRequest{
		{Query: "x", Limit: 0}, {Query: "x", Limit: MaxResults + 1},
		{Query: strings.Repeat("x", MaxQueryLen+1), Limit: 1}, {Query: "\xff", Limit: 1},
	} {
		if _, err := bad.Encode(); err == nil {
			t.Errorf("Encode(%+v) succeeded", bad)
		}
	}
}

func TestDecodeRequestStrict(t *testing.T) {
	good := body(t, must(SearchRequest{Query: "abc", Limit: 5}.Encode()))
	tests := map[string][]byte{
		"empty":           {},
		"version":         append([]byte{2}, good[1:]...),
		"limit 0":         {1, 0, 1, 'x'},
		"limit 101":       {1, 101, 1, 'x'},
		"non-minimal":     {1, 0x85, 0x00, 1, 'x'},
		"short query":     {1, 5, 4, 'x'},
		"trailing":        append(bytes.Clone(good), 0),
		"invalid utf-8":   {1, 5, 1, 0xff},
		"query too long":  append([]byte{1, 5, 0x81, 0x08}, bytes.Repeat([]byte{'x'}, 1025)...),
		"too large":       make([]byte, MaxRequestSize+1),
		"truncated limit": {1},
	}
	for name, b := range tests {
		if r, err := DecodeRequest(b); err == nil {
			t.Errorf("%s: DecodeRequest = %+v", name, r)
		}
	}
	if _, err := ReadRequest(bytes.NewReader(binary.AppendUvarint(nil, MaxRequestSize+1))); !errors.Is(err, ErrMessageTooLarge) {
		t.Errorf("oversized length prefix: %v", err)
	}
	if _, err := ReadRequest(bytes.NewReader([]byte{10, 1, 2})); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short body: %v", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestResponseRoundTrip(t *testing.T) {
	c1, root1 := testPackage(t, "first")
	c2, root2 := testPackage(t, "second")
	resp := SearchResponse{
		Docs: 1234, DF: []int{3, 0, 999},
		Results: []WireResult{
			{PackageCID: c1, Score: 7.25, Root: root1, Holders: 3},
			{PackageCID: c2, Score: 0, Root: root2, Holders: 0},
		},
	}
	msg, err := resp.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadResponse(bufio.NewReader(bytes.NewReader(msg)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, resp) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, resp)
	}
	for _, res := range got.Results {
		p, err := VerifyResult(res)
		if err != nil {
			t.Fatalf("VerifyResult: %v", err)
		}
		d := DocFromMeta(res.PackageCID.String(), p.Meta, "peer", nil)
		if !Match(mustQuery(t, p.Meta.Title), d) {
			t.Fatalf("result %q does not match its title", p.Meta.Title)
		}
	}
	// Empty response.
	empty := SearchResponse{}
	if got, err := DecodeResponse(body(t, must(empty.Encode()))); err != nil || !reflect.DeepEqual(got, empty) {
		t.Fatalf("empty response: %+v, %v", got, err)
	}
}

func TestVerifyResultMismatch(t *testing.T) {
	c1, root1 := testPackage(t, "first")
	c2, _ := testPackage(t, "second")
	if _, err := VerifyResult(WireResult{PackageCID: c2, Root: root1}); !errors.Is(err, ErrResultMismatch) {
		t.Fatalf("wrong CID: %v", err)
	}
	bad := bytes.Clone(root1)
	bad[len(bad)-1] ^= 1 // in the signature
	if _, err := VerifyResult(WireResult{PackageCID: c1, Root: bad}); !errors.Is(err, ErrResultMismatch) {
		t.Fatalf("tampered root: %v", err)
	}
	if _, err := VerifyResult(WireResult{PackageCID: c1, Root: []byte("garbage")}); !errors.Is(err, ErrResultMismatch) {
		t.Fatalf("garbage root: %v", err)
	}
}

func TestResponseEncodeRefuses(t *testing.T) {
	c1, root1 := testPackage(t, "first")
	rawCID := cid.NewCidV1(cid.Raw, c1.Hash())
	good := WireResult{PackageCID: c1, Score: 1, Root: root1}
	tests := map[string]SearchResponse{
		"duplicate":   {Results: []WireResult{good, good}},
		"NaN":         {Results: []WireResult{{PackageCID: c1, Score: math.NaN(), Root: root1}}},
		"Inf":         {Results: []WireResult{{PackageCID: c1, Score: math.Inf(1), Root: root1}}},
		"negative":    {Results: []WireResult{{PackageCID: c1, Score: -1, Root: root1}}},
		"raw CID":     {Results: []WireResult{{PackageCID: rawCID, Score: 1, Root: root1}}},
		"undef CID":   {Results: []WireResult{{Score: 1, Root: root1}}},
		"empty root":  {Results: []WireResult{{PackageCID: c1, Score: 1}}},
		"holders":     {Results: []WireResult{{PackageCID: c1, Score: 1, Root: root1, Holders: -1}}},
		"docs":        {Docs: -1},
		"DF":          {DF: make([]int, MaxQueryTerms+1)},
		"101 results": {Results: make([]WireResult, MaxResults+1)},
	}
	for name, r := range tests {
		if _, err := r.Encode(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Encode: %v", name, err)
		}
	}
}

func TestResponseTrimToFit(t *testing.T) {
	var resp SearchResponse
	big := bytes.Repeat([]byte{1}, metadata.MaxPackageSize)
	for i := range 40 {
		mh, _ := multihash.Sum([]byte{byte(i)}, multihash.SHA2_256, -1)
		resp.Results = append(resp.Results, WireResult{PackageCID: cid.NewCidV1(cid.DagCBOR, mh), Score: 1, Root: big})
	}
	if _, err := resp.Encode(); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("Encode of 40 × 64 KiB: %v", err)
	}
	resp.TrimToFit()
	msg, err := resp.Encode()
	if err != nil {
		t.Fatalf("after TrimToFit: %v", err)
	}
	if n := len(resp.Results); n != 15 || len(body(t, msg)) > MaxResponseSize {
		t.Fatalf("TrimToFit kept %d results, %d bytes", n, len(msg))
	}
	// A body one result larger would not have fitted.
	resp.Results = append(resp.Results, resp.Results[0])
	resp.Results[15].PackageCID = cid.NewCidV1(cid.DagCBOR, must(multihash.Sum([]byte("x"), multihash.SHA2_256, -1)))
	if _, err := resp.Encode(); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("TrimToFit dropped a result that fitted")
	}
}

func TestDecodeResponseStrict(t *testing.T) {
	c1, root1 := testPackage(t, "first")
	good := body(t, must((&SearchResponse{Docs: 1, Results: []WireResult{{PackageCID: c1, Score: 1, Root: root1}}}).Encode()))
	if _, err := DecodeResponse(good); err != nil {
		t.Fatal(err)
	}
	for i := range len(good) {
		if _, err := DecodeResponse(good[:i]); err == nil {
			t.Fatalf("truncated at %d: decoded", i)
		}
	}
	if _, err := DecodeResponse(append(bytes.Clone(good), 0)); err == nil {
		t.Fatal("trailing byte: decoded")
	}
	if _, err := DecodeResponse(make([]byte, MaxResponseSize+1)); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("oversized: %v", err)
	}
	if _, err := ReadResponse(bytes.NewReader(binary.AppendUvarint(nil, MaxResponseSize+1))); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("oversized prefix: %v", err)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add(body(f, must(SearchRequest{Query: "hello world kind:video", Limit: 10}.Encode())))
	f.Add(body(f, must(SearchRequest{Query: "分布式", Limit: 100}.Encode())))
	f.Add([]byte{1, 0x80, 0x01, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrMessageTooLarge) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrMessageTooLarge", err)
			}
			return
		}
		msg, err := r.Encode()
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", r, err)
		}
		if !bytes.Equal(body(t, msg), b) {
			t.Fatalf("not canonical: %x re-encodes to %x", b, body(t, msg))
		}
		_, _ = ParseQuery(r.Query) // must not panic
	})
}

func FuzzDecodeResponse(f *testing.F) {
	c1, root1 := testPackage(f, "first")
	c2, root2 := testPackage(f, "second")
	f.Add(body(f, must((&SearchResponse{Docs: 10, DF: []int{1, 2}, Results: []WireResult{
		{PackageCID: c1, Score: 1.5, Root: root1, Holders: 2}, {PackageCID: c2, Score: 0.5, Root: root2}}}).Encode())))
	f.Add(body(f, must((&SearchResponse{}).Encode())))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeResponse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrMessageTooLarge) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrMessageTooLarge", err)
			}
			return
		}
		msg, err := r.Encode()
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", r, err)
		}
		if !bytes.Equal(body(t, msg), b) {
			t.Fatalf("not canonical: %x re-encodes to %x", b, body(t, msg))
		}
		for _, res := range r.Results {
			_, _ = VerifyResult(res) // must not panic
		}
	})
}
