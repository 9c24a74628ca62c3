package mri

import (
	"errors"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// sameBytesTexts returns the texts that differ from text in the last
// character and still decode to the same CID (base32's unused low bits).
func sameBytesTexts(t *testing.T, text string) []string {
	t.Helper()
	want := mustCID(t, text)
	var out []string
	for _, ch := range "abcdefghijklmnopqrstuvwxyz234567" {
		alt := text[:len(text)-1] + string(ch)
		if c, err := cid.Decode(alt); alt != text && err == nil && c.Equals(want) {
			out = append(out, alt)
		}
	}
	return out
}

// One package has one MRI: a base32 CID whose last character differs in
// the unused bits only decodes to the same bytes, and Parse refuses it.
func TestParseRefusesNonCanonicalCID(t *testing.T) {
	h, _ := mh.Sum([]byte("a peer key"), mh.SHA2_256, -1)
	hashedPeer := cid.NewCidV1(cid.Libp2pKey, h).String()
	for _, text := range []string{cidV1, rawCID, hashedPeer} {
		alts := sameBytesTexts(t, text)
		if len(alts) == 0 {
			t.Fatalf("%s: no non-canonical variant to test", text)
		}
		for _, alt := range alts {
			s := "myco://" + alt + "/docs"
			m, err := Parse(s)
			if err == nil {
				t.Errorf("Parse(%q) = %q, want an error (canonical %s)", s, m, text)
				continue
			}
			if !errors.Is(err, ErrBadCID) || !strings.Contains(err.Error(), text) {
				t.Errorf("Parse(%q): %v; want ErrBadCID naming %s", s, err, text)
			}
			if _, err := ParseCID(alt); err == nil {
				t.Errorf("ParseCID(%q) accepted it", alt)
			}
		}
		if _, err := Parse("myco://" + text + "/docs"); err != nil {
			t.Errorf("canonical %s refused: %v", text, err)
		}
		if c, err := ParseCID(text); err != nil || c.String() != text {
			t.Errorf("ParseCID(%s) = %v, %v", text, c, err)
		}
	}
	for _, ok := range []string{cidV0, strings.ToUpper(cidV1[:1]) + strings.ToUpper(cidV1[1:]), peerID} {
		if _, err := Parse("myco://" + ok + "/docs"); err != nil {
			t.Errorf("Parse(%s): %v", ok, err)
		}
	}
}

// FuzzCanonicalCID changes the last character of a CID's text: whatever
// Parse accepts is the canonical text, so the MRI prints as it was given.
func FuzzCanonicalCID(f *testing.F) {
	for i, c := range "aqz7" {
		f.Add([]byte("pkg"), byte(c), uint8(i))
	}
	codecs := []uint64{cid.DagCBOR, cid.Raw, cid.DagProtobuf, cid.Libp2pKey}
	f.Fuzz(func(t *testing.T, data []byte, last byte, which uint8) {
		h, err := mh.Sum(data, mh.SHA2_256, -1)
		if err != nil {
			t.Fatal(err)
		}
		text := cid.NewCidV1(codecs[int(which)%len(codecs)], h).String()
		text = text[:len(text)-1] + string([]byte{last})
		m, err := Parse("myco://" + text + "/x")
		if err != nil {
			return
		}
		if got := m.String(); got != "myco://"+text+"/x" {
			t.Fatalf("Parse accepted %q but names it %q", text, got)
		}
	})
}
