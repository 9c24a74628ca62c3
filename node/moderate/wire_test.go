package moderate

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/myconet/myconet/moderation"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
)

func testPackageCID(t testing.TB, s string) cid.Cid {
	t.Helper()
	mh, err := multihash.Sum([]byte(s), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return cid.NewCidV1(cid.DagCBOR, mh)
}

func TestModRequestRoundTrip(t *testing.T) {
	c := testPackageCID(t, "p")
	for _, req := range []modRequest{
		{Op: modOpVote, Target: c, Record: []byte{1, 2, 3}},
		{Op: modOpAnnotate, Target: c, Record: bytes.Repeat([]byte{7}, moderation.MaxAnnotationSize)},
		{Op: modOpTally, Target: c},
		{Op: modOpVotes, Target: c},
		{Op: modOpAnnotations, Target: c},
	} {
		b, err := req.encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeModRequest(b[2:])
		if err != nil || got.Op != req.Op || !got.Target.Equals(c) || !bytes.Equal(got.Record, req.Record) {
			t.Fatalf("op %d: %+v, %v", req.Op, got, err)
		}
	}
	for _, bad := range []modRequest{
		{Op: modOpVote, Target: c},                                   // no record
		{Op: modOpTally, Target: c, Record: []byte{1}},               // unexpected record
		{Op: 9, Target: c},                                           // unknown op
		{Op: modOpTally},                                             // no target
		{Op: modOpVote, Target: c, Record: make([]byte, maxModBody)}, // oversized
	} {
		if _, err := bad.encode(); !errors.Is(err, errModMalformed) {
			t.Errorf("%+v: %v", bad.Op, err)
		}
	}
}

func TestModRecordsRoundTrip(t *testing.T) {
	recs := [][]byte{{1}, bytes.Repeat([]byte{2}, 300), {3, 3}}
	got, err := decodeRecords(appendRecords(nil, recs), 10, 1024)
	if err != nil || len(got) != 3 || !bytes.Equal(got[1], recs[1]) {
		t.Fatalf("%v %v", got, err)
	}
	b := appendRecords(nil, recs)
	for _, bad := range [][]byte{b[:len(b)-1], append(b, 0), b[:3], appendRecords(nil, [][]byte{{}})} {
		if _, err := decodeRecords(bad, 10, 1024); !errors.Is(err, errModMalformed) {
			t.Errorf("%x: %v", bad, err)
		}
	}
	if _, err := decodeRecords(b, 2, 1024); err == nil {
		t.Error("more records than allowed accepted")
	}
}

func FuzzModRequest(f *testing.F) {
	c := testPackageCID(f, "p")
	for _, req := range []modRequest{{Op: modOpVote, Target: c, Record: []byte{1}}, {Op: modOpTally, Target: c},
		{Op: modOpRetract, Target: c, Record: make([]byte, 5000)}, {Op: modOpRetraction, Target: c}} {
		b, _ := req.encode()
		f.Add(b[2:])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := decodeModRequest(b)
		if err != nil {
			return
		}
		enc, err := req.encode()
		if err != nil {
			t.Fatalf("decoded request does not encode: %v", err)
		}
		if !bytes.Equal(enc[2:], b) {
			t.Fatalf("not canonical: %x → %x", b, enc[2:])
		}
	})
}

func FuzzModVotesPayload(f *testing.F) {
	c := testPackageCID(f, "p")
	_, priv, _ := ed25519.GenerateKey(nil)
	v, _ := moderation.NewVote(priv, c, moderation.ChoiceKeep, "r", time.Unix(1e9, 0), 1)
	poll := moderation.NewPoll(c, 0)
	poll.Add(v)
	tl, _ := moderation.NewTally(priv, poll, time.Unix(1e9, 0))
	tb, _ := tl.Encode()
	vb, _ := v.Encode()
	f.Add(appendRecords(tb, [][]byte{vb}))
	f.Add(appendRecords(nil, [][]byte{vb}))
	f.Fuzz(func(t *testing.T, b []byte) {
		tl, votes, err := decodeVotesPayload(b)
		if err != nil {
			return
		}
		// What decodes is re-encoded to the same bytes.
		tb, err := tl.Encode()
		if err != nil {
			t.Fatal(err)
		}
		var recs [][]byte
		for _, v := range votes {
			vb, err := v.Encode()
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, vb)
		}
		if !bytes.Equal(appendRecords(tb, recs), b) {
			t.Fatal("not canonical")
		}
		_ = moderation.Recount(tl, votes, 1, time.Unix(1e9, 0)) // must not panic
	})
}

func FuzzModAnnotationsPayload(f *testing.F) {
	c := testPackageCID(f, "p")
	_, priv, _ := ed25519.GenerateKey(nil)
	a, _ := moderation.NewAnnotation(priv, moderation.Annotation{Target: c, Tags: []string{"x"}}, time.Unix(1e9, 0), 1)
	ab, _ := a.Encode()
	f.Add(appendRecords(nil, [][]byte{ab, ab}))
	f.Fuzz(func(t *testing.T, b []byte) {
		anns, err := decodeAnnotationsPayload(b)
		if err != nil {
			return
		}
		_ = moderation.Summarize(c, anns) // must not panic
	})
}

