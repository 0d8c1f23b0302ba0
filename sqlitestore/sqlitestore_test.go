package sqlitestore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/seal"
	"github.com/pixieauth/pixie/sqlitestore"
	"github.com/pixieauth/pixie/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) pixie.Store {
		return mustOpen(t, filepath.Join(t.TempDir(), "tokens.db"), sqlitestore.WithKeySet(newKeySet(t)))
	})
}

// TestSharedFile runs the conformance suite on two Stores that share one file, as
// two processes would: every call alternates between them.
func TestSharedFile(t *testing.T) {
	storetest.Run(t, func(t *testing.T) pixie.Store {
		path := filepath.Join(t.TempDir(), "tokens.db")
		keys := newKeySet(t)
		return &alternating{stores: [2]pixie.Store{
			mustOpen(t, path, sqlitestore.WithKeySet(keys)),
			mustOpen(t, path, sqlitestore.WithKeySet(keys)),
		}}
	})
}

// alternating sends each call to the next of its stores in turn.
type alternating struct {
	stores [2]pixie.Store
	next   atomic.Uint64
}

func (a *alternating) store() pixie.Store { return a.stores[a.next.Add(1)%2] }

func (a *alternating) Load(ctx context.Context, key string) (*pixie.Token, uint64, error) {
	return a.store().Load(ctx, key)
}

func (a *alternating) Save(ctx context.Context, key string, tok *pixie.Token, version uint64) (uint64, error) {
	return a.store().Save(ctx, key, tok, version)
}

func (a *alternating) Delete(ctx context.Context, key string) error {
	return a.store().Delete(ctx, key)
}

func (a *alternating) Lock(ctx context.Context, key string, ttl time.Duration) (pixie.Lease, error) {
	return a.store().Lock(ctx, key, ttl)
}

func TestNoPlaintextOnDisk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.db")
	s := mustOpen(t, path, sqlitestore.WithKeySet(newKeySet(t)))
	tok := &pixie.Token{
		AccessToken:  pixie.NewSecret("access-" + rand.Text()),
		RefreshToken: pixie.NewSecret("refresh-" + rand.Text()),
		IDToken:      pixie.NewSecret("id-" + rand.Text()),
		Extra:        map[string]any{"extra": "extra-" + rand.Text()},
	}
	secrets := []string{tok.AccessToken.Reveal(), tok.RefreshToken.Reveal(), tok.IDToken.Reveal(), tok.Extra["extra"].(string)}
	v := storetest.MustSave(t, s, "work", tok, 0)
	storetest.MustSave(t, s, "work", tok, v)
	check := func(when string, files ...string) {
		t.Helper()
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) == 0 {
				t.Errorf("%s: %s is empty; the test reads nothing", when, f)
			}
			for i, secret := range secrets {
				if bytes.Contains(b, []byte(secret)) {
					t.Errorf("%s: %s holds secret %d in the clear", when, filepath.Base(f), i)
				}
			}
			if bytes.Contains(b, []byte(`"at"`)) {
				t.Errorf("%s: %s holds a plaintext token record", when, filepath.Base(f))
			}
		}
	}
	check("open", path, path+"-wal")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check("closed", path)
}

func TestForeignFilesRefused(t *testing.T) {
	foreignDB := func(t *testing.T, path string) {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine')"); err != nil {
			t.Fatal(err)
		}
	}
	emptyDB := func(t *testing.T, path string) {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec("PRAGMA user_version = 7"); err != nil {
			t.Fatal(err)
		}
	}
	writeFile := func(b []byte) func(*testing.T, string) {
		return func(t *testing.T, path string) {
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	garbage := make([]byte, 8192)
	rand.Read(garbage)
	for _, tc := range []struct {
		name, want string
		make       func(*testing.T, string)
	}{
		{"other application's SQLite", "is not a pixie token store (an SQLite database of another application", foreignDB},
		{"SQLite database without tables", "is not a pixie token store (an SQLite database of another application", emptyDB},
		{"random bytes", "is not a pixie token store (not an SQLite database)", writeFile(garbage)},
		{"text", "is not a pixie token store (not an SQLite database)", writeFile([]byte("access_token=abc\n"))},
		{"truncated SQLite header", "is not a pixie token store (not an SQLite database)", writeFile([]byte("SQLite format 3\x00\x10\x00"))},
		{"empty file", "is an empty file, not a pixie token store", writeFile(nil)},
		{"newer schema", "newer than this pixie reads", newerStore},
		{"corrupt store", "is a corrupt pixie token store", corruptStore},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tokens.db")
			tc.make(t, path)
			if err := os.Chmod(path, 0o600); err != nil {
				t.Fatal(err)
			}
			before := mustRead(t, path)
			s, err := sqlitestore.Open(path, sqlitestore.WithKeySet(newKeySet(t)))
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("Open error = %q, want it to name the file and say %q", err, tc.want)
			}
			if !bytes.Equal(mustRead(t, path), before) {
				t.Error("Open changed the file")
			}
			for _, suffix := range []string{"-wal", "-shm", "-journal"} {
				if _, err := os.Stat(path + suffix); err == nil {
					t.Errorf("Open left a %s file beside the refused one", suffix)
				}
			}
		})
	}
}

