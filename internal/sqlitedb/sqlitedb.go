// Package sqlitedb opens the SQLite database files of pixie's stores
// (modernc.org/sqlite, pure Go) safely, and gives them a lock that works across
// processes. A [Format] names the kind of file: its SQLite application id, its
// schema version and the schema that creates it.
//
// [Open] creates the file's directory with mode 0700 and the file with mode 0600,
// refuses an existing file that other users may access, and reads the file header
// itself before SQLite touches the file, so that it refuses (without writing
// anything) a file that is not SQLite, an SQLite database of another application,
// a file of a newer schema, or one that fails SQLite's integrity check. The
// database runs in WAL mode with synchronous=FULL: a write is on disk when it
// returns.
//
// A file or directory that cannot be written (permissions, or a read-only
// mount) is reported with [ErrReadOnly], never as corrupt. Opened in the
// [ReadOnly] mode, such a file can still be read.
package sqlitedb

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
	"syscall"

	"modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Format describes a kind of database file.
type Format struct {
	// Name names the kind of file in errors, such as "pixie session store".
	Name string
	// AppID is the SQLite application id written in the file header
	// (https://www.sqlite.org/fileformat.html section 1.3).
	AppID uint32
	// Version is the schema version, SQLite's user_version.
	Version uint32
	// Schema creates the tables of a new file, in one transaction.
	Schema string
	// Redo, if set, says what a user does once a corrupt file is moved away,
	// such as "log in again".
	Redo string
}

// Mode says whether [Open] may write the file.
type Mode int

const (
	// ReadWrite creates the file (and its directory) if there is none, and
	// opens it for reading and writing.
	ReadWrite Mode = iota
	// ReadOnly opens an existing file for reading only, creating and writing
	// nothing, so that a file in a directory that cannot be written can be
	// read. A missing file is an error wrapping fs.ErrNotExist.
	ReadOnly
)

// ErrReadOnly means the database cannot be written: its file or directory is
// read-only (permissions, or a read-only mount), or it was opened in the
// [ReadOnly] mode. Reading may still work.
var ErrReadOnly = errors.New("the database is read-only")

// Offsets in the 100-byte database header.
const (
	headerSize          = 100
	userVersionOffset   = 60
	applicationIDOffset = 68
)

var sqliteMagic = []byte("SQLite format 3\x00")

// busyTimeoutMillis is how long a statement waits for another connection's write
// lock before failing with SQLITE_BUSY. Writes are single short statements, so
// only a stalled process holds the lock this long.
const busyTimeoutMillis = 10000

// DB is an open database file of a Format.
type DB struct {
	*sql.DB
	// Path is the file's absolute path.
	Path     string
	format   Format
	readOnly bool
	wake     *waker
}

// Check reports whether the file at path would be created by [Open] (fresh), or
// else whether it is a file of f that Open may use. It does not let SQLite open
// the file. In the [ReadWrite] mode it creates the file's directory (mode 0700);
// in the [ReadOnly] mode a missing file is an error wrapping fs.ErrNotExist.
// Callers that need a key only for new files call it before Open.
func Check(path string, f Format, mode Mode) (abs string, fresh bool, err error) {
	if path == "" {
		return "", false, fmt.Errorf("the %s path is empty", f.Name)
	}
	if abs, err = filepath.Abs(path); err != nil {
		return "", false, err
	}
	if mode == ReadWrite {
		if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
			return "", false, fmt.Errorf("create the %s's directory: %w", f.Name, readOnlyErr(err))
		}
	}
	fresh, err = checkFile(abs, f)
	if err == nil && fresh && mode == ReadOnly {
		return "", false, fmt.Errorf("no %s at %s: %w", f.Name, abs, fs.ErrNotExist)
	}
	return abs, fresh, err
}

