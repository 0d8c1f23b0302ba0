package seal_test

import (
	"bytes"
	"testing"
)

// tokenRecord is the size of a typical stored token record with its JWT access
// token, refresh token and metadata.
var tokenRecord = bytes.Repeat([]byte("t"), 1024)

func BenchmarkSeal(b *testing.B) {
	ks := mustKeySet(b, 1)
	ad := []byte("github/ada@example.com")
	b.SetBytes(int64(len(tokenRecord)))
	b.ReportAllocs()
	for b.Loop() {
		mustSeal(b, ks, tokenRecord, ad)
	}
}

func BenchmarkOpen(b *testing.B) {
	ks := mustKeySet(b, 1)
	ad := []byte("github/ada@example.com")
	sealed := mustSeal(b, ks, tokenRecord, ad)
	b.SetBytes(int64(len(tokenRecord)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ks.Open(sealed, ad); err != nil {
			b.Fatal(err)
		}
	}
}
