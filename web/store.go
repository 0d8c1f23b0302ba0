package web

import (
	"context"
	"errors"
	"time"

	"github.com/pixieauth/pixie"
)

// SessionStore keeps the sessions of a [Web] on the server, under session keys
// (the SHA-256 of the browser's session id, never the id itself). Package
// web/sqlitesession is the embedded default; web/redissession serves a fleet of
// replicas. Every implementation must pass the conformance suite of package
// web/sessiontest, and be safe for concurrent use.
//
// A store seals [Record.Data] before it is written (AES-256-GCM, bound to the
// key), so that neither a dump of the store nor a change to it reveals or forges
// a session. Keys are non-empty; the empty key is refused with an error that is
// neither [ErrNoSession] nor [pixie.ErrConflict].
type SessionStore interface {
	// Load returns the record stored under key and its version. A record past
	// its Expires, by the store's clock, is not returned: Load then fails with
	// an error for which errors.Is(err, ErrNoSession) is true, as it does when
	// nothing is stored.
	Load(ctx context.Context, key string) (*Record, uint64, error)
	// Save stores r under key if the stored version still equals version (0:
	// nothing may be stored yet, or only an expired record) and returns the new
	// version, which is greater. If another writer saved first it returns
	// [pixie.ErrConflict] and stores nothing. The store forgets the record once
	// r.Expires passes.
	Save(ctx context.Context, key string, r *Record, version uint64) (uint64, error)
	// Delete removes the record of key; deleting an absent key is not an error.
	Delete(ctx context.Context, key string) error
	// DeleteSubject removes every record whose Subject is subject, and returns
	// how many it removed: signing a user out everywhere.
	DeleteSubject(ctx context.Context, subject string) (int, error)
	// Lock takes the lock of key, waiting until it is free or ctx is done. The
	// lock is a lease that lapses after ttl unless released, and excludes every
	// process sharing the store. Locks do not block Load, Save or Delete.
	Lock(ctx context.Context, key string, ttl time.Duration) (pixie.Lease, error)
}

// Record is what a [SessionStore] keeps for one session.
type Record struct {
	// Subject indexes the record for [SessionStore.DeleteSubject]: an opaque
	// value (a hash of the provider and the user's subject) or "" for a login
	// that is not finished.
	Subject string
	// Expires is when the store forgets the record.
	Expires time.Time
	// Data is the session, in the clear: the user's claims and tokens. The
	// store seals it before writing it anywhere.
	Data []byte
}

// ErrNoSession is returned by [SessionStore.Load] when no unexpired record is
// stored under the key.
var ErrNoSession = errors.New("web: no such session")
