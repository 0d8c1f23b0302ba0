package seal_test

import (
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/pixieauth/pixie/internal/seal"
)

// skipOnWindows skips tests of Unix permission bits.
func skipOnWindows(tb testing.TB) {
	tb.Helper()
	if runtime.GOOS == "windows" {
		tb.Skip("Windows files have no Unix permission bits")
	}
}

// writeKeyFile writes content to a new file with mode perm and returns its path.
func writeKeyFile(tb testing.TB, content string, perm os.FileMode) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "store.key")
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // WriteFile's mode is subject to umask
		tb.Fatal(err)
	}
	return path
}

func TestLoadOrCreateFileCreates(t *testing.T) {
	skipOnWindows(t)
	dir := filepath.Join(t.TempDir(), "config", "pixie")
	path := filepath.Join(dir, "store.key")

	ks, created, err := seal.LoadOrCreateFile(path)
	if err != nil {
		t.Fatalf("LoadOrCreateFile: %v", err)
	}
	if !created {
		t.Error("created = false for a new file")
	}
	for _, c := range []struct {
		path string
		want os.FileMode
	}{{path, 0o600}, {dir, 0o700}, {filepath.Dir(dir), 0o700}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != c.want {
			t.Errorf("mode of %s = %04o, want %04o", c.path, got, c.want)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(entries), 1; got != want {
		t.Errorf("directory holds %d entries, want %d (temporary file left behind?)", got, want)
	}

	again, created, err := seal.LoadOrCreateFile(path)
	if err != nil {
		t.Fatalf("second LoadOrCreateFile: %v", err)
	}
	if created {
		t.Error("created = true for an existing file")
	}
	if got, want := again.Current(), ks.Current(); got != want {
		t.Errorf("reloaded key id = %s, want %s", got, want)
	}
	loaded, err := seal.FromFile(path)
	if err != nil {
		t.Fatalf("FromFile: %v", err)
	}
	if got, want := loaded.Current(), ks.Current(); got != want {
		t.Errorf("FromFile key id = %s, want %s", got, want)
	}
}

func TestLoadOrCreateFileConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pixie", "store.key")
	const n = 16
	var (
		wg      sync.WaitGroup
		ids     [n]seal.KeyID
		created [n]bool
		errs    [n]error
	)
	for i := range n {
		wg.Go(func() {
			var ks *seal.KeySet
			ks, created[i], errs[i] = seal.LoadOrCreateFile(path)
			if errs[i] == nil {
				ids[i] = ks.Current()
			}
		})
	}
	wg.Wait()
	creators := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Errorf("goroutine %d got key %s, goroutine 0 got %s", i, ids[i], ids[0])
		}
		if created[i] {
			creators++
		}
	}
	if got, want := creators, 1; got != want {
		t.Errorf("%d callers report creating the key, want %d", got, want)
	}
}

func TestFromFileRefusesOpenModes(t *testing.T) {
	skipOnWindows(t)
	key := base64.StdEncoding.EncodeToString(keyBytes(1)) + "\n"
	for _, perm := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o606} {
		path := writeKeyFile(t, key, perm)
		for name, load := range map[string]func(string) error{
			"FromFile":         func(p string) error { _, err := seal.FromFile(p); return err },
			"LoadOrCreateFile": func(p string) error { _, _, err := seal.LoadOrCreateFile(p); return err },
		} {
			err := load(path)
			if !errors.Is(err, seal.ErrInsecureKeyFile) {
				t.Errorf("%s(mode %04o): err = %v, want ErrInsecureKeyFile", name, perm, err)
				continue
			}
			if !strings.Contains(err.Error(), "chmod 600 "+path) {
				t.Errorf("%s(mode %04o): error %q does not tell the user to chmod 600", name, perm, err)
			}
		}
		if b, _ := os.ReadFile(path); string(b) != key {
			t.Errorf("mode %04o: the refused key file was changed", perm)
		}
	}
}

func TestFromFile(t *testing.T) {
	t.Run("rotation list", func(t *testing.T) {
		content := base64.StdEncoding.EncodeToString(keyBytes(2)) + "\n" + base64.StdEncoding.EncodeToString(keyBytes(1)) + "\n"
		ks, err := seal.FromFile(writeKeyFile(t, content, 0o600))
		if err != nil {
			t.Fatalf("FromFile: %v", err)
		}
		if got, want := len(ks.IDs()), 2; got != want {
			t.Errorf("len(IDs) = %d, want %d", got, want)
		}
		if got, want := ks.Current(), mustKey(t, 2).ID(); got != want {
			t.Errorf("Current() = %s, want %s", got, want)
		}
	})
	t.Run("missing", func(t *testing.T) {
		_, err := seal.FromFile(filepath.Join(t.TempDir(), "none.key"))
		if !errors.Is(err, seal.ErrNoKey) || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("err = %v, want ErrNoKey and fs.ErrNotExist", err)
		}
	})
	t.Run("not a key", func(t *testing.T) {
		path := writeKeyFile(t, "this is not a key\n", 0o600)
		_, err := seal.FromFile(path)
		if !errors.Is(err, seal.ErrInvalidKey) || !strings.Contains(err.Error(), path) {
			t.Errorf("err = %v, want ErrInvalidKey naming %s", err, path)
		}
		if _, _, err := seal.LoadOrCreateFile(path); !errors.Is(err, seal.ErrInvalidKey) {
			t.Errorf("LoadOrCreateFile: err = %v, want ErrInvalidKey, not a replaced key", err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		if _, err := seal.FromFile(writeKeyFile(t, "", 0o600)); !errors.Is(err, seal.ErrNoKey) {
			t.Errorf("err = %v, want ErrNoKey", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		_, err := seal.FromFile(writeKeyFile(t, strings.Repeat("A", 1<<20), 0o600))
		if err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("err = %v, want a size error", err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "store.key")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := seal.FromFile(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("err = %v, want a not-a-regular-file error", err)
		}
	})
}
