package sqlitedb

import (
	"context"
	"crypto/rand"
	"math"
	mrand "math/rand/v2"
	"sync"
	"time"
)

// LocksSchema creates the table [DB.Lock] uses; a Format whose files take locks
// includes it in its Schema.
const LocksSchema = `
CREATE TABLE locks (
	key     BLOB PRIMARY KEY NOT NULL,
	owner   TEXT NOT NULL,
	expires INTEGER NOT NULL
) WITHOUT ROWID;
`

// Lock polling: a waiter retries after minPoll, doubling up to maxPoll, with
// jitter so that waiting processes do not retry in step. A release through the
// same DB wakes its waiters at once.
const (
	minPoll = 5 * time.Millisecond
	maxPoll = 50 * time.Millisecond
)

// waker lets the waiters of a DB's locks know that one was released.
type waker struct {
	mu sync.Mutex
	ch chan struct{}
}

func newWaker() *waker { return &waker{ch: make(chan struct{})} }

// released returns a channel that is closed when a lease is next released.
func (w *waker) released() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ch
}

func (w *waker) notify() {
	w.mu.Lock()
	defer w.mu.Unlock()
	close(w.ch)
	w.ch = make(chan struct{})
}

// Lease is a lock held with [DB.Lock].
type Lease struct {
	d     *DB
	key   []byte
	owner string
}

// Lock takes the lock of key, a row in the locks table naming a random owner
// and an expiry (the wall clock plus ttl). It is taken by one SQLite write
// statement, which inserts the row or takes over an expired one, so it excludes
// every process that opens the same file. A waiter polls until the lock is free
// or ctx is done; the error is then ctx's. Other errors are SQLite's.
func (d *DB) Lock(ctx context.Context, key string, ttl time.Duration) (*Lease, error) {
	l := &Lease{d: d, key: []byte(key), owner: rand.Text()}
	delay := minPoll
	for {
		wake := d.wake.released()
		ok, err := l.try(ctx, ttl)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		if ok {
			return l, nil
		}
		t := time.NewTimer(delay/2 + mrand.N(delay))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-wake:
		case <-t.C:
		}
		t.Stop()
		delay = min(2*delay, maxPoll)
	}
}

// try takes the lock if it is free or its lease has expired.
func (l *Lease) try(ctx context.Context, ttl time.Duration) (bool, error) {
	now := time.Now().UnixNano()
	expires := now + int64(min(ttl, time.Duration(math.MaxInt64-now))) // no overflow for huge ttls
	res, err := l.d.ExecContext(ctx, `
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

// Unlock deletes the lock's row if this lease still owns it. Releasing a lapsed
// lease does nothing and is not an error.
func (l *Lease) Unlock(ctx context.Context) error {
	_, err := l.d.ExecContext(ctx, "DELETE FROM locks WHERE key = ? AND owner = ?", l.key, l.owner)
	l.d.wake.notify()
	return err
}