// newerStore makes a store and then marks it as a schema newer than this pixie's.
func newerStore(t *testing.T, path string) {
	mustOpen(t, path, sqlitestore.WithKeySet(newKeySet(t))).Close()
	b := mustRead(t, path)
	b[63]++ // user_version, big-endian at offset 60 of the header
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// corruptStore makes a store holding tokens and then overwrites its second page,
// a table's b-tree.
func corruptStore(t *testing.T, path string) {
	s := mustOpen(t, path, sqlitestore.WithKeySet(newKeySet(t)))
	for _, k := range storetest.OddKeys {
		storetest.MustSave(t, s, k, storetest.Token(k), 0)
	}
	s.Close()
	b := mustRead(t, path)
	pageSize := int(b[16])<<8 | int(b[17])
	if len(b) < 3*pageSize {
		t.Fatalf("store is %d bytes, want at least 3 pages of %d", len(b), pageSize)
	}
	copy(b[pageSize:2*pageSize], bytes.Repeat([]byte{0xa5}, pageSize))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestWrongKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.db")
	k1, k2 := newKey(t), newKey(t)
	s := mustOpen(t, path, sqlitestore.WithKeySet(mustKeySet(t, k1)))
	storetest.MustSave(t, s, "work", storetest.Token("a"), 0)
	s.Close()

	s = mustOpen(t, path, sqlitestore.WithKeySet(mustKeySet(t, k2)))
	_, _, err := s.Load(t.Context(), "work")
	if !errors.Is(err, seal.ErrUnknownKey) || errors.Is(err, pixie.ErrNotFound) {
		t.Fatalf("Load with the wrong key: err = %v, want ErrUnknownKey", err)
	}
	for _, want := range []string{k1.ID().String(), seal.EnvVar, `"work"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), k1.Reveal()) || strings.Contains(err.Error(), k2.Reveal()) {
		t.Error("error shows a key")
	}
	// The record is intact: the right key still opens it.
	s.Close()
	s = mustOpen(t, path, sqlitestore.WithKeySet(mustKeySet(t, k1)))
	tok, _ := storetest.MustLoad(t, s, "work")
	storetest.Equal(t, tok, storetest.Token("a"))
}

func TestRecordBoundToKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.db")
	s := mustOpen(t, path, sqlitestore.WithKeySet(newKeySet(t)))
	storetest.MustSave(t, s, "alice", storetest.Token("alice"), 0)
	storetest.MustSave(t, s, "mallory", storetest.Token("mallory"), 0)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("UPDATE tokens SET sealed = (SELECT sealed FROM tokens WHERE key = CAST('alice' AS BLOB)) WHERE key = CAST('mallory' AS BLOB)"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Load(t.Context(), "mallory"); !errors.Is(err, seal.ErrCorrupt) {
		t.Errorf("Load of a record holding another key's blob: err = %v, want ErrCorrupt", err)
	}
}

func TestKeyRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.db")
	oldKey, newKey := newKey(t), newKey(t)
	s := mustOpen(t, path, sqlitestore.WithKeySet(mustKeySet(t, oldKey)))
	for _, k := range []string{"a", "b", "c"} {
		storetest.MustSave(t, s, k, storetest.Token(k), 0)
	}
	s.Close()

	rotated := mustKeySet(t, newKey, oldKey)
	s = mustOpen(t, path, sqlitestore.WithKeySet(rotated))
	tok, v := storetest.MustLoad(t, s, "a")
	storetest.Equal(t, tok, storetest.Token("a"))
	storetest.MustSave(t, s, "a", storetest.Token("a2"), v) // re-sealed with the new key
	n, err := s.Reseal(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n, 2; got != want {
		t.Errorf("Reseal rewrote %d records, want %d (b and c)", got, want)
	}
	_, vb := storetest.MustLoad(t, s, "b")
	if n, err := s.Reseal(t.Context()); err != nil || n != 0 {
		t.Errorf("second Reseal = %d, %v; want 0, nil", n, err)
	}
	s.Close()

	s = mustOpen(t, path, sqlitestore.WithKeySet(mustKeySet(t, newKey)))
	tok, _ = storetest.MustLoad(t, s, "a")
	storetest.Equal(t, tok, storetest.Token("a2"))
	for _, k := range []string{"b", "c"} {
		tok, _ := storetest.MustLoad(t, s, k)
		storetest.Equal(t, tok, storetest.Token(k))
	}
	// Resealing kept the version, so a writer that loaded before it still saves.
	storetest.MustSave(t, s, "b", storetest.Token("b2"), vb)
}

func TestKeySource(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens.db")
	keyFile := filepath.Join(dir, "store.key")
	r := seal.Resolver{File: keyFile, Create: true}

	s := mustOpen(t, path, sqlitestore.WithResolver(r))
	if got, want := s.KeySource(), (seal.Source{Kind: seal.SourceFile, Name: keyFile, Created: true}); got.Kind != want.Kind || got.Name != want.Name || !got.Created {
		t.Errorf("KeySource of a new store = %v, want %v", got, want)
	}
	storetest.MustSave(t, s, "k", storetest.Token("k"), 0)
	s.Close()

	s = mustOpen(t, path, sqlitestore.WithResolver(r))
	if got := s.KeySource(); got.Kind != seal.SourceFile || got.Created {
		t.Errorf("KeySource on reopening = %v, want the existing key file", got)
	}
	storetest.MustLoad(t, s, "k")
	s.Close()

	keys, err := seal.FromFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PIXIE_TEST_STORE_KEY", string(mustRead(t, keyFile)))
	s = mustOpen(t, path, sqlitestore.WithResolver(seal.Resolver{Env: "PIXIE_TEST_STORE_KEY", File: keyFile}))
	if got := s.KeySource(); got.Kind != seal.SourceEnv || got.Name != "PIXIE_TEST_STORE_KEY" {
		t.Errorf("KeySource = %v, want the environment variable", got)
	}
	storetest.MustLoad(t, s, "k")
	s.Close()

	// A lost key is an error for an existing store: no new key is made for it.
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	_, err = sqlitestore.Open(path, sqlitestore.WithResolver(r))
	if !errors.Is(err, seal.ErrNoKey) || !strings.Contains(err.Error(), "no key to open the token store") {
		t.Errorf("Open without its key: err = %v, want ErrNoKey", err)
	}
	if _, err := os.Stat(keyFile); err == nil {
		t.Error("Open created a new key for an existing store")
	}

	s = mustOpen(t, path, sqlitestore.WithKeySet(keys))
	if got := s.KeySource(); got.Kind != "" {
		t.Errorf("KeySource with WithKeySet = %v, want the zero Source", got)
	}
	storetest.MustLoad(t, s, "k")
}

func TestDefaultResolver(t *testing.T) {
	if got, want := sqlitestore.DefaultResolver("/d/tokens.db").File, filepath.FromSlash("/d/store.key"); got != want {
		t.Errorf("DefaultResolver key file = %q, want %q", got, want)
	}
}

func TestOpenEmptyPath(t *testing.T) {
	if _, err := sqlitestore.Open(""); err == nil {
		t.Error("Open(\"\") succeeded")
	}
}

func TestOddPaths(t *testing.T) {
	for _, name := range []string{"a b.db", "q?x=1.db", "h#1.db", "p%20.db", "ünï🔑.db"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			keys := newKeySet(t)
			s := mustOpen(t, path, sqlitestore.WithKeySet(keys))
			storetest.MustSave(t, s, "k", storetest.Token("k"), 0)
			s.Close()
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("the store is not at its path: %v", err)
			}
			s = mustOpen(t, path, sqlitestore.WithKeySet(keys))
			tok, _ := storetest.MustLoad(t, s, "k")
			storetest.Equal(t, tok, storetest.Token("k"))
		})
	}
}

func mustOpen(tb testing.TB, path string, opts ...sqlitestore.Option) *sqlitestore.Store {
	tb.Helper()
	s, err := sqlitestore.Open(path, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func newKey(tb testing.TB) seal.Key {
	tb.Helper()
	k, err := seal.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func mustKeySet(tb testing.TB, current seal.Key, older ...seal.Key) *seal.KeySet {
	tb.Helper()
	ks, err := seal.NewKeySet(current, older...)
	if err != nil {
		tb.Fatal(err)
	}
	return ks
}

func newKeySet(tb testing.TB) *seal.KeySet { return mustKeySet(tb, newKey(tb)) }

func TestWithKeys(t *testing.T) {
	dir := t.TempDir()
	key := strings.Repeat("ab", 32) // 32 bytes in hex
	s, err := sqlitestore.Open(filepath.Join(dir, "tokens.db"), sqlitestore.WithKeys(key))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.MustSave(t, s, "k", storetest.Token("at"), 0)
	if _, err := sqlitestore.Open(filepath.Join(dir, "other.db"), sqlitestore.WithKeys("not-a-key")); err == nil || strings.Contains(err.Error(), "not-a-key") {
		t.Errorf("Open with a malformed key: %v; want an error that does not echo the key", err)
	}
}
