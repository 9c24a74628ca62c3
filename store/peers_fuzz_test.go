package store

import "testing"

func FuzzPeerRecordDecode(f *testing.F) {
	f.Add([]byte(`{"id":"x","addrs":["/ip4/1.2.3.4/tcp/1"],"seen":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, v []byte) {
		r, ok := decodePeer(v)
		if ok && r.ID == "" {
			t.Fatal("accepted a record without an ID")
		}
	})
}

func FuzzChannelRecordDecode(f *testing.F) {
	f.Add([]byte(`{"name":"docs","target":"bafy","seq":3}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, v []byte) {
		if r, ok := decodeChannel(v); ok && r.Name == "" {
			t.Fatal("accepted a record without a name")
		}
	})
}