// Open opens the database at path (made absolute). In the [ReadWrite] mode it
// creates the file with f's schema if there is none; a file that cannot be
// written is an error wrapping [ErrReadOnly]. Errors are not prefixed with a
// package name; callers add theirs.
func Open(path string, f Format, mode Mode) (*DB, error) {
	path, fresh, err := Check(path, f, mode)
	if err != nil {
		return nil, err
	}
	if mode == ReadOnly {
		return openReadOnly(path, f)
	}
	if fresh {
		if err := create(path, f); err != nil {
			return nil, err
		}
	}
	d, err := connect(path, f, url.Values{
		"mode": {"rw"},
		"_pragma": {
			fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis),
			"journal_mode(WAL)",
			"synchronous(FULL)",
		},
	})
	if err != nil {
		return nil, err
	}
	if err := d.verify(); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// openReadOnly opens the database for reading only. SQLite reads a WAL-mode
// database through its -wal and -shm files, which it creates when they are
// missing; in a directory it cannot write, it cannot, and then the database is
// opened as immutable instead, provided there is no WAL content it would miss:
// no -wal file, or an empty one, means every committed write is in the
// database file itself. The integrity check is skipped: a reader changes
// nothing, SQLite reports a damaged page when it reads one, and callers
// authenticate what they read.
func openReadOnly(path string, f Format) (*DB, error) {
	params := url.Values{"mode": {"ro"}, "_pragma": {fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis)}}
	d, err := connect(path, f, params)
	if err != nil {
		return nil, err
	}
	err = d.checkIDs()
	if errors.Is(err, ErrReadOnly) && !hasWAL(path) {
		d.Close()
		params.Set("immutable", "1")
		if d, err = connect(path, f, params); err != nil {
			return nil, err
		}
		err = d.checkIDs()
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	d.readOnly = true
	return d, nil
}

// connect opens the database handle with the given URI parameters.
func connect(path string, f Format, params url.Values) (*DB, error) {
	db, err := sql.Open("sqlite", dsn(path, params))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	return &DB{DB: db, Path: path, format: f, wake: newWaker()}, nil
}

// ReadOnly reports whether the database was opened in the [ReadOnly] mode.
func (d *DB) ReadOnly() bool { return d.readOnly }

// Err returns the cause of a failed statement: ctx's error when ctx is done
// (rather than SQLite's report of the interruption), and otherwise err, marked
// with [ErrReadOnly] when SQLite refused to write (SQLITE_READONLY: a file
// this process may read but not write).
func Err(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if sqliteCode(err) == sqliteReadOnly {
		return fmt.Errorf("%w: %w", ErrReadOnly, err)
	}
	return err
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

// unwritable reports why the file at path cannot be written, or nil if it can:
// the file cannot be opened for writing, or no file can be created beside it
// (SQLite needs to create the -wal and -shm files). It runs only once SQLite
// failed, to tell a read-only file from a damaged one.
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

// checkFile checks the file at path, if there is one, without letting SQLite open
// it: its mode and those of its -wal and -shm files, and its header. It reports
// fresh when there is no file.
func checkFile(path string, f Format) (fresh bool, err error) {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		fi, err := os.Stat(path + suffix)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return false, err
		}
		if !fi.Mode().IsRegular() {
			return false, fmt.Errorf("%s is not a regular file (mode %s); it is not a %s", path+suffix, fi.Mode(), f.Name)
		}
		// Windows has no Unix permission bits; its files report 0666 whatever their ACL.
		if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
			return false, fmt.Errorf("%s has mode %04o, which lets other users access the %s; run `chmod 600 %s`",
				path+suffix, perm, f.Name, path+suffix)
		}
	}
	file, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	defer file.Close()
	header := make([]byte, headerSize)
	n, err := io.ReadFull(file, header)
	switch {
	case n == 0 && err == io.EOF:
		// pixie never leaves an empty file (see create), and SQLite would take it
		// for an empty database: refuse it rather than write to someone's file.
		return false, fmt.Errorf("%s is an empty file, not a %s; remove it or choose another path", path, f.Name)
	case err == io.ErrUnexpectedEOF || (err == nil && !bytes.HasPrefix(header, sqliteMagic)):
		return false, fmt.Errorf("%s is not a %s (not an SQLite database); move it away or choose another path", path, f.Name)
	case err != nil:
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	return false, f.checkIDs(path, binary.BigEndian.Uint32(header[applicationIDOffset:]), binary.BigEndian.Uint32(header[userVersionOffset:]))
}

