package sqlitestore_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pixieauth/pixie/internal/rotest"
	"github.com/pixieauth/pixie/internal/seal"
	"github.com/pixieauth/pixie/sqlitestore"
	"github.com/pixieauth/pixie/storetest"
)

// TestReadOnlyDirectory opens a store whose directory cannot be written: Open
// for writing says the store is read-only (not corrupt, and without advice to
// move it away), and ReadOnly reads it.
func TestReadOnlyDirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens.db")
	keys := newKeySet(t)
	s := mustOpen(t, path, sqlitestore.WithKeySet(keys))
	storetest.MustSave(t, s, "work", storetest.Token("a"), 0)
	s.Close()
	rotest.Dir(t, dir)

	_, err := sqlitestore.Open(path, sqlitestore.WithKeySet(keys))
	if !errors.Is(err, sqlitestore.ErrReadOnly) {
		t.Fatalf("Open a read-only store for writing: err = %v, want ErrReadOnly", err)
	}
	for _, bad := range []string{"corrupt", "move it away"} {
		if strings.Contains(err.Error(), bad) {
			t.Errorf("error %q says %q about a read-only store", err, bad)
		}
	}

	ro := mustOpen(t, path, sqlitestore.WithKeySet(keys), sqlitestore.ReadOnly())
	tok, _ := storetest.MustLoad(t, ro, "work")
	storetest.Equal(t, tok, storetest.Token("a"))
	if _, err := ro.Save(t.Context(), "work", tok, 1); !errors.Is(err, sqlitestore.ErrReadOnly) {
		t.Errorf("Save to a read-only store: err = %v, want ErrReadOnly", err)
	}
}

// TestReadOnlyNoWrites checks that a store opened with ReadOnly refuses every
// write, and that opening a missing one creates nothing.
func TestReadOnlyNoWrites(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "tokens.db")
	if _, err := sqlitestore.Open(path, sqlitestore.WithKeySet(newKeySet(t)), sqlitestore.ReadOnly()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadOnly on a missing store: err = %v, want fs.ErrNotExist", err)
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadOnly created the store's directory (stat: %v)", err)
	}

	keys := newKeySet(t)
	w := mustOpen(t, path, sqlitestore.WithKeySet(keys))
	storetest.MustSave(t, w, "work", storetest.Token("a"), 0)
	ro := mustOpen(t, path, sqlitestore.WithKeySet(keys), sqlitestore.ReadOnly())
	ctx := t.Context()
	if _, err := ro.Save(ctx, "work", storetest.Token("b"), 1); !errors.Is(err, sqlitestore.ErrReadOnly) {
		t.Errorf("Save: err = %v, want ErrReadOnly", err)
	}
	if err := ro.Delete(ctx, "work"); !errors.Is(err, sqlitestore.ErrReadOnly) {
		t.Errorf("Delete: err = %v, want ErrReadOnly", err)
	}
	if _, err := ro.Lock(ctx, "work", time.Second); !errors.Is(err, sqlitestore.ErrReadOnly) {
		t.Errorf("Lock: err = %v, want ErrReadOnly", err)
	}
	if _, err := ro.Reseal(ctx); !errors.Is(err, sqlitestore.ErrReadOnly) {
		t.Errorf("Reseal: err = %v, want ErrReadOnly", err)
	}

	// A reader sees what a writer saves after it opened, through the WAL.
	storetest.MustSave(t, w, "work", storetest.Token("c"), 1)
	tok, v := storetest.MustLoad(t, ro, "work")
	storetest.Equal(t, tok, storetest.Token("c"))
	if v != 2 {
		t.Errorf("version %d, want 2", v)
	}
}

// TestKeys lists every record, those sealed with a key not configured included.
func TestKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.db")
	k1, k2 := newKey(t), newKey(t)
	s := mustOpen(t, path, sqlitestore.WithKeySet(mustKeySet(t, k1)))
	storetest.MustSave(t, s, "old", storetest.Token("a"), 0)
	s.Close()
	s = mustOpen(t, path, sqlitestore.WithKeySet(mustKeySet(t, k2)))
	storetest.MustSave(t, s, "new", storetest.Token("b"), 0)
	keys, err := s.Keys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"new", "old"}; !slices.Equal(keys, want) {
		t.Errorf("Keys = %q, want %q", keys, want)
	}
	_, _, err = s.Load(t.Context(), "old")
	var uk *seal.UnknownKeyError
	if !errors.As(err, &uk) || uk.ID != k1.ID() {
		t.Errorf("Load of a record sealed with another key: err = %v, want an UnknownKeyError naming key %s", err, k1.ID())
	}
}

// TestWrongKeyNamesKeySource checks that the error for a record sealed with
// another key says where the keys in use came from, as WithKeySource names it.
func TestWrongKeyNamesKeySource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.db")
	s := mustOpen(t, path, sqlitestore.WithKeySet(newKeySet(t)))
	storetest.MustSave(t, s, "work", storetest.Token("a"), 0)
	s.Close()
	s = mustOpen(t, path, sqlitestore.WithKeySet(newKeySet(t)), sqlitestore.WithKeySource(seal.Source{Kind: seal.SourceEnv, Name: seal.EnvVar}))
	_, _, err := s.Load(t.Context(), "work")
	if got, want := err.Error(), "keys now from environment variable "+seal.EnvVar; !strings.Contains(got, want) {
		t.Errorf("error %q does not say %q", got, want)
	}
	if got, want := s.KeySource().Name, seal.EnvVar; got != want {
		t.Errorf("KeySource().Name = %q, want %q", got, want)
	}
}
