package moderate

import (
	"bytes"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/myconet/myconet/moderation"
)

// FuzzRetractBundle: a bundle from the network never panics the decoder,
// and what decodes encodes back to the same bytes.
func FuzzRetractBundle(f *testing.F) {
	c := testPackageCID(f, "p")
	_, priv, _ := ed25519.GenerateKey(nil)
	r, err := moderation.NewRetraction(priv, c, "oops", time.Unix(1e9, 0))
	if err != nil {
		f.Fatal(err)
	}
	rec, _ := r.Encode()
	f.Add(encodeRetractBundle(rec, []byte("root block bytes")))
	f.Add(encodeRetractBundle(rec, nil))
	f.Add([]byte{0, 1, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, root, err := decodeRetractBundle(b)
		if err != nil {
			return
		}
		rec, err := r.Encode()
		if err != nil {
			t.Fatalf("decoded retraction does not encode: %v", err)
		}
		if got := encodeRetractBundle(rec, root); len(b) <= maxModRetract-4-maxModCID && !bytes.Equal(got, b) {
			t.Fatalf("not canonical: %x → %x", b, got)
		}
	})
}
