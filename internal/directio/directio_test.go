package directio

import "testing"

func TestBytes(t *testing.T) {
	for _, n := range []int{0, 1, 4095, 4096, 1 << 20} {
		b := Bytes(n)
		if len(b) != n || cap(b) != n || (n > 0 && !IsAligned(b)) {
			t.Errorf("Bytes(%d): len %d cap %d aligned %v", n, len(b), cap(b), IsAligned(b))
		}
	}
	if b := Bytes(8192); IsAligned(b[1:]) {
		t.Error("an offset slice reported aligned")
	}
}
