// Package sqlitesession is the embedded [web.SessionStore]: sessions sealed
// with AES-256-GCM in an SQLite database file (modernc.org/sqlite, pure Go),
// shared by every process of one machine. It is the store to choose for an
// app that runs as one server; see web/redissession for replicas.
//
// The file is handled as pixie's token store handles its own (see
// sqlitestore): directory mode 0700, file mode 0600, files of other
// applications or users refused, WAL mode with synchronous=FULL, and locks
// that are row leases across processes.
//
// Each session is one row: the session key (the SHA-256 of the browser's
// session id), a version for compare-and-swap, the subject index, the expiry,
// the id of the key that sealed it, and the sealed data, bound through the GCM
// associated data to its session key and subject, so a sealed blob copied to
// another row does not open. Expired rows are never returned, and are deleted
// a hundred at a time whenever a session is created.
package sqlitesession

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/seal"
	"github.com/pixieauth/pixie/internal/sqlitedb"
	"github.com/pixieauth/pixie/web"
	"github.com/pixieauth/pixie/web/internal/sessionseal"
)

// format is the session database's file format; its application id is "pixs".
var format = sqlitedb.Format{
	Name:    "pixie session store",
	AppID:   0x70697873,
	Version: 1,
	Schema: `
CREATE TABLE sessions (
	key     TEXT PRIMARY KEY NOT NULL,
	version INTEGER NOT NULL CHECK (version > 0),
	subject TEXT NOT NULL,
	expires INTEGER NOT NULL,
	key_id  TEXT NOT NULL,
	sealed  BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_subject ON sessions (subject);
CREATE INDEX sessions_expires ON sessions (expires);
` + sqlitedb.LocksSchema,
}

// KeyFileName is the key file [Open] reads, or creates for a new database,
// beside the database when PIXIE_STORE_KEY is not set.
const KeyFileName = "session.key"

// sweepBatch bounds the expired rows one sweep deletes.
const sweepBatch = 100

// Store is a [web.SessionStore] in an SQLite file. It is safe for concurrent
// use, and many processes may open the same file.
type Store struct {
	db   *sqlitedb.DB
	keys *seal.KeySet
	now  func() time.Time
}

var _ web.SessionStore = (*Store)(nil)

// Option configures [Open].
type Option func(*options)

type options struct {
	keys    *seal.KeySet
	keysErr error
	now     func() time.Time
}

// WithKeys seals and opens sessions with the given keys instead of resolving
// them: one or more 32-byte keys in base64 or hex, separated by commas or
// spaces, as in PIXIE_STORE_KEY. The first seals; the others only open sessions
// sealed before a rotation.
func WithKeys(keys string) Option {
	return func(o *options) {
		if o.keys, o.keysErr = seal.ParseKeySet(keys); o.keysErr != nil {
			o.keysErr = fmt.Errorf("sqlitesession: store keys: %w", o.keysErr)
		}
	}
}

// WithClock sets the clock that decides which sessions have expired; nil
// means time.Now. Give the Web's clock.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Open opens the session store at path, creating it (and its directory, mode
// 0700) if it does not exist. The sealing keys come from [WithKeys], or else
// from the environment variable PIXIE_STORE_KEY, or else from the key file
// KeyFileName beside the database, which is created (mode 0600) only with a
// new database. Call [Store.Close] when done.
func Open(path string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.keysErr != nil {
		return nil, o.keysErr
	}
	abs, fresh, err := sqlitedb.Check(path, format, sqlitedb.ReadWrite)
	if err != nil {
		return nil, fmt.Errorf("sqlitesession: %w", err)
	}
	keys := o.keys
	if keys == nil {
		r := seal.Resolver{Env: seal.EnvVar, File: filepath.Join(filepath.Dir(abs), KeyFileName), Create: fresh}
		if keys, _, err = r.Resolve(); err != nil {
			return nil, fmt.Errorf("sqlitesession: no key to seal the sessions in %s: %w; set %s or keep the key file %s", abs, err, seal.EnvVar, KeyFileName)
		}
	}
	db, err := sqlitedb.Open(abs, format, sqlitedb.ReadWrite)
	if err != nil {
		return nil, fmt.Errorf("sqlitesession: %w", err)
	}
	s := &Store{db: db, keys: keys, now: o.now}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Close closes the database. Leases still held lapse after their ttl.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlitesession: close %s: %w", s.db.Path, err)
	}
	return nil
}

// Path returns the database file's absolute path.
func (s *Store) Path() string { return s.db.Path }

var errEmptyKey = errors.New("sqlitesession: the session key is empty")

// adDomain is the domain of the associated data of every sealed session.
const adDomain = "pixie sqlitesession v1"

func associatedData(key, subject string) []byte {
	return sessionseal.AssociatedData(adDomain, key, subject)
}

