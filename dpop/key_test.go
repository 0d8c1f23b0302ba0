package dpop_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/pixieauth/pixie/dpop"
)

func TestThumbprint(t *testing.T) {
	for _, tc := range []struct{ name, file, alg, want string }{
		// RFC 7638 section 3.1: the thumbprint of the RSA key of RFC 7517
		// appendix A.1, whose private form is in appendix A.2.
		{"RFC 7638 RSA example", "rfc7517-a2-rsa.json", "RS256", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"},
		// The EC private key of RFC 7517 appendix A.2; the thumbprint is the
		// base64url SHA-256 of
		// {"crv":"P-256","kty":"EC","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}
		// (RFC 7638 section 3.2).
		{"RFC 7517 EC example", "rfc7517-a2-ec.json", "ES256", "cn-I_WNMClehiVp51i_0VpOENW1upEerA8sEam5hn-s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := loadKey(t, tc.file)
			if got := k.Thumbprint(); got != tc.want {
				t.Errorf("Thumbprint() = %s, want %s", got, tc.want)
			}
			if got := k.Algorithm(); got != tc.alg {
				t.Errorf("Algorithm() = %s, want %s", got, tc.alg)
			}
			p := mustProof(t, k, "GET", "https://rs.example/", "")
			if got := thumbprint(t, p.header.JSONWebKey); got != tc.want {
				t.Errorf("proof jwk thumbprint = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestMarshalPrivateJWKRoundTrip(t *testing.T) {
	for alg, signer := range signers(t) {
		t.Run(string(alg), func(t *testing.T) {
			k, err := dpop.NewKeyFrom(signer)
			if err != nil {
				t.Fatal(err)
			}
			b, err := k.MarshalPrivateJWK()
			if err != nil {
				t.Fatal(err)
			}
			var members map[string]any
			if err := json.Unmarshal(b, &members); err != nil {
				t.Fatal(err)
			}
			if got, want := members["alg"], string(alg); got != want {
				t.Errorf("alg = %v, want %s", got, want)
			}
			if _, ok := members["d"]; !ok {
				t.Error("the private JWK has no d")
			}
			back, err := dpop.UnmarshalPrivateJWK(b)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := back.Thumbprint(), k.Thumbprint(); got != want {
				t.Errorf("restored Thumbprint() = %s, want %s", got, want)
			}
			if got, want := back.Algorithm(), k.Algorithm(); got != want {
				t.Errorf("restored Algorithm() = %s, want %s", got, want)
			}
			p := mustProof(t, back, "POST", "https://as.example/token", "")
			if got, want := thumbprint(t, p.header.JSONWebKey), k.Thumbprint(); got != want {
				t.Errorf("restored key's proof jwk thumbprint = %s, want %s", got, want)
			}
		})
	}
}

func TestUnmarshalPrivateJWKErrors(t *testing.T) {
	ec := loadKey(t, "rfc7517-a2-ec.json")
	priv, err := ec.MarshalPrivateJWK()
	if err != nil {
		t.Fatal(err)
	}
	var members map[string]any
	if err := json.Unmarshal(priv, &members); err != nil {
		t.Fatal(err)
	}
	with := func(key string, value any) []byte {
		m := make(map[string]any)
		for k, v := range members {
			m[k] = v
		}
		if value == nil {
			delete(m, key)
		} else {
			m[key] = value
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"not JSON", []byte("not json"), "not a valid JWK"},
		{"public key", with("d", nil), "public key"},
		{"alg mismatch", with("alg", "ES384"), "alg is ES384"},
		{"symmetric", []byte(`{"kty":"oct","k":"c2VjcmV0LWtleS1ieXRlcy0xMjM0NTY3ODkwMTIzNDU2"}`), "not a private signing key"},
		{"unknown curve", with("crv", "P-999"), "not a valid JWK"},
		// RFC 7517's EC key with the first character of d changed.
		{"mismatched pair", with("d", "970MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE"), "does not match its public key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := dpop.UnmarshalPrivateJWK(tc.data)
			if err == nil {
				t.Fatalf("UnmarshalPrivateJWK = %v, want an error", k)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if d, _ := members["d"].(string); strings.Contains(err.Error(), d) {
				t.Errorf("error %q reveals the private key", err)
			}
		})
	}
}

// customSigner is a crypto.Signer of a type NewKeyFrom does not know.
type customSigner struct{ crypto.Signer }

func TestNewKeyFromRefuses(t *testing.T) {
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		key  crypto.Signer
		want string
	}{
		{"nil", nil, "nil"},
		{"nil ECDSA", (*ecdsa.PrivateKey)(nil), "nil"},
		{"nil RSA", (*rsa.PrivateKey)(nil), "nil"},
		{"P-224", p224, "P-224 is not supported"},
		{"RSA 1024", small, "1024 bits"},
		{"short Ed25519", ed25519.PrivateKey(make([]byte, 10)), "must be 64 bytes"},
		{"unknown type", customSigner{p256}, "unsupported private key type dpop_test.customSigner"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := dpop.NewKeyFrom(tc.key)
			if err == nil {
				t.Fatalf("NewKeyFrom = %v, want an error", k)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestNewKeyFromEd25519Pointer(t *testing.T) {
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	byValue, err := dpop.NewKeyFrom(ed)
	if err != nil {
		t.Fatal(err)
	}
	byPointer, err := dpop.NewKeyFrom(&ed)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := byPointer.Thumbprint(), byValue.Thumbprint(); got != want {
		t.Errorf("Thumbprint() = %s, want %s", got, want)
	}
	mustProof(t, byPointer, "GET", "https://rs.example/", "")
}

func TestRedaction(t *testing.T) {
	k := loadKey(t, "rfc7517-a2-ec.json")
	const d = "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE"
	jkt := k.Thumbprint()
	check := func(t *testing.T, what, out string) {
		t.Helper()
		if strings.Contains(out, d) || strings.Contains(out, "870MB6") {
			t.Errorf("%s shows the private key: %s", what, out)
		}
		if !strings.Contains(out, jkt) {
			t.Errorf("%s = %s, want the thumbprint %s", what, out, jkt)
		}
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		t.Run(verb, func(t *testing.T) {
			check(t, verb+" of *Key", fmt.Sprintf(verb, k))
			check(t, verb+" of Key", fmt.Sprintf(verb, *k))
			check(t, verb+" in a struct", fmt.Sprintf(verb, struct{ K *dpop.Key }{k}))
		})
	}
	t.Run("unexported field", func(t *testing.T) {
		for _, verb := range []string{"%v", "%+v", "%#v"} {
			out := fmt.Sprintf(verb, struct{ k dpop.Key }{*k})
			if strings.Contains(out, d) || strings.Contains(out, "870MB6") {
				t.Errorf("%s shows the private key: %s", verb, out)
			}
		}
	})
	t.Run("GoString", func(t *testing.T) {
		if got, want := fmt.Sprintf("%#v", k), `dpop.Key{alg: "ES256", jkt: "`+jkt+`", private: [redacted]}`; got != want {
			t.Errorf("%%#v = %s, want %s", got, want)
		}
	})
	t.Run("slog", func(t *testing.T) {
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("key", "dpop", k)
		check(t, "slog JSON", buf.String())
		buf.Reset()
		slog.New(slog.NewTextHandler(&buf, nil)).Info("key", "dpop", *k)
		check(t, "slog text", buf.String())
	})
	t.Run("json", func(t *testing.T) {
		b, err := json.Marshal(map[string]any{"ptr": k, "val": *k})
		if err != nil {
			t.Fatal(err)
		}
		check(t, "json", string(b))
	})
	t.Run("text", func(t *testing.T) {
		b, err := k.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		check(t, "MarshalText", string(b))
	})
	t.Run("MarshalPrivateJWK is the way out", func(t *testing.T) {
		b, err := k.MarshalPrivateJWK()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(d)) {
			t.Errorf("MarshalPrivateJWK = %s, want the private key", b)
		}
	})
}
