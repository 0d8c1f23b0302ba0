//go:build unix

package sqlitestore_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pixieauth/pixie/sqlitestore"
	"github.com/pixieauth/pixie/storetest"
)

func TestFileModes(t *testing.T) {
	// A permissive umask shows that the modes come from the store, not the umask.
	defer syscall.Umask(syscall.Umask(0))
	dir := filepath.Join(t.TempDir(), "pixie", "home")
	path := filepath.Join(dir, "tokens.db")
	keys := newKeySet(t)
	s := mustOpen(t, path, sqlitestore.WithKeySet(keys))
	storetest.MustSave(t, s, "k", storetest.Token("k"), 0)
	for file, want := range map[string]os.FileMode{
		dir:               0o700 | os.ModeDir,
		filepath.Dir(dir): 0o700 | os.ModeDir,
		path:              0o600,
		path + "-wal":     0o600,
		path + "-shm":     0o600,
	} {
		fi, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode(); got != want {
			t.Errorf("%s has mode %v, want %v", file, got, want)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".new-") {
			t.Errorf("creating the store left %s behind", e.Name())
		}
	}
	s.Close()

	for _, file := range []string{path, path + "-wal"} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			f, err := os.OpenFile(file, os.O_CREATE|os.O_RDONLY, 0o600) // the -wal file is gone after Close
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			if err := os.Chmod(file, 0o640); err != nil {
				t.Fatal(err)
			}
			defer os.Chmod(file, 0o600)
			before := mustRead(t, path)
			_, err = sqlitestore.Open(path, sqlitestore.WithKeySet(keys))
			if err == nil || !strings.Contains(err.Error(), "chmod 600 "+file) || !strings.Contains(err.Error(), "0640") {
				t.Errorf("Open with %s readable by its group: err = %v, want the mode and the chmod that fixes it", filepath.Base(file), err)
			}
			if string(mustRead(t, path)) != string(before) {
				t.Error("Open changed the refused store")
			}
		})
	}
}