// Load implements [web.SessionStore.Load].
func (s *Store) Load(ctx context.Context, key string) (*web.Record, uint64, error) {
	if key == "" {
		return nil, 0, errEmptyKey
	}
	var (
		version, expires int64
		subject          string
		sealed           []byte
	)
	err := s.db.QueryRowContext(ctx, "SELECT version, subject, expires, sealed FROM sessions WHERE key = ? AND expires > ?",
		key, s.now().UnixNano()).Scan(&version, &subject, &expires, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, web.ErrNoSession
	}
	if err != nil {
		return nil, 0, s.dbError(ctx, err, "load")
	}
	data, err := s.keys.Open(sealed, associatedData(key, subject))
	if err != nil {
		return nil, 0, fmt.Errorf("sqlitesession: a session in %s cannot be opened (altered, or sealed with a key that is not configured): %w", s.db.Path, err)
	}
	return &web.Record{Subject: subject, Expires: time.Unix(0, expires), Data: data}, uint64(version), nil
}

// Save implements [web.SessionStore.Save]. Version 0 also replaces an expired
// row.
func (s *Store) Save(ctx context.Context, key string, r *web.Record, version uint64) (uint64, error) {
	switch {
	case key == "":
		return 0, errEmptyKey
	case r == nil:
		return 0, errors.New("sqlitesession: cannot save a nil record")
	case version >= math.MaxInt64:
		return 0, pixie.ErrConflict
	}
	sealed, err := s.keys.Seal(r.Data, associatedData(key, r.Subject))
	if err != nil {
		return 0, fmt.Errorf("sqlitesession: %w", err)
	}
	now, keyID := s.now().UnixNano(), s.keys.Current().String()
	var res sql.Result
	if version == 0 {
		if err := s.sweep(ctx, now); err != nil {
			return 0, err
		}
		res, err = s.db.ExecContext(ctx, `
			INSERT INTO sessions (key, version, subject, expires, key_id, sealed) VALUES (?, 1, ?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET version = 1, subject = excluded.subject, expires = excluded.expires,
				key_id = excluded.key_id, sealed = excluded.sealed
			WHERE sessions.expires <= ?`,
			key, r.Subject, r.Expires.UnixNano(), keyID, sealed, now)
	} else {
		res, err = s.db.ExecContext(ctx, `
			UPDATE sessions SET version = version + 1, subject = ?, expires = ?, key_id = ?, sealed = ?
			WHERE key = ? AND version = ? AND expires > ?`,
			r.Subject, r.Expires.UnixNano(), keyID, sealed, key, int64(version), now)
	}
	if err != nil {
		return 0, s.dbError(ctx, err, "save")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, s.dbError(ctx, err, "save")
	}
	if n == 0 {
		return 0, pixie.ErrConflict
	}
	if version == 0 {
		return 1, nil
	}
	return version + 1, nil
}

// sweep deletes a batch of expired sessions.
func (s *Store) sweep(ctx context.Context, now int64) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE key IN (SELECT key FROM sessions WHERE expires <= ? LIMIT ?)`, now, sweepBatch)
	if err != nil {
		return s.dbError(ctx, err, "delete expired sessions")
	}
	return nil
}

// Delete implements [web.SessionStore.Delete].
func (s *Store) Delete(ctx context.Context, key string) error {
	if key == "" {
		return errEmptyKey
	}
	if _, err := s.db.ExecContext(ctx, "DELETE FROM sessions WHERE key = ?", key); err != nil {
		return s.dbError(ctx, err, "delete")
	}
	return nil
}

// DeleteSubject implements [web.SessionStore.DeleteSubject].
func (s *Store) DeleteSubject(ctx context.Context, subject string) (int, error) {
	if subject == "" {
		return 0, errors.New("sqlitesession: the subject is empty")
	}
	res, err := s.db.ExecContext(ctx, "DELETE FROM sessions WHERE subject = ?", subject)
	if err != nil {
		return 0, s.dbError(ctx, err, "delete a user's sessions")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, s.dbError(ctx, err, "delete a user's sessions")
	}
	return int(n), nil
}

// Lock implements [web.SessionStore.Lock] with a row lease in the database.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) (pixie.Lease, error) {
	if key == "" {
		return nil, errEmptyKey
	}
	l, err := s.db.Lock(ctx, "session:"+key, ttl)
	if err != nil {
		return nil, s.dbError(ctx, err, "lock")
	}
	return l, nil
}

// dbError describes a failed statement. Session keys are not quoted: they
// are hashes of the browser's session ids.
func (s *Store) dbError(ctx context.Context, err error, op string) error {
	return fmt.Errorf("sqlitesession: %s in %s: %w", op, s.db.Path, sqlitedb.Err(ctx, err))
}
