package seal_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pixieauth/pixie/internal/seal"
)

func TestSealOpenRoundTrip(t *testing.T) {
	ks := mustKeySet(t, 1)
	for _, tc := range []struct {
		name      string
		plaintext []byte
		ad        []byte
	}{
		{"empty", nil, []byte("github/default")},
		{"no associated data", []byte(`{"access_token":"at"}`), nil},
		{"token record", bytes.Repeat([]byte("x"), 1024), []byte("google/ada@example.com")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sealed := mustSeal(t, ks, tc.plaintext, tc.ad)
			if got, want := len(sealed), len(tc.plaintext)+seal.Overhead; got != want {
				t.Errorf("len(sealed) = %d, want %d", got, want)
			}
			if len(tc.plaintext) > 0 && bytes.Contains(sealed, tc.plaintext) {
				t.Error("sealed blob contains the plaintext")
			}
			got, err := ks.Open(sealed, tc.ad)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, tc.plaintext) {
				t.Errorf("Open = %q, want %q", got, tc.plaintext)
			}
			id, err := seal.KeyIDOf(sealed)
			if err != nil {
				t.Fatalf("KeyIDOf: %v", err)
			}
			if got, want := id, ks.Current(); got != want {
				t.Errorf("KeyIDOf = %s, want %s", got, want)
			}
		})
	}
}

func TestSealUsesFreshNonces(t *testing.T) {
	ks := mustKeySet(t, 1)
	a := mustSeal(t, ks, []byte("token"), []byte("ad"))
	b := mustSeal(t, ks, []byte("token"), []byte("ad"))
	if bytes.Equal(a, b) {
		t.Error("sealing the same record twice gave the same blob; nonces repeat")
	}
}

func TestOpenAssociatedDataMismatch(t *testing.T) {
	ks := mustKeySet(t, 1)
	sealed := mustSeal(t, ks, []byte("refresh token"), []byte("github/ada"))
	for _, ad := range []string{"github/bob", "github/ad", "github/ada ", ""} {
		t.Run(ad, func(t *testing.T) {
			_, err := ks.Open(sealed, []byte(ad))
			if !errors.Is(err, seal.ErrCorrupt) {
				t.Errorf("Open with associated data %q: err = %v, want ErrCorrupt", ad, err)
			}
		})
	}
}

// TestOpenTamperedEveryByte flips each bit of every byte of a small blob in turn:
// every change must be detected, with the error that names what was hit.
func TestOpenTamperedEveryByte(t *testing.T) {
	ks := mustKeySet(t, 1)
	ad := []byte("record")
	sealed := mustSeal(t, ks, []byte("tok"), ad)
	for i := range sealed {
		for bit := range 8 {
			tampered := bytes.Clone(sealed)
			tampered[i] ^= 1 << bit
			_, err := ks.Open(tampered, ad)
			var want error
			switch {
			case i == 0:
				want = seal.ErrVersion
			case i < 9:
				want = seal.ErrUnknownKey
			default:
				want = seal.ErrCorrupt
			}
			if !errors.Is(err, want) {
				t.Fatalf("byte %d bit %d flipped: err = %v, want %v", i, bit, err, want)
			}
		}
	}
}

func TestOpenTruncated(t *testing.T) {
	ks := mustKeySet(t, 1)
	ad := []byte("record")
	sealed := mustSeal(t, ks, []byte("token"), ad)
	for n := range len(sealed) {
		_, err := ks.Open(sealed[:n], ad)
		want := seal.ErrCorrupt
		if n < seal.Overhead {
			want = seal.ErrTruncated
		}
		if !errors.Is(err, want) {
			t.Errorf("Open(first %d of %d bytes): err = %v, want %v", n, len(sealed), err, want)
		}
	}
}

