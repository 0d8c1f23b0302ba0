package sqlitestore

import (
	"context"
	"crypto/rand"
	"math"
	mrand "math/rand/v2"
	"time"

	"github.com/pixieauth/pixie"
)

// Lock polling: a waiter retries after minPoll, doubling up to maxPoll, with
// jitter so that waiting processes do not retry in step. A release by the same
// Store wakes its waiters at once.
const (
	minPoll = 5 * time.Millisecond
	maxPoll = 50 * time.Millisecond
)

// Lock implements [pixie.Store.Lock]. The lock is a row in the locks table naming
// a random owner and an expiry (the wall clock plus ttl); it is taken by one
// SQLite write statement, which inserts the row or takes over an expired one, so
// it excludes every process that opens the same file. A waiter polls until the
// lock is free or ctx is done.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) (pixie.Lease, error) {
	if key == "" {
		return nil, errEmptyKey
	}
	if s.readOnly {
		return nil, s.readOnlyError("lock %q", key)
	}
	l := &lease{s: s, key: []byte(key), owner: rand.Text()}
	delay := minPoll
	for {
		wake := s.released()
		ok, err := l.try(ctx, ttl)
		if err != nil {
			return nil, s.dbError(ctx, err, "lock %q", key)
		}
		if ok {
			return l, nil
		}
		t := time.NewTimer(delay/2 + mrand.N(delay))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, s.dbError(ctx, ctx.Err(), "lock %q", key)
		case <-wake:
		case <-t.C:
		}
		t.Stop()
		delay = min(2*delay, maxPoll)
	}
}

// released returns a channel that is closed when a lease of s is next released.
func (s *Store) released() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wake
}

// notify wakes the waiters of [Store.released].
func (s *Store) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.wake)
	s.wake = make(chan struct{})
}

type lease struct {
	s     *Store
	key   []byte
	owner string
}

// try takes the lock if it is free or its lease has expired.
func (l *lease) try(ctx context.Context, ttl time.Duration) (bool, error) {
	now := time.Now().UnixNano()
	expires := now + int64(min(ttl, time.Duration(math.MaxInt64-now))) // no overflow for huge ttls
	res, err := l.s.db.ExecContext(ctx, `
		INSERT INTO locks (key, owner, expires) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires = excluded.expires
		WHERE locks.expires <= ?`,
		l.key, l.owner, expires, now)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Unlock implements [pixie.Lease.Unlock]: it deletes the lock's row if this lease
// still owns it.
func (l *lease) Unlock(ctx context.Context) error {
	_, err := l.s.db.ExecContext(ctx, "DELETE FROM locks WHERE key = ? AND owner = ?", l.key, l.owner)
	l.s.notify()
	if err != nil {
		return l.s.dbError(ctx, err, "unlock %q", l.key)
	}
	return nil
}
