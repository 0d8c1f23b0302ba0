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
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"

	"modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/seal"
)

// File format. The application id is "pixi" in ASCII; the schema version is
// SQLite's user_version. Both live in the 100-byte database header
// (https://www.sqlite.org/fileformat.html section 1.3).
const (
	applicationID = 0x70697869
	schemaVersion = 1

	headerSize          = 100
	userVersionOffset   = 60
	applicationIDOffset = 68
)

var sqliteMagic = []byte("SQLite format 3\x00")

// schema creates the tables of schema version 1. Keys are stored as BLOBs so that
// every string, NUL bytes and invalid UTF-8 included, is kept byte for byte.
const schema = `
CREATE TABLE tokens (
	key     BLOB PRIMARY KEY NOT NULL,
	version INTEGER NOT NULL CHECK (version > 0),
	key_id  TEXT NOT NULL,
	sealed  BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE locks (
	key     BLOB PRIMARY KEY NOT NULL,
	owner   TEXT NOT NULL,
	expires INTEGER NOT NULL
) WITHOUT ROWID;
`

// busyTimeoutMillis is how long a statement waits for another connection's write
// lock before failing with SQLITE_BUSY. Writes are single short statements, so
// only a stalled process holds the lock this long.
const busyTimeoutMillis = 10000

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
	db       *sql.DB
	path     string
	keys     *seal.KeySet
	source   seal.Source
	readOnly bool

	mu   sync.Mutex
	wake chan struct{} // closed, and replaced, when a lease of this Store is released
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
var ErrReadOnly = errors.New("the token store is read-only")

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
	if path == "" {
		return nil, errors.New("sqlitestore: the database path is empty")
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.keysErr != nil {
		return nil, o.keysErr
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	if !o.readOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("sqlitestore: create the store's directory: %w", readOnlyErr(err))
		}
	}
	fresh, err := checkFile(path)
	if err != nil {
		return nil, err
	}
	if fresh && o.readOnly {
		return nil, fmt.Errorf("sqlitestore: no token store at %s: %w", path, fs.ErrNotExist)
	}
	s := &Store{path: path, keys: o.keys, source: o.keySource, readOnly: o.readOnly, wake: make(chan struct{})}
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
	if fresh {
		if err := create(path); err != nil {
			return nil, err
		}
	}
	if o.readOnly {
		err = s.openReadOnly()
	} else {
		err = s.openReadWrite()
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// openReadWrite opens the database for reading and writing, in WAL mode, and
// verifies it. A store that cannot be written fails with [ErrReadOnly].
func (s *Store) openReadWrite() error {
	if err := s.connect(url.Values{
		"mode": {"rw"},
		"_pragma": {
			fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis),
			"journal_mode(WAL)",
			"synchronous(FULL)",
		},
	}); err != nil {
		return err
	}
	if err := s.verify(); err != nil {
		s.db.Close()
		return err
	}
	return nil
}

// openReadOnly opens the database for reading only. SQLite reads a WAL-mode
// database through its -wal and -shm files, which it creates when they are
// missing; in a directory it cannot write, it cannot, and then the database is
// opened as immutable instead, provided there is no WAL content it would miss:
// no -wal file, or an empty one, means every committed write is in the
// database file itself. The integrity check is skipped: a reader changes
// nothing, SQLite reports a damaged page when it reads one, and every record
// is authenticated when it is opened.
func (s *Store) openReadOnly() error {
	params := url.Values{"mode": {"ro"}, "_pragma": {fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis)}}
	if err := s.connect(params); err != nil {
		return err
	}
	err := s.checkIDs()
	if errors.Is(err, ErrReadOnly) && !hasWAL(s.path) {
		s.db.Close()
		params.Set("immutable", "1")
		if err = s.connect(params); err != nil {
			return err
		}
		err = s.checkIDs()
	}
	if err != nil {
		s.db.Close()
	}
	return err
}

// connect opens the database handle with the given URI parameters.
func (s *Store) connect(params url.Values) error {
	db, err := sql.Open("sqlite", dsn(s.path, params))
	if err != nil {
		return fmt.Errorf("sqlitestore: open %s: %w", s.path, err)
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	s.db = db
	return nil
}

// hasWAL reports whether the database at path has a write-ahead log with
// content, or one that cannot be examined.
func hasWAL(path string) bool {
	fi, err := os.Stat(path + "-wal")
	return !errors.Is(err, fs.ErrNotExist) && (err != nil || fi.Size() > 0)
}

// Primary SQLite result codes (https://www.sqlite.org/rescode.html).
const (
	sqliteReadOnly = 8
	sqliteCantOpen = 14
)

// sqliteCode returns the primary SQLite result code of err, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() & 0xff
	}
	return 0
}

// readOnlyErr marks err with [ErrReadOnly] when it is the system's way of
// saying that a file cannot be written or created.
func readOnlyErr(err error) error {
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		return fmt.Errorf("%w: %w", ErrReadOnly, err)
	}
	return err
}

// unwritable reports why the store at path cannot be written, or nil if it can:
// the file cannot be opened for writing, or no file can be created beside it
// (SQLite needs to create the -wal and -shm files). It runs only once SQLite
// failed, to tell a read-only store from a damaged one.
func unwritable(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	f.Close()
	probe, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".probe-*")
	if err != nil {
		return err
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// Close closes the database. Leases still held lapse after their ttl.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlitestore: close %s: %w", s.path, err)
	}
	return nil
}

// Path returns the database file's absolute path.
func (s *Store) Path() string { return s.path }

// KeySource reports where the store's keys came from, for `pixie status`. It is
// the zero Source when they were given with [WithKeySet].
func (s *Store) KeySource() seal.Source { return s.source }

