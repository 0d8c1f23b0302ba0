package sqlitesession_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pixieauth/pixie/internal/seal"
	"github.com/pixieauth/pixie/internal/testenv"
	"github.com/pixieauth/pixie/web/sessiontest"
	"github.com/pixieauth/pixie/web/sqlitesession"
)

func TestConformance(t *testing.T) {
	sessiontest.Run(t, func(t *testing.T, now func() time.Time) sessiontest.Harness {
		path := filepath.Join(t.TempDir(), "sessions.db")
		s, err := sqlitesession.Open(path, sqlitesession.WithKeys(testenv.StoreKey(t)), sqlitesession.WithClock(now))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return sessiontest.Harness{Store: s, Dump: func(t *testing.T) []byte {
			var all []byte
			for _, suffix := range []string{"", "-wal"} {
				b, err := os.ReadFile(path + suffix)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				all = append(all, b...)
			}
			return all
		}}
	})
}

// TestKeyFile checks that a new store makes a 0600 key file beside itself,
// that reopening uses it, and that a store whose key is gone is refused.
func TestKeyFile(t *testing.T) {
	t.Setenv(seal.EnvVar, "")
	dir := t.TempDir()
	path := filepath.Join(dir, "sessions.db")
	s, err := sqlitesession.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	fi, err := os.Stat(filepath.Join(dir, sqlitesession.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("key file mode = %04o, want 0600", got)
	}
	s, err = sqlitesession.Open(path)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	s.Close()
	os.Remove(filepath.Join(dir, sqlitesession.KeyFileName))
	if _, err := sqlitesession.Open(path); err == nil || !strings.Contains(err.Error(), seal.EnvVar) {
		t.Errorf("Open without the key: %v; want an error naming %s", err, seal.EnvVar)
	}
}

// TestRefusesForeignFile checks that a file that is not a session store is
// refused and left as it was.
func TestRefusesForeignFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(path, []byte("my notes, not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlitesession.Open(path, sqlitesession.WithKeys(testenv.StoreKey(t))); err == nil || !strings.Contains(err.Error(), "not a pixie session store") {
		t.Errorf("Open(foreign file) = %v; want a refusal", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "my notes, not a database" {
		t.Error("the foreign file was changed")
	}
}
