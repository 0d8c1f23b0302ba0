// Package sqlitestore is pixie's embedded [pixie.Store]: tokens sealed with
// AES-256-GCM in an SQLite database file (modernc.org/sqlite, pure Go, no cgo),
// shared safely by every process of one machine.
//
// # Durability and sharing
//
// The database runs in WAL mode with synchronous=FULL, so a token is on disk when
// Save returns and a crash (even a power loss) leaves either the old or the new
// token, never a torn one. Save is a compare-and-swap executed as one SQLite
// statement, and the lock of a key is a row lease in the database, so processes
// coordinate through the file alone. A process that dies holding a lock blocks
// the others only until the lease's ttl passes.
//
// # Security
//
// The directory is created with mode 0700 and the database with 0600 (SQLite
// gives its -wal and -shm files the database's mode). Open refuses a database
// file that other users may access. Every record is sealed with
// internal/seal: the plaintext never reaches the file, the record's key id is
// stored beside it, and the sealed blob is bound to its store key, so a blob
// copied to another key does not open.
//
// # Safety of foreign files
//
// The file carries an SQLite application id and schema version. Open reads the
// file header itself before SQLite touches the file, and refuses (without writing
// anything) a file that is not SQLite, an SQLite database of another application,
// a pixie store of a newer schema, or a store that fails SQLite's integrity check.
//
// # Read-only stores
//
// A store whose file or directory cannot be written (a read-only mount, or
// permissions) is reported as such, with [ErrReadOnly], never as corrupt. Opened
// with [ReadOnly], it can still be read: Load works and takes no write lock of
// SQLite, so a program that only reads tokens needs no write access at all.
package sqlitestore

import (
	"fmt"
	"path/filepath"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/seal"
	"github.com/pixieauth/pixie/internal/sqlitedb"
)

// format is the token store's file format. The application id is "pixi" in
// ASCII. Keys are stored as BLOBs so that every string, NUL bytes and invalid
// UTF-8 included, is kept byte for byte.
var format = sqlitedb.Format{
	Name:    "pixie token store",
	AppID:   0x70697869,
	Version: 1,
	Schema: `
CREATE TABLE tokens (
	key     BLOB PRIMARY KEY NOT NULL,
	version INTEGER NOT NULL CHECK (version > 0),
	key_id  TEXT NOT NULL,
	sealed  BLOB NOT NULL
) WITHOUT ROWID;
` + sqlitedb.LocksSchema,
	Redo: "log in again",
}

// KeyFileName is the name of the key file that [DefaultResolver] reads, or
// creates, beside the database.
const KeyFileName = "store.key"

// Keyring entry that [DefaultResolver] reads or creates.
const (
	KeyringService = "pixie"
	KeyringUser    = "token-store-key"
)

// Store is a [pixie.Store] in an SQLite database file. It is safe for concurrent
// use by many goroutines, and many processes may open the same file.
type Store struct {
	db     *sqlitedb.DB
	keys   *seal.KeySet
	source seal.Source
}

var _ pixie.Store = (*Store)(nil)

// Option configures [Open].
type Option func(*options)

type options struct {
	keys      *seal.KeySet
	keysErr   error
	keySource seal.Source
	resolver  *seal.Resolver
	readOnly  bool
}

// ErrReadOnly means the store cannot be written: its file or directory is
// read-only (permissions, or a read-only mount), or it was opened with
// [ReadOnly]. Reading may still work.
var ErrReadOnly = sqlitedb.ErrReadOnly

// WithKeys seals and opens records with the given keys instead of resolving
// them: one or more 32-byte keys in base64 or hex, separated by commas or spaces,
// in the format of PIXIE_STORE_KEY. The first seals new records; the others only
// open records sealed before a rotation (see [Store.Reseal]).
func WithKeys(keys string) Option {
	return func(o *options) {
		if o.keys, o.keysErr = seal.ParseKeySet(keys); o.keysErr != nil {
			o.keysErr = fmt.Errorf("sqlitestore: store keys: %w", o.keysErr)
		}
	}
}

// WithKeySet seals and opens records with keys instead of resolving them, for
// callers inside pixie that loaded them already.
func WithKeySet(keys *seal.KeySet) Option {
	return func(o *options) { o.keys = keys }
}

// WithKeySource names where the keys given with [WithKeySet] or [WithKeys] came
// from, such as the environment variable PIXIE_STORE_KEY, for [Store.KeySource]
// and for the error that names the keys a record needs.
func WithKeySource(src seal.Source) Option {
	return func(o *options) { o.keySource = src }
}

// ReadOnly opens an existing store for reading only: [Store.Load] and
// [Store.Keys] work; Save, Delete, Lock and Reseal fail with [ErrReadOnly]. Open
// then creates nothing (no directory, no store, no key) and writes nothing, so
// a store in a read-only directory can be read. A missing store is an error
// wrapping fs.ErrNotExist.
func ReadOnly() Option {
	return func(o *options) { o.readOnly = true }
}

// WithResolver finds the keys with r instead of [DefaultResolver]. As with the
// default, r.Create takes effect only when the database is new.
func WithResolver(r seal.Resolver) Option {
	return func(o *options) { o.resolver = &r }
}

// DefaultResolver returns the key sources of the database at path, in order: the
// environment variable PIXIE_STORE_KEY, the OS keyring entry (KeyringService,
// KeyringUser), and the key file KeyFileName in the database's directory. When
// none holds a key and the database is new, [Open] creates one, in the keyring if
// it answers, otherwise in the key file.
func DefaultResolver(path string) seal.Resolver {
	return seal.Resolver{
		Env:            seal.EnvVar,
		KeyringService: KeyringService,
		KeyringUser:    KeyringUser,
		File:           filepath.Join(filepath.Dir(path), KeyFileName),
		Create:         true,
	}
}

// Open opens the token store at path, creating it (and its directory, mode 0700)
// if it does not exist. The keys come from [WithKeySet], or else from
// [WithResolver] or [DefaultResolver]; a new key is created only for a new
// database, so a store whose key is lost fails with an error instead of gaining a
// key that opens none of its records.
//
// Open refuses, without changing it, a file that other users may access, that is
// not a pixie token store, that a newer pixie created, or that is corrupt. Call
// [Store.Close] when done.
func Open(path string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.keysErr != nil {
		return nil, o.keysErr
	}
	mode := sqlitedb.ReadWrite
	if o.readOnly {
		mode = sqlitedb.ReadOnly
	}
	path, fresh, err := sqlitedb.Check(path, format, mode)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	s := &Store{keys: o.keys, source: o.keySource}
	if s.keys == nil {
		r := DefaultResolver(path)
		if o.resolver != nil {
			r = *o.resolver
		}
		r.Create = r.Create && fresh
		if s.keys, s.source, err = r.Resolve(); err != nil {
			if fresh {
				return nil, fmt.Errorf("sqlitestore: no key to seal the token store %s: %w", path, err)
			}
			return nil, fmt.Errorf("sqlitestore: no key to open the token store %s: %w; supply the key it was created with (for example in %s), or move the store away to start afresh",
				path, err, seal.EnvVar)
		}
	}
	if s.db, err = sqlitedb.Open(path, format, mode); err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	return s, nil
}

// Close closes the database. Leases still held lapse after their ttl.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlitestore: close %s: %w", s.db.Path, err)
	}
	return nil
}

// Path returns the database file's absolute path.
func (s *Store) Path() string { return s.db.Path }

// KeySource reports where the store's keys came from, for `pixie status`. It is
// the zero Source when they were given with [WithKeySet].
func (s *Store) KeySource() seal.Source { return s.source }
