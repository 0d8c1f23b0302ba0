package seal_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/pixieauth/pixie/internal/seal"
)

// assertNoKey fails if out shows the key made of keyBytes(fill) in any common
// encoding.
func assertNoKey(tb testing.TB, what, out string, fill byte) {
	tb.Helper()
	raw := keyBytes(fill)
	for _, enc := range []string{
		string(raw),
		hex.EncodeToString(raw),
		base64.StdEncoding.EncodeToString(raw),
		base64.RawURLEncoding.EncodeToString(raw),
		fmt.Sprint(raw), // [7 7 7 ...]
		fmt.Sprintf("%#v", raw),
		hex.EncodeToString(raw[:4]),
	} {
		if strings.Contains(out, enc) {
			tb.Errorf("%s shows the key: %q", what, out)
			return
		}
	}
}

func TestKeyRedactedInFmt(t *testing.T) {
	const fill = 0x77
	k := mustKey(t, fill)
	ks := mustKeySet(t, fill)
	type holder struct {
		Public  seal.Key
		private seal.Key
		set     *seal.KeySet
	}
	h := holder{Public: k, private: k, set: ks}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		for name, v := range map[string]any{"Key": k, "*KeySet": ks, "KeySet": *ks, "struct": h, "*struct": &h} {
			out := fmt.Sprintf(verb, v)
			assertNoKey(t, verb+" of "+name, out, fill)
		}
	}
	if got, want := fmt.Sprint(k), "[redacted key "+k.ID().String()+"]"; got != want {
		t.Errorf("Sprint(key) = %q, want %q", got, want)
	}
	if got, want := fmt.Sprintf("%#v", seal.Key{}), "seal.Key{}"; got != want {
		t.Errorf("%%#v of zero key = %q, want %q", got, want)
	}
	if got := fmt.Sprint(ks); !strings.Contains(got, ks.Current().String()) {
		t.Errorf("Sprint(keyset) = %q, want it to name the current key id", got)
	}
}

func TestKeyRedactedInSlogAndJSON(t *testing.T) {
	const fill = 0x5a
	k := mustKey(t, fill)
	ks := mustKeySet(t, fill)
	for name, h := range map[string]func(*bytes.Buffer) slog.Handler{
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			slog.New(h(&buf)).Info("loaded", "key", k, "keys", ks, slog.Any("any", k))
			assertNoKey(t, "slog output", buf.String(), fill)
			if !strings.Contains(buf.String(), "redacted") {
				t.Errorf("slog output %q has no redacted marker", buf.String())
			}
		})
	}
	t.Run("encoding/json", func(t *testing.T) {
		b, err := json.Marshal(map[string]any{"key": k, "keys": []seal.Key{k}})
		if err != nil {
			t.Fatal(err)
		}
		assertNoKey(t, "json.Marshal", string(b), fill)
	})
	t.Run("encoding.TextMarshaler", func(t *testing.T) {
		b, err := k.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(b), k.String(); got != want {
			t.Errorf("MarshalText = %q, want %q", got, want)
		}
	})
}

func TestErrorsNeverShowKeys(t *testing.T) {
	const fill = 0x3c
	raw := keyBytes(fill)
	// A hex key with one bad character, and a valid key among bad ones.
	bad := hex.EncodeToString(raw)[:63] + "z"
	for _, v := range []string{bad, base64.StdEncoding.EncodeToString(raw) + ",nope"} {
		t.Setenv("PIXIE_TEST_KEY", v)
		_, err := seal.FromEnv("PIXIE_TEST_KEY")
		if err == nil {
			t.Fatalf("FromEnv accepted a malformed value")
		}
		assertNoKey(t, "error", err.Error(), fill)
		if strings.Contains(err.Error(), v) || strings.Contains(err.Error(), "nope") {
			t.Errorf("error %q echoes the variable's value", err)
		}
	}
}
