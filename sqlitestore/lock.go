package sqlitestore

import (
	"context"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/sqlitedb"
)

// Lock implements [pixie.Store.Lock]. The lock is a row in the locks table naming
// a random owner and an expiry (the wall clock plus ttl); it is taken by one
// SQLite write statement, which inserts the row or takes over an expired one, so
// it excludes every process that opens the same file. A waiter polls until the
// lock is free or ctx is done; a release by the same Store wakes its waiters at
// once.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) (pixie.Lease, error) {
	if key == "" {
		return nil, errEmptyKey
	}
	if s.db.ReadOnly() {
		return nil, s.readOnlyError("lock %q", key)
	}
	l, err := s.db.Lock(ctx, key, ttl)
	if err != nil {
		return nil, s.dbError(ctx, err, "lock %q", key)
	}
	return &lease{s: s, key: key, l: l}, nil
}

type lease struct {
	s   *Store
	key string
	l   *sqlitedb.Lease
}

// Unlock implements [pixie.Lease.Unlock]: it deletes the lock's row if this lease
// still owns it.
func (l *lease) Unlock(ctx context.Context) error {
	if err := l.l.Unlock(ctx); err != nil {
		return l.s.dbError(ctx, err, "unlock %q", l.key)
	}
	return nil
}
