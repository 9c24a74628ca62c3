package metadata

import (
	"crypto/ed25519"
	"fmt"
	"reflect"
	"testing"

	"github.com/ipfs/go-cid"
)

func TestFoldTags(t *testing.T) {
	for _, tt := range []struct{ in, want []string }{
		{nil, nil},
		{[]string{"a", "b"}, []string{"a", "b"}},
		{[]string{"Audio", "audio"}, []string{"Audio"}},
		{[]string{"audio", "Music", "AUDIO", "music", "x", "x"}, []string{"audio", "Music", "x"}},
		{[]string{"Ärger", "ärger", "ÄRGER"}, []string{"Ärger"}},
	} {
		if got := FoldTags(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("FoldTags(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	in := []string{"a", "A", "b"}
	FoldTags(in)
	if !reflect.DeepEqual(in, []string{"a", "A", "b"}) {
		t.Errorf("FoldTags changed its input: %q", in)
	}
}

// Tags that repeat up to case (as 64 of 300 Debian AppStream entries do)
// fold into the first spelling instead of refusing the package, even past
// MaxTags before folding.
func TestNewFoldsCaseDuplicateTags(t *testing.T) {
	m := fullMeta(t)
	m.Tags = []string{"Audio", "audio", "Player", "AUDIO", "player"}
	for i := range MaxTags {
		m.Tags = append(m.Tags, fmt.Sprintf("T%d", i%4), fmt.Sprintf("t%d", i%4))
	}
	p := newPackage(t, m)
	want := []string{"Audio", "Player", "T0", "T1", "T2", "T3"}
	if !reflect.DeepEqual(p.Meta.Tags, want) {
		t.Fatalf("tags = %q, want %q", p.Meta.Tags, want)
	}
	enc, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(enc)
	if err != nil || !reflect.DeepEqual(back.Meta.Tags, want) {
		t.Fatalf("decoded tags %v, %v", back, err)
	}
}

// A package signed before tags were folded keeps decoding: its tags differ
// in case only, which was valid then.
func TestDecodeKeepsOldCaseDuplicateTags(t *testing.T) {
	m := fullMeta(t).normalized()
	m.Tags = []string{"Audio", "audio"}
	p := &Package{V: SchemaVersion, Content: testCID(t, cid.DagProtobuf, "content"), Meta: m, Publisher: testKey().Public().(ed25519.PublicKey)}
	msg, err := SigningBytes(p)
	if err != nil {
		t.Fatal(err)
	}
	p.Sig = ed25519.Sign(testKey(), msg)
	enc, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.Verify(); err != nil || !reflect.DeepEqual(back.Meta.Tags, m.Tags) {
		t.Fatalf("tags %q, verify %v", back.Meta.Tags, err)
	}
}