// checkIDs checks the application id and schema version of an SQLite database.
func (f Format) checkIDs(path string, appID, version uint32) error {
	switch {
	case appID != f.AppID:
		return fmt.Errorf("%s is not a %s (an SQLite database of another application, id %#08x); move it away or choose another path", path, f.Name, appID)
	case version > f.Version:
		return fmt.Errorf("%s is a %s of schema version %d, newer than this pixie reads (%d); upgrade pixie", path, f.Name, version, f.Version)
	case version < f.Version:
		return fmt.Errorf("%s is a corrupt %s (schema version %d)", path, f.Name, version)
	}
	return nil
}

// create makes a database at path, unless another process gets there first. It
// is built in a temporary file in the same directory and then hard-linked to
// path, so that path never names a half-made database, even if the process is
// killed, and a link never replaces a file another process made meanwhile. The
// schema is written in SQLite's rollback-journal mode, so that the application id
// is in the file's header (which checkFile reads) before Open switches the file
// to WAL mode.
func create(path string, f Format) error {
	dir, base := filepath.Split(path)
	tf, err := os.CreateTemp(dir, "."+base+".new-*") // mode 0600
	if err != nil {
		return fmt.Errorf("create %s: %w", path, readOnlyErr(err))
	}
	tmp := tf.Name()
	tf.Close()
	defer os.Remove(tmp)
	if err := initSchema(tmp, f); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create %s: %w", path, err)
	}
	// Make the new name durable; some platforms cannot sync a directory, and the
	// database is usable without it.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// initSchema gives the empty database at path f's schema, in one transaction.
func initSchema(path string, f Format) error {
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
	stmts := f.Schema + fmt.Sprintf("PRAGMA application_id = %d; PRAGMA user_version = %d;", f.AppID, f.Version)
	if _, err := tx.ExecContext(ctx, stmts); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	return db.Close()
}

// verify checks, through SQLite, that the open database is an intact file of
// its format.
func (d *DB) verify() error {
	if err := d.checkIDs(); err != nil {
		return err
	}
	rows, err := d.QueryContext(context.Background(), "PRAGMA quick_check")
	if err != nil {
		return d.corrupt(err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return d.corrupt(err)
		}
		if p != "ok" {
			problems = append(problems, p)
		}
	}
	if err := rows.Err(); err != nil {
		return d.corrupt(err)
	}
	if len(problems) > 0 {
		return d.corrupt(errors.New(strings.Join(problems, "; ")))
	}
	return nil
}

// checkIDs checks, through SQLite, the application id and schema version of the
// open database: the header [checkFile] read may be older than the WAL's.
func (d *DB) checkIDs() error {
	ctx := context.Background()
	var appID, version uint32
	if err := d.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return d.corrupt(err)
	}
	if err := d.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return d.corrupt(err)
	}
	return d.format.checkIDs(d.Path, appID, version)
}

// corrupt describes a failure of the checks of an open database. SQLite reports
// a file it may not write (or whose WAL files it may not create) in terms that
// read like damage; that one is reported as read-only, with no advice to move
// the file away.
func (d *DB) corrupt(err error) error {
	if c := sqliteCode(err); c == sqliteReadOnly || c == sqliteCantOpen {
		if why := unwritable(d.Path); why != nil {
			return fmt.Errorf("%s: %w (%v); pixie needs write access to it and to its directory", d.Path, ErrReadOnly, why)
		}
	}
	redo := ""
	if d.format.Redo != "" {
		redo = " and " + d.format.Redo
	}
	return fmt.Errorf("%s is a corrupt %s; restore it from a backup or move it away%s: %w", d.Path, d.format.Name, redo, err)
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
