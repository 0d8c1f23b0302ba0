package pixie

import (
	"context"
	"errors"
	"time"
)

// Store persists tokens under string keys (a profile, a user, a service) so that
// they survive restarts and are shared between processes. Every save is a
// compare-and-swap on a version, and every key has a lock that a refresh holds, so
// that however many processes share a store, one refresh happens at a time and no
// rotated refresh token is lost.
//
// pixie ships [MemoryStore] (one process), sqlitestore (the embedded default, many
// processes on one machine) and redisstore (a fleet). Every implementation must
// pass the storetest conformance suite. Implementations must be safe for
// concurrent use.
//
// Keys are compared byte for byte; the empty key is refused by every method with
// an error (neither ErrNotFound nor ErrConflict), and so is saving a nil token.
type Store interface {
	// Load returns the token stored under key and its version. When nothing is
	// stored, it returns an error for which errors.Is(err, ErrNotFound) is true.
	Load(ctx context.Context, key string) (*Token, uint64, error)
	// Save stores tok under key if the stored version still equals version (0:
	// nothing may be stored yet), and returns the new version, which is greater
	// than the one it replaces. If another writer saved first, it
	// returns ErrConflict and stores nothing. The token is durable when Save
	// returns.
	Save(ctx context.Context, key string, tok *Token, version uint64) (uint64, error)
	// Delete removes key and its token; a later Save starts again from version
	// 0. Deleting an absent key is not an error.
	Delete(ctx context.Context, key string) error
	// Lock takes the lock of key, waiting until it is free or ctx is done. The
	// lock is a lease: it lapses after ttl unless released, so a holder that
	// crashed cannot block the others for ever.
	Lock(ctx context.Context, key string, ttl time.Duration) (Lease, error)
}

// Lease is a held [Store] lock.
type Lease interface {
	// Unlock releases the lock if this lease still holds it; releasing a lapsed
	// lease does nothing and is not an error.
	Unlock(ctx context.Context) error
}

// Store errors.
var (
	// ErrNotFound is returned by [Store.Load] when no token is stored.
	ErrNotFound = errors.New("pixie: no token stored")
	// ErrConflict is returned by [Store.Save] when the stored version is not the
	// expected one: another writer saved a token in between.
	ErrConflict = errors.New("pixie: token store changed concurrently (version conflict)")
)
