package seal_test

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/pixieauth/pixie/internal/seal"
)

// urlKey is a key whose base64 uses both '-' and '_' in the URL alphabet (and '+'
// and '/' in the standard one), so the two alphabets are really exercised.
var urlKey = []byte{0xfb, 0xff, 0xbf, 0xfb, 0xef, 0xbe, 0xfa, 0xfb, 0xff, 0xbf, 0xfb, 0xef, 0xbe, 0xfa, 0xfb, 0xff,
	0xbf, 0xfb, 0xef, 0xbe, 0xfa, 0xfb, 0xff, 0xbf, 0xfb, 0xef, 0xbe, 0xfa, 0xfb, 0xff, 0xbf, 0xfb}

func TestFromEnvEncodings(t *testing.T) {
	want, err := seal.NewKey(urlKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{
		"base64 std padded":   base64.StdEncoding.EncodeToString(urlKey),
		"base64 std unpadded": base64.RawStdEncoding.EncodeToString(urlKey),
		"base64 url padded":   base64.URLEncoding.EncodeToString(urlKey),
		"base64 url unpadded": base64.RawURLEncoding.EncodeToString(urlKey),
		"hex lower":           hex.EncodeToString(urlKey),
		"hex upper":           strings.ToUpper(hex.EncodeToString(urlKey)),
		"surrounding space":   "  " + hex.EncodeToString(urlKey) + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("PIXIE_TEST_KEY", v)
			ks, err := seal.FromEnv("PIXIE_TEST_KEY")
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			if got, want := ks.Current(), want.ID(); got != want {
				t.Errorf("Current() = %s, want %s", got, want)
			}
		})
	}
}

func TestFromEnvRotationList(t *testing.T) {
	k1, k2, k3 := keyBytes(1), keyBytes(2), keyBytes(3)
	v := base64.StdEncoding.EncodeToString(k1) + ", " + hex.EncodeToString(k2) + "\n" + base64.RawURLEncoding.EncodeToString(k3)
	t.Setenv("PIXIE_TEST_KEY", v)
	ks, err := seal.FromEnv("PIXIE_TEST_KEY")
	if err != nil {
		t.Fatalf("FromEnv: %v", err)
	}
	ids := ks.IDs()
	if got, want := len(ids), 3; got != want {
		t.Fatalf("len(IDs) = %d, want %d", got, want)
	}
	for i, fill := range []byte{1, 2, 3} {
		if got, want := ids[i], mustKey(t, fill).ID(); got != want {
			t.Errorf("IDs()[%d] = %s, want %s", i, got, want)
		}
	}
	if got, want := ks.Current(), mustKey(t, 1).ID(); got != want {
		t.Errorf("Current() = %s, want the first key %s", got, want)
	}
}

func TestFromEnvErrors(t *testing.T) {
	good := base64.StdEncoding.EncodeToString(keyBytes(1))
	for _, tc := range []struct {
		name     string
		value    string
		want     error
		contains string
	}{
		{"empty", "", seal.ErrNoKey, "PIXIE_TEST_KEY is not set"},
		{"only separators", " , \n", seal.ErrNoKey, "no key in the text"},
		{"16 bytes base64", base64.StdEncoding.EncodeToString(make([]byte, 16)), seal.ErrInvalidKey, "24 characters"},
		{"33 bytes hex", hex.EncodeToString(make([]byte, 33)), seal.ErrInvalidKey, "66 characters"},
		{"garbage", "hunter2", seal.ErrInvalidKey, "openssl rand -base64 32"},
		{"64 characters not hex", strings.Repeat("g", 64), seal.ErrInvalidKey, "not hex"},
		{"44 characters not base64", strings.Repeat("*", 44), seal.ErrInvalidKey, "not base64"},
		{"44 characters without padding", strings.Repeat("A", 44), seal.ErrInvalidKey, "not base64"},
		{"mixed alphabets", "+" + base64.RawURLEncoding.EncodeToString(urlKey)[1:], seal.ErrInvalidKey, "not base64"},
		{"non-canonical base64", good[:42] + "B=", seal.ErrInvalidKey, "not base64"},
		{"second key bad", good + ",AAAA", seal.ErrInvalidKey, "key 2 of 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PIXIE_TEST_KEY", tc.value)
			_, err := seal.FromEnv("PIXIE_TEST_KEY")
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), "PIXIE_TEST_KEY") || !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q should name the variable and say %q", err, tc.contains)
			}
		})
	}
}

func TestFromEnvUnset(t *testing.T) {
	if _, err := seal.FromEnv("PIXIE_TEST_NO_SUCH_VARIABLE"); !errors.Is(err, seal.ErrNoKey) {
		t.Errorf("err = %v, want ErrNoKey", err)
	}
}
