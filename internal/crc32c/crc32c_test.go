package crc32c

import "testing"

func TestSum(t *testing.T) {
	// The check value of CRC-32C (RFC 3720, B.4): "123456789".
	if got := Sum([]byte("123456789")); got != 0xe3069283 {
		t.Fatalf("Sum = %08x, want e3069283", got)
	}
}
