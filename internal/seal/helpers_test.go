package seal_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/pixieauth/pixie/internal/seal"
	"github.com/zalando/go-keyring"
)

// TestMain swaps the OS keyring for go-keyring's in-memory mock, so no test can
// read or write the keyring of the machine running it.
func TestMain(m *testing.M) {
	keyring.MockInit()
	os.Exit(m.Run())
}

// keyBytes returns a fixed, recognisable 32-byte key: fill repeated.
func keyBytes(fill byte) []byte { return bytes.Repeat([]byte{fill}, seal.KeySize) }

// mustKey returns the key made of keyBytes(fill).
func mustKey(tb testing.TB, fill byte) seal.Key {
	tb.Helper()
	k, err := seal.NewKey(keyBytes(fill))
	if err != nil {
		tb.Fatalf("NewKey: %v", err)
	}
	return k
}

// mustKeySet returns a KeySet whose current key is mustKey(current) and whose
// older keys are mustKey(older...).
func mustKeySet(tb testing.TB, current byte, older ...byte) *seal.KeySet {
	tb.Helper()
	var olds []seal.Key
	for _, o := range older {
		olds = append(olds, mustKey(tb, o))
	}
	ks, err := seal.NewKeySet(mustKey(tb, current), olds...)
	if err != nil {
		tb.Fatalf("NewKeySet: %v", err)
	}
	return ks
}

// mustSeal seals plaintext with ks.
func mustSeal(tb testing.TB, ks *seal.KeySet, plaintext, ad []byte) []byte {
	tb.Helper()
	b, err := ks.Seal(plaintext, ad)
	if err != nil {
		tb.Fatalf("Seal: %v", err)
	}
	return b
}
