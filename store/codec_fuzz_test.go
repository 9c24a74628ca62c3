package store

import (
	"bytes"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

func testCID(s string) cid.Cid {
	h, _ := mh.Sum([]byte(s), mh.SHA2_256, -1)
	return cid.NewCidV1(cid.Raw, h)
}

func FuzzDecodePins(f *testing.F) {
	root := testCID("root")
	f.Add(encodePins([]Pin{{Reason: ReasonLocal, Name: "x", Created: time.Unix(1, 2), Size: 5}}))
	f.Add(encodePins([]Pin{{Reason: ReasonLocal}, {Reason: ReasonCache, Accessed: time.Unix(9, 0)}}))
	f.Add([]byte{1, 200})
	f.Fuzz(func(t *testing.T, p []byte) {
		pins, err := decodePins(root, p)
		if err != nil {
			return
		}
		e := encodePins(pins)
		pins2, err := decodePins(root, e)
		if err != nil || !bytes.Equal(encodePins(pins2), e) {
			t.Fatalf("pins do not round-trip: %x (%v)", p, err)
		}
	})
}

func FuzzDecodePackage(f *testing.F) {
	f.Add(encodePackage(PackageRecord{CID: testCID("a"), Content: testCID("b"), Title: "t", Kind: "video", Size: 1, Files: 2, Publisher: []byte{3}, Added: time.Unix(5, 0)}))
	f.Add(encodePackage(PackageRecord{}))
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := decodePackage(p)
		if err != nil {
			return
		}
		r2, err := decodePackage(encodePackage(r))
		if err != nil || !r2.CID.Equals(r.CID) || !r2.Content.Equals(r.Content) || r2.Title != r.Title ||
			r2.Kind != r.Kind || r2.Size != r.Size || r2.Files != r.Files || !bytes.Equal(r2.Publisher, r.Publisher) || !r2.Added.Equal(r.Added) {
			t.Fatalf("package does not round-trip: %+v vs %+v (%v)", r, r2, err)
		}
	})
}

func FuzzDecodeBookmark(f *testing.F) {
	f.Add(encodeBookmark(Bookmark{Target: "mri:x", Created: time.Unix(7, 0)}))
	f.Add(encodeBookmark(Bookmark{Target: "mri:x", Created: time.Unix(7, 0), Follow: true}))
	f.Add(encodeBookmark(Bookmark{Target: "mri:x", Created: time.Unix(7, 0), Follow: true,
		Resolved: testCID("p"), ResolvedAt: time.Unix(9, 0)}))
	f.Fuzz(func(t *testing.T, p []byte) {
		b, err := decodeBookmark("n", p)
		if err != nil {
			return
		}
		b2, err := decodeBookmark("n", encodeBookmark(b))
		if err != nil || b2.Target != b.Target || !b2.Created.Equal(b.Created) || b2.Follow != b.Follow ||
			!b2.Resolved.Equals(b.Resolved) || !b2.ResolvedAt.Equal(b.ResolvedAt) {
			t.Fatalf("bookmark does not round-trip: %x (%v)", p, err)
		}
	})
}

func FuzzDecodeUsage(f *testing.F) {
	f.Add(encodeUsage(usageRecord{Blocks: 3, Bytes: 1 << 40}))
	f.Fuzz(func(t *testing.T, p []byte) {
		u, err := decodeUsage(p)
		if err != nil {
			return
		}
		u2, err := decodeUsage(encodeUsage(u))
		if err != nil || u2 != u {
			t.Fatalf("usage does not round-trip: %x (%v)", p, err)
		}
	})
}