// checkFile checks the file at path, if there is one, without letting SQLite open
// it: its mode and those of its -wal and -shm files, and its header. It reports
// fresh when there is no file.
func checkFile(path string) (fresh bool, err error) {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		fi, err := os.Stat(path + suffix)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("sqlitestore: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return false, fmt.Errorf("sqlitestore: %s is not a regular file (mode %s); it is not a pixie token store", path+suffix, fi.Mode())
		}
		// Windows has no Unix permission bits; its files report 0666 whatever their ACL.
		if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
			return false, fmt.Errorf("sqlitestore: %s has mode %04o, which lets other users access the token store; run `chmod 600 %s`",
				path+suffix, perm, path+suffix)
		}
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlitestore: %w", err)
	}
	defer f.Close()
	header := make([]byte, headerSize)
	n, err := io.ReadFull(f, header)
	switch {
	case n == 0 && err == io.EOF:
		// pixie never leaves an empty file (see create), and SQLite would take it
		// for an empty database: refuse it rather than write to someone's file.
		return false, fmt.Errorf("sqlitestore: %s is an empty file, not a pixie token store; remove it or choose another path", path)
	case err == io.ErrUnexpectedEOF || (err == nil && !bytes.HasPrefix(header, sqliteMagic)):
		return false, fmt.Errorf("sqlitestore: %s is not a pixie token store (not an SQLite database); move it away or choose another path", path)
	case err != nil:
		return false, fmt.Errorf("sqlitestore: read %s: %w", path, err)
	}
	if err := checkIDs(path, binary.BigEndian.Uint32(header[applicationIDOffset:]), binary.BigEndian.Uint32(header[userVersionOffset:])); err != nil {
		return false, err
	}
	return false, nil
}

// checkIDs checks the application id and schema version of an SQLite database.
func checkIDs(path string, appID, version uint32) error {
	switch {
	case appID != applicationID:
		return fmt.Errorf("sqlitestore: %s is not a pixie token store (an SQLite database of another application, id %#08x); move it away or choose another path", path, appID)
	case version > schemaVersion:
		return fmt.Errorf("sqlitestore: %s is a pixie token store of schema version %d, newer than this pixie reads (%d); upgrade pixie", path, version, schemaVersion)
	case version < schemaVersion:
		return fmt.Errorf("sqlitestore: %s is a corrupt pixie token store (schema version %d)", path, version)
	}
	return nil
}

// create makes a store at path, unless another process gets there first. The
// store is built in a temporary file in the same directory and then hard-linked
// to path, so that path never names a half-made store, even if the process is
// killed, and a link never replaces a file another process made meanwhile. The
// schema is written in SQLite's rollback-journal mode, so that the application id
// is in the file's header (which [checkFile] reads) before Open switches the file
// to WAL mode.
func create(path string) error {
	dir, base := filepath.Split(path)
	f, err := os.CreateTemp(dir, "."+base+".new-*") // mode 0600
	if err != nil {
		return fmt.Errorf("sqlitestore: create %s: %w", path, readOnlyErr(err))
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp)
	if err := initSchema(tmp); err != nil {
		return fmt.Errorf("sqlitestore: create %s: %w", path, err)
	}
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("sqlitestore: create %s: %w", path, err)
	}
	// Make the new name durable; some platforms cannot sync a directory, and the
	// store is usable without it.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// initSchema gives the empty database at path the schema, in one transaction.
func initSchema(path string) error {
	db, err := sql.Open("sqlite", dsn(path, url.Values{
		"mode":    {"rw"},
		"_pragma": {"synchronous(FULL)"},
	}))
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmts := schema + fmt.Sprintf("PRAGMA application_id = %d; PRAGMA user_version = %d;", applicationID, schemaVersion)
	if _, err := tx.ExecContext(ctx, stmts); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	return db.Close()
}

// verify checks, through SQLite, that the open database is an intact store of
// this schema.
func (s *Store) verify() error {
	if err := s.checkIDs(); err != nil {
		return err
	}
	ctx := context.Background()
	rows, err := s.db.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		return s.corrupt(err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return s.corrupt(err)
		}
		if p != "ok" {
			problems = append(problems, p)
		}
	}
	if err := rows.Err(); err != nil {
		return s.corrupt(err)
	}
	if len(problems) > 0 {
		return s.corrupt(errors.New(strings.Join(problems, "; ")))
	}
	return nil
}

// checkIDs checks, through SQLite, the application id and schema version of the
// open database: the header [checkFile] read may be older than the WAL's.
func (s *Store) checkIDs() error {
	ctx := context.Background()
	var appID, version uint32
	if err := s.db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return s.corrupt(err)
	}
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return s.corrupt(err)
	}
	return checkIDs(s.path, appID, version)
}

// corrupt describes a failure of the checks of an open store. SQLite reports a
// store it may not write (or whose WAL files it may not create) in terms that
// read like damage; that one is reported as read-only, with no advice to move
// the store away.
func (s *Store) corrupt(err error) error {
	if c := sqliteCode(err); c == sqliteReadOnly || c == sqliteCantOpen {
		if why := unwritable(s.path); why != nil {
			return fmt.Errorf("sqlitestore: %s: %w (%v); pixie needs write access to it and to its directory", s.path, ErrReadOnly, why)
		}
	}
	return fmt.Errorf("sqlitestore: %s is a corrupt pixie token store; restore it from a backup or move it away and log in again: %w", s.path, err)
}

// dsn returns the modernc.org/sqlite data source name of the file at path: an
// SQLite URI (https://www.sqlite.org/uri.html), which escapes any character of
// the path, with the given parameters.
func dsn(path string, params url.Values) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: params.Encode()}
	return u.String()
}
