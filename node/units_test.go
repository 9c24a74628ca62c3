package node

import (
	"errors"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"500MB", 500e6, false},
		{"20GB", 20e9, false},
		{"1GiB", 1 << 30, false},
		{"1.5 kb", 1500, false},
		{"4096", 4096, false},
		{"unlimited", 0, false},
		{"", 0, false},
		{"-1GB", 0, true},
		{"lots", 0, true},
		{"1e400", 0, true},
		{"NaN", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			if (err != nil) != tt.err {
				t.Fatalf("ParseSize(%q) err = %v", tt.in, err)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			if got != tt.want {
				t.Fatalf("ParseSize(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
	if r, err := ParseRate("10MB/s"); err != nil || r != 10e6 {
		t.Fatalf("ParseRate = %d, %v", r, err)
	}
}
