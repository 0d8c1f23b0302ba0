package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/proctest"
	"github.com/pixieauth/pixie/internal/seal"
	"github.com/pixieauth/pixie/sqlitestore"
)

// TestCrashWindows kills processes renewing a token through one store file at
// each step of the renewal, 20 times per step, against a server without and one
// with a rotation grace period (see proctest.RunCrash for what it checks). Each
// step has a file of its own: a child stopped during a save holds the file's
// write lock until it is killed, which would hold up the other steps.
func TestCrashWindows(t *testing.T) {
	skipFleetInShort(t)
	key := newKey(t)
	keys := mustKeySet(t, key)
	dir := t.TempDir()
	proctest.RunCrash(t, proctest.Crash{
		Test: "TestHelperCrashChild",
		Lane: func(tb testing.TB, name string) ([]string, pixie.Store) {
			path := filepath.Join(dir, name+".db")
			st := mustOpen(tb, path, sqlitestore.WithKeySet(keys)) // create it before the children race to
			return []string{pathEnv + "=" + path, seal.EnvVar + "=" + key.Reveal()}, st
		},
		Kills:       20,
		LockTTL:     10 * time.Second,
		KilledLease: time.Second,
		Grace:       time.Minute,
	})
}

// TestHelperCrashChild is the body of TestCrashWindows's child processes; it
// skips unless run as one.
func TestHelperCrashChild(t *testing.T) {
	proctest.CrashChild(t, func() (proctest.CrashStore, error) {
		path := os.Getenv(pathEnv)
		st, err := sqlitestore.Open(path, sqlitestore.WithResolver(seal.Resolver{Env: seal.EnvVar}))
		if err != nil {
			return proctest.CrashStore{}, err
		}
		ws := &writeLockedStore{Store: st, path: path}
		return proctest.CrashStore{Store: ws, ArmDuringSave: func(hook func()) { ws.hook = hook }}, nil
	})
}

// writeLockedStore stops a Save inside SQLite: once armed, its next Save first
// takes SQLite's write lock from a connection of its own, so that the store's
// statement waits for it in SQLite's busy handler, and calls the hook once the
// saving goroutine is there. The statement cannot take effect before the
// process dies. (A kill in the middle of SQLite's writes to its WAL is what
// TestCrash looks for, at random points.)
type writeLockedStore struct {
	*sqlitestore.Store
	path string
	hook func()
}

func (w *writeLockedStore) Save(ctx context.Context, key string, tok *pixie.Token, version uint64) (uint64, error) {
	if w.hook != nil {
		if err := holdWriteLock(ctx, w.path); err != nil {
			proctest.Die(err)
		}
		go func() {
			if err := awaitStack(func(g string) bool {
				return strings.Contains(g, "sqlitestore.(*Store).Save") && strings.Contains(g, "modernc.org/sqlite/lib.")
			}); err != nil {
				proctest.Die(err)
			}
			w.hook()
		}()
	}
	return w.Store.Save(ctx, key, tok, version)
}

// holdWriteLock takes the write lock of the database at path from a new
// connection, and keeps it until the process ends.
func holdWriteLock(ctx context.Context, path string) error {
	u := url.URL{Scheme: "file", Path: path, RawQuery: url.Values{"_pragma": {"busy_timeout(10000)"}}.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, "BEGIN IMMEDIATE")
	return err
}

// awaitStack waits until some goroutine's stack satisfies cond.
func awaitStack(cond func(goroutine string) bool) error {
	buf := make([]byte, 1<<20)
	deadline := time.Now().Add(proctest.AnswerTimeout)
	for time.Now().Before(deadline) {
		n := runtime.Stack(buf, true)
		for g := range strings.SplitSeq(string(buf[:n]), "\n\n") {
			if cond(g) {
				return nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return errors.New("no goroutine reached the awaited point")
}
