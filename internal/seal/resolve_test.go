package seal_test

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pixieauth/pixie/internal/seal"
	"github.com/zalando/go-keyring"
)

const testEnv = "PIXIE_TEST_STORE_KEY"

// sources prepares every key source for a Resolver test: fills >0 put that key in
// the variable, the keyring and the key file; 0 leaves the source empty.
// keyringDown makes the keyring fail instead.
type sources struct {
	env, keyring, file byte
	keyringDown        bool
}

func (s sources) resolver(tb testing.TB) seal.Resolver {
	tb.Helper()
	encode := func(fill byte) string { return base64.StdEncoding.EncodeToString(keyBytes(fill)) }
	if s.env > 0 {
		tb.Setenv(testEnv, encode(s.env))
	} else {
		tb.Setenv(testEnv, "")
	}
	if s.keyringDown {
		keyring.MockInitWithError(errors.New("no session bus"))
	} else {
		keyring.MockInit()
	}
	tb.Cleanup(keyring.MockInit)
	if s.keyring > 0 {
		if err := keyring.Set("pixie-test", "store", encode(s.keyring)); err != nil {
			tb.Fatal(err)
		}
	}
	file := filepath.Join(tb.TempDir(), "pixie", "store.key")
	if s.file > 0 {
		if err := os.Mkdir(filepath.Dir(file), 0o700); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(encode(s.file)+"\n"), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return seal.Resolver{Env: testEnv, KeyringService: "pixie-test", KeyringUser: "store", File: file}
}

func TestResolveOrder(t *testing.T) {
	for _, tc := range []struct {
		name     string
		src      sources
		skip     func(*seal.Resolver)
		wantKind seal.SourceKind
		wantKey  byte
		skipped  int
	}{
		{"env first", sources{env: 1, keyring: 2, file: 3}, nil, seal.SourceEnv, 1, 0},
		{"keyring second", sources{keyring: 2, file: 3}, nil, seal.SourceKeyring, 2, 0},
		{"file third", sources{file: 3}, nil, seal.SourceFile, 3, 0},
		{"env skipped", sources{env: 1, keyring: 2}, func(r *seal.Resolver) { r.Env = "" }, seal.SourceKeyring, 2, 0},
		{"keyring skipped", sources{keyring: 2, file: 3}, func(r *seal.Resolver) { r.KeyringService = "" }, seal.SourceFile, 3, 0},
		{"keyring down", sources{file: 3, keyringDown: true}, nil, seal.SourceFile, 3, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.src.resolver(t)
			if tc.skip != nil {
				tc.skip(&r)
			}
			ks, src, err := r.Resolve()
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if got, want := src.Kind, tc.wantKind; got != want {
				t.Errorf("source = %s, want %s", got, want)
			}
			if got, want := ks.Current(), mustKey(t, tc.wantKey).ID(); got != want {
				t.Errorf("key id = %s, want %s", got, want)
			}
			if got, want := len(src.Skipped), tc.skipped; got != want {
				t.Errorf("len(Skipped) = %d (%v), want %d", got, src.Skipped, want)
			}
			if src.Created {
				t.Error("Created = true for an existing key")
			}
		})
	}
}

