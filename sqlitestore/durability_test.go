package sqlitestore_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/pixieauth/pixie/sqlitestore"
)

// TestDurabilityPragmas reads back, on every connection the store may use at
// once, that SQLite runs the store in WAL mode with synchronous=FULL: a
// transaction is in the WAL and fsynced when Save returns, so a power loss
// cannot take back a saved token (https://www.sqlite.org/pragma.html#pragma_synchronous).
// With synchronous=NORMAL, the WAL default, a power loss may undo the last saves.
func TestDurabilityPragmas(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "tokens.db"), sqlitestore.WithKeySet(newKeySet(t)))
	db := sqlitestore.DB(s)
	n := db.Stats().MaxOpenConnections
	if n <= 0 {
		t.Fatal("the store's connection pool is unbounded; the test cannot hold every connection")
	}
	conns := make([]*sql.Conn, n) // held at once, so each is a different connection
	for i := range conns {
		c, err := db.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	for i, c := range conns {
		var mode string
		var sync int
		if err := c.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" {
			t.Errorf("connection %d: journal_mode = %s, want wal", i+1, mode)
		}
		if sync != 2 { // 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA
			t.Errorf("connection %d: synchronous = %d, want 2 (FULL)", i+1, sync)
		}
	}
}
