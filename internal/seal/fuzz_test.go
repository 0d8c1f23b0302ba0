package seal_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/pixieauth/pixie/internal/seal"
)

// FuzzOpen feeds arbitrary blobs and associated data to Open. It must never panic,
// every failure must be one of the documented errors, and anything that opens must
// be a real envelope of the fuzz key set. The seed corpus in
// testdata/fuzz/FuzzOpen holds valid blobs (sealed with keys 1 and 2 below, which
// are keyBytes(1) and keyBytes(2)) and broken ones.
func FuzzOpen(f *testing.F) {
	ks := mustKeySet(f, 1, 2)
	f.Fuzz(func(t *testing.T, sealed, ad []byte) {
		plain, err := ks.Open(sealed, ad)
		if err != nil {
			for _, want := range []error{seal.ErrTruncated, seal.ErrVersion, seal.ErrUnknownKey, seal.ErrCorrupt} {
				if errors.Is(err, want) {
					return
				}
			}
			t.Fatalf("Open: undocumented error %v", err)
		}
		if got, want := len(sealed), len(plain)+seal.Overhead; got != want {
			t.Errorf("opened a %d-byte blob into %d bytes; want overhead %d", got, len(plain), seal.Overhead)
		}
		resealed, changed, err := ks.Reseal(sealed, ad)
		if err != nil {
			t.Fatalf("Reseal of an opened blob: %v", err)
		}
		again, err := ks.Open(resealed, ad)
		if err != nil || !bytes.Equal(again, plain) || changed == bytes.Equal(resealed, sealed) {
			t.Errorf("Reseal round trip = %q, changed %v, %v; want %q", again, changed, err, plain)
		}
	})
}