func TestResolveCreate(t *testing.T) {
	t.Run("in the keyring when it answers", func(t *testing.T) {
		r := sources{}.resolver(t)
		r.Create = true
		ks, src, err := r.Resolve()
		if err != nil {
			t.Fatalf("Resolve: %v", err)
		}
		if src.Kind != seal.SourceKeyring || !src.Created {
			t.Errorf("source = %v, want a created keyring entry", src)
		}
		if _, err := os.Stat(r.File); err == nil {
			t.Error("a key file was created although the keyring holds the key")
		}
		again, src, err := r.Resolve()
		if err != nil || src.Created || again.Current() != ks.Current() {
			t.Errorf("second Resolve = %v, %v, %v; want the same key, not created", again, src, err)
		}
	})
	t.Run("in the file when the keyring is down", func(t *testing.T) {
		r := sources{keyringDown: true}.resolver(t)
		r.Create = true
		ks, src, err := r.Resolve()
		if err != nil {
			t.Fatalf("Resolve: %v", err)
		}
		if src.Kind != seal.SourceFile || !src.Created || len(src.Skipped) != 1 {
			t.Errorf("source = %v (skipped %v), want a created key file and one skipped source", src, src.Skipped)
		}
		if got, want := src.String(), "key file "+r.File+" (created)"; got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
		fromFile, err := seal.FromFile(r.File)
		if err != nil || fromFile.Current() != ks.Current() {
			t.Errorf("FromFile = %v, %v; want the resolved key", fromFile, err)
		}
	})
	t.Run("nowhere", func(t *testing.T) {
		r := sources{keyringDown: true}.resolver(t)
		r.Create, r.File = true, ""
		_, _, err := r.Resolve()
		if !errors.Is(err, seal.ErrNoKey) || !errors.Is(err, seal.ErrKeyringUnavailable) {
			t.Errorf("err = %v, want ErrNoKey with the keyring's error", err)
		}
	})
}

func TestResolveStopsAtBadSource(t *testing.T) {
	t.Run("malformed variable", func(t *testing.T) {
		r := sources{keyring: 2}.resolver(t)
		t.Setenv(testEnv, "short")
		if _, _, err := r.Resolve(); !errors.Is(err, seal.ErrInvalidKey) {
			t.Errorf("err = %v, want ErrInvalidKey", err)
		}
	})
	t.Run("invalid keyring entry", func(t *testing.T) {
		r := sources{file: 3}.resolver(t)
		if err := keyring.Set("pixie-test", "store", "short"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.Resolve(); !errors.Is(err, seal.ErrInvalidKey) {
			t.Errorf("err = %v, want ErrInvalidKey", err)
		}
	})
	t.Run("insecure key file", func(t *testing.T) {
		skipOnWindows(t)
		r := sources{file: 3}.resolver(t)
		r.Create = true
		if err := os.Chmod(r.File, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.Resolve(); !errors.Is(err, seal.ErrInsecureKeyFile) {
			t.Errorf("err = %v, want ErrInsecureKeyFile", err)
		}
	})
}

func TestResolveNoKey(t *testing.T) {
	t.Run("none found", func(t *testing.T) {
		r := sources{}.resolver(t)
		_, src, err := r.Resolve()
		if !errors.Is(err, seal.ErrNoKey) {
			t.Fatalf("err = %v, want ErrNoKey", err)
		}
		for _, want := range []string{testEnv, "pixie-test/store", r.File} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not list %s", err, want)
			}
		}
		if got, want := src.String(), "no key source"; got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	})
	t.Run("zero resolver", func(t *testing.T) {
		if _, _, err := (seal.Resolver{}).Resolve(); !errors.Is(err, seal.ErrNoKey) {
			t.Errorf("err = %v, want ErrNoKey", err)
		}
	})
}

func TestSourceString(t *testing.T) {
	for _, tc := range []struct {
		src  seal.Source
		want string
	}{
		{seal.Source{Kind: seal.SourceEnv, Name: "PIXIE_STORE_KEY"}, "environment variable PIXIE_STORE_KEY"},
		{seal.Source{Kind: seal.SourceKeyring, Name: "pixie/store", Created: true}, "OS keyring entry pixie/store (created)"},
	} {
		if got := tc.src.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestResolveKeyringHangs(t *testing.T) {
	r := sources{file: 3}.resolver(t)
	seal.UseKeyringBackend(t, newHangingKeyring(t))
	r.KeyringTimeout = time.Millisecond
	ks, src, err := r.Resolve()
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if got, want := ks.Current(), mustKey(t, 3).ID(); src.Kind != seal.SourceFile || got != want {
		t.Errorf("Resolve = key %s from %v, want key %s from the key file", got, src, want)
	}
	if len(src.Skipped) != 1 || !errors.Is(src.Skipped[0], seal.ErrKeyringTimeout) {
		t.Errorf("Skipped = %v, want the keyring timeout", src.Skipped)
	}
}
