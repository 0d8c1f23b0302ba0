package sqlitestore_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/pixieauth/pixie/sqlitestore"
	"github.com/pixieauth/pixie/storetest"
)

func benchStore(b *testing.B) *sqlitestore.Store {
	b.Helper()
	return mustOpen(b, filepath.Join(b.TempDir(), "tokens.db"), sqlitestore.WithKeySet(newKeySet(b)))
}

// BenchmarkLoad measures a read: a query, unsealing and decoding.
func BenchmarkLoad(b *testing.B) {
	s := benchStore(b)
	storetest.MustSave(b, s, "k", storetest.Token("k"), 0)
	for b.Loop() {
		storetest.MustLoad(b, s, "k")
	}
}

// BenchmarkSave measures a durable compare-and-swap, fsync included.
func BenchmarkSave(b *testing.B) {
	s := benchStore(b)
	tok := storetest.Token("k")
	var v uint64
	for b.Loop() {
		v = storetest.MustSave(b, s, "k", tok, v)
	}
}

// BenchmarkLockUnlock measures taking and releasing a free lock.
func BenchmarkLockUnlock(b *testing.B) {
	s := benchStore(b)
	for b.Loop() {
		lease, err := s.Lock(b.Context(), "k", time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		if err := lease.Unlock(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}