func TestOpenUnknownKey(t *testing.T) {
	sealed := mustSeal(t, mustKeySet(t, 1), []byte("token"), nil)
	other := mustKeySet(t, 2, 3)
	_, err := other.Open(sealed, nil)
	if !errors.Is(err, seal.ErrUnknownKey) {
		t.Fatalf("err = %v, want ErrUnknownKey", err)
	}
	id, _ := seal.KeyIDOf(sealed)
	if got, want := err.Error(), id.String(); !strings.Contains(got, want) {
		t.Errorf("error %q does not name the blob's key id %s", got, want)
	}
	var uk *seal.UnknownKeyError
	if !errors.As(err, &uk) || uk.ID != id || len(uk.Configured) != 2 {
		t.Errorf("err = %#v, want an UnknownKeyError with id %s and the 2 keys configured", err, id)
	}
}

func TestOpenUnsupportedVersion(t *testing.T) {
	ks := mustKeySet(t, 1)
	sealed := mustSeal(t, ks, []byte("token"), nil)
	sealed[0] = 2
	if _, err := ks.Open(sealed, nil); !errors.Is(err, seal.ErrVersion) {
		t.Errorf("err = %v, want ErrVersion", err)
	}
	if _, err := seal.KeyIDOf([]byte(`{"access_token":"plain JSON"}`)); !errors.Is(err, seal.ErrVersion) {
		t.Errorf("KeyIDOf(unsealed JSON): err = %v, want ErrVersion", err)
	}
}

func TestRotation(t *testing.T) {
	ad := []byte("github/ada")
	old := mustKeySet(t, 1)
	sealedOld := mustSeal(t, old, []byte("token"), ad)

	rotated, err := old.Rotate(mustKey(t, 2))
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if got, want := rotated.Current(), mustKey(t, 2).ID(); got != want {
		t.Errorf("Current after Rotate = %s, want %s", got, want)
	}
	if got, want := old.Current(), mustKey(t, 1).ID(); got != want {
		t.Errorf("Rotate changed the original set: Current = %s, want %s", got, want)
	}
	if got, want := len(rotated.IDs()), 2; got != want {
		t.Errorf("len(IDs) = %d, want %d", got, want)
	}

	t.Run("old record opens", func(t *testing.T) {
		got, err := rotated.Open(sealedOld, ad)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if string(got) != "token" {
			t.Errorf("Open = %q, want %q", got, "token")
		}
	})
	t.Run("new records use the new key", func(t *testing.T) {
		id, err := seal.KeyIDOf(mustSeal(t, rotated, []byte("token"), ad))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := id, rotated.Current(); got != want {
			t.Errorf("KeyIDOf(new blob) = %s, want %s", got, want)
		}
	})
	t.Run("reseal moves old records to the new key", func(t *testing.T) {
		resealed, changed, err := rotated.Reseal(sealedOld, ad)
		if err != nil {
			t.Fatalf("Reseal: %v", err)
		}
		if !changed {
			t.Error("Reseal of an old record reported no change")
		}
		id, _ := seal.KeyIDOf(resealed)
		if got, want := id, rotated.Current(); got != want {
			t.Errorf("resealed key id = %s, want %s", got, want)
		}
		got, err := rotated.Open(resealed, ad)
		if err != nil || string(got) != "token" {
			t.Errorf("Open(resealed) = %q, %v; want %q", got, err, "token")
		}
		again, changed, err := rotated.Reseal(resealed, ad)
		if err != nil || changed || !bytes.Equal(again, resealed) {
			t.Errorf("Reseal of a current record = changed %v, err %v; want it unchanged", changed, err)
		}
	})
	t.Run("reseal refuses a record of another key", func(t *testing.T) {
		if _, _, err := rotated.Reseal(sealedOld, []byte("github/bob")); !errors.Is(err, seal.ErrCorrupt) {
			t.Errorf("Reseal with other associated data: err = %v, want ErrCorrupt", err)
		}
	})
	t.Run("retired key no longer opens", func(t *testing.T) {
		if _, err := mustKeySet(t, 2).Open(sealedOld, ad); !errors.Is(err, seal.ErrUnknownKey) {
			t.Errorf("err = %v, want ErrUnknownKey", err)
		}
	})
}