// TestAggregatorPersistsAndRejects runs an offline node as an aggregator:
// what it counts survives a restart, and every kind of bad vote is refused,
// logged and counted under its reason.
func TestAggregatorPersistsAndRejects(t *testing.T) {
	home := t.TempDir()
	mc := config.DefaultConfig().Moderation
	mc.PowBits = 8
	_, key, _ := ed25519.GenerateKey(nil)
	m, closeStore := testService(t, home, key, mc, nil)
	c := testPackageCID(t, "pkg")
	other := testPackageCID(t, "other")
	now := time.Now()
	mk := func(priv ed25519.PrivateKey, target cid.Cid, ch moderation.Choice, at time.Time, bits int) []byte {
		v, err := moderation.NewVote(priv, target, ch, "", at, bits)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := v.Encode()
		return b
	}
	var keys []ed25519.PrivateKey
	for range 3 {
		_, k, _ := ed25519.GenerateKey(nil)
		keys = append(keys, k)
	}
	first := mk(keys[0], c, moderation.ChoiceKeep, now.Add(-time.Minute), 8)
	for i, rec := range [][]byte{first, mk(keys[1], c, moderation.ChoiceRemove, now, 8), mk(keys[2], c, moderation.ChoiceRemove, now, 8)} {
		if res, err := m.acceptVote("", c, rec); err != nil || res != "added" {
			t.Fatalf("vote %d: %s %v", i, res, err)
		}
	}
	// keys[0] changes its mind.
	if res, err := m.acceptVote("", c, mk(keys[0], c, moderation.ChoiceRemove, now, 8)); err != nil || res != "replaced" {
		t.Fatalf("replacement: %s %v", res, err)
	}
	tampered := mk(keys[1], c, moderation.ChoiceKeep, now, 8)
	tampered[len(tampered)-1] ^= 1
	lowWork := mk(keys[1], c, moderation.ChoiceKeep, now, 0)
	for i := 1; workOfEnc(t, lowWork) >= 8; i++ {
		lowWork = mk(keys[1], c, moderation.ChoiceKeep, now.Add(time.Duration(i)), 0)
	}
	for _, b := range []struct {
		rec    []byte
		target cid.Cid
		reason string
	}{
		{tampered, c, "bad_signature"},
		{lowWork, c, "low_pow"},
		{mk(keys[1], other, moderation.ChoiceKeep, now, 8), c, "wrong_package"},
		{mk(keys[1], c, moderation.ChoiceKeep, now.Add(time.Hour), 8), c, "future"},
		{first, c, "superseded"},
		{make([]byte, 2000), c, "oversized"},
		{[]byte("junk"), c, "malformed"},
	} {
		if _, err := m.acceptVote("", b.target, b.rec); err == nil || rejectReason(err) != b.reason {
			t.Errorf("%s: %v (%s)", b.reason, err, rejectReason(err))
		}
		if got := m.Stats().Rejected["vote/"+b.reason]; got != 1 {
			t.Errorf("rejected vote/%s counted %d times", b.reason, got)
		}
	}
	// No age limit on votes: an old vote of a voter whose later vote is
	// counted is superseded, not counted again.
	if _, err := m.acceptVote("", c, mk(keys[1], c, moderation.ChoiceKeep, now.Add(-25*time.Hour), 8)); err == nil || rejectReason(err) != "superseded" {
		t.Errorf("old vote: %v", err)
	}
	last := mk(keys[2], c, moderation.ChoiceRemove, now, 8)
	if _, err := m.acceptVote("", c, last); err == nil || rejectReason(err) != "duplicate" {
		t.Errorf("duplicate: %v", err)
	}
	before, err := m.signTally(c)
	if err != nil || before.Keep != 0 || before.Remove != 3 {
		t.Fatalf("tally: %+v %v", before, err)
	}
	closeStore()

	m, _ = testService(t, home, key, mc, nil)
	after, err := m.signTally(c)
	if err != nil || after.Keep != 0 || after.Remove != 3 || after.Digest != before.Digest {
		t.Fatalf("after restart: %+v %v", after, err)
	}
	payload, err := m.votesPayload(c)
	if err != nil {
		t.Fatal(err)
	}
	tl, votes, err := decodeVotesPayload(payload)
	if err != nil {
		t.Fatal(err)
	}
	if err := moderation.Recount(tl, votes, 8, time.Now()); err != nil {
		t.Fatalf("recount after restart: %v", err)
	}
	// Offline, only local rules decide; a deny withholds with a reason.
	if m.Withheld(c) {
		t.Fatal("withheld with no rule and no network")
	}
	if _, err := m.db.ModRules(); err != nil {
		t.Fatal(err)
	}
	if err := m.db.SetModRule(c.String(), false, false); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	m.rules = nil // reload
	m.mu.Unlock()
	if err := m.WithheldErr(t.Context(), c); !errors.Is(err, apitype.ErrWithheld) || !strings.Contains(err.Error(), "deny list") {
		t.Fatalf("deny: %v", err)
	}
}

func workOfEnc(t *testing.T, b []byte) int {
	v, err := moderation.DecodeVote(b)
	if err != nil {
		t.Fatal(err)
	}
	return v.Work()
}