func TestNewKeySet(t *testing.T) {
	t.Run("duplicates kept once", func(t *testing.T) {
		ks := mustKeySet(t, 1, 2, 1, 2)
		if got, want := len(ks.IDs()), 2; got != want {
			t.Errorf("len(IDs) = %d, want %d", got, want)
		}
	})
	t.Run("zero current key", func(t *testing.T) {
		if _, err := seal.NewKeySet(seal.Key{}); !errors.Is(err, seal.ErrNoKey) {
			t.Errorf("err = %v, want ErrNoKey", err)
		}
	})
	t.Run("zero older key", func(t *testing.T) {
		if _, err := seal.NewKeySet(mustKey(t, 1), seal.Key{}); !errors.Is(err, seal.ErrNoKey) {
			t.Errorf("err = %v, want ErrNoKey", err)
		}
	})
	t.Run("nil set", func(t *testing.T) {
		var ks *seal.KeySet
		if _, err := ks.Seal([]byte("x"), nil); !errors.Is(err, seal.ErrNoKey) {
			t.Errorf("Seal: err = %v, want ErrNoKey", err)
		}
		if _, err := ks.Open([]byte("x"), nil); !errors.Is(err, seal.ErrNoKey) {
			t.Errorf("Open: err = %v, want ErrNoKey", err)
		}
	})
}

func TestNewKeyLength(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := seal.NewKey(make([]byte, n)); !errors.Is(err, seal.ErrInvalidKey) {
			t.Errorf("NewKey(%d bytes): err = %v, want ErrInvalidKey", n, err)
		}
	}
}

func TestKeyID(t *testing.T) {
	a, b := mustKey(t, 1), mustKey(t, 1)
	if a.ID() != b.ID() {
		t.Error("the same key bytes gave two ids")
	}
	if a.ID() == mustKey(t, 2).ID() {
		t.Error("two keys share an id")
	}
	if got, want := len(a.ID().String()), 16; got != want {
		t.Errorf("len(ID().String()) = %d, want %d", got, want)
	}
	if strings.Contains(a.ID().String(), strings.Repeat("01", 8)) {
		t.Error("the key id shows the key's bytes")
	}
}

func TestGenerateKey(t *testing.T) {
	a, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if a.ID() == b.ID() {
		t.Error("two generated keys are the same")
	}
	parsed, err := seal.ParseKeySet(a.Reveal())
	if err != nil {
		t.Fatalf("ParseKeySet(Reveal()): %v", err)
	}
	if got, want := parsed.Current(), a.ID(); got != want {
		t.Errorf("ParseKeySet(Reveal()).Current() = %s, want %s", got, want)
	}
}

// TestEnvelopeFormat builds an envelope by hand from the layout in the package
// documentation. Stored tokens outlive pixie versions, so this layout must not
// change without a new version byte.
func TestEnvelopeFormat(t *testing.T) {
	key := keyBytes(1)
	sum := sha256.Sum256(append([]byte("pixie seal key id v1\x00"), key...))
	header := append([]byte{0x01}, sum[:8]...)
	nonce := bytes.Repeat([]byte{0xa1}, 12)
	ad := []byte("github/ada")
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	sealed := gcm.Seal(append(bytes.Clone(header), nonce...), nonce, []byte("token"), append(bytes.Clone(header), ad...))

	ks := mustKeySet(t, 1)
	if got, want := ks.Current().String(), fmt.Sprintf("%x", sum[:8]); got != want {
		t.Errorf("key id = %s, want %s", got, want)
	}
	got, err := ks.Open(sealed, ad)
	if err != nil {
		t.Fatalf("Open(hand-made envelope): %v", err)
	}
	if string(got) != "token" {
		t.Errorf("Open = %q, want %q", got, "token")
	}
	ours := mustSeal(t, ks, []byte("token"), ad)
	if !bytes.Equal(ours[:9], header) {
		t.Errorf("Seal header = %x, want %x", ours[:9], header)
	}
	if _, err := gcm.Open(nil, ours[9:21], ours[21:], append(bytes.Clone(header), ad...)); err != nil {
		t.Errorf("Seal output does not open by the documented layout: %v", err)
	}
}
