package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/seal"
	"github.com/pixieauth/pixie/internal/sqlitedb"
	"github.com/pixieauth/pixie/internal/tokenrec"
)

// Errors for calls no store can serve; see the storetest package documentation.
var (
	errEmptyKey = errors.New("sqlitestore: the store key is empty")
	errNilToken = errors.New("sqlitestore: cannot store a nil token")
)

// adPrefix starts the associated data of every sealed record, which binds the
// blob to this kind of record and to its store key.
const adPrefix = "pixie sqlitestore token v1\x00"

func associatedData(key string) []byte {
	return append([]byte(adPrefix), key...)
}

// Load implements [pixie.Store.Load]. A record that cannot be opened (sealed with
// a key that is not configured, or altered) is an error that says which key id it
// needs; it is never reported as missing.
func (s *Store) Load(ctx context.Context, key string) (*pixie.Token, uint64, error) {
	if key == "" {
		return nil, 0, errEmptyKey
	}
	var (
		version int64
		sealed  []byte
	)
	err := s.db.QueryRowContext(ctx, "SELECT version, sealed FROM tokens WHERE key = ?", []byte(key)).Scan(&version, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, pixie.ErrNotFound
	}
	if err != nil {
		return nil, 0, s.dbError(ctx, err, "load %q", key)
	}
	tok, err := s.open(key, sealed)
	if err != nil {
		return nil, 0, err
	}
	return tok, uint64(version), nil
}

// open unseals and decodes the record of key.
func (s *Store) open(key string, sealed []byte) (*pixie.Token, error) {
	plain, err := s.keys.Open(sealed, associatedData(key))
	if errors.Is(err, seal.ErrUnknownKey) {
		id, _ := seal.KeyIDOf(sealed)
		return nil, fmt.Errorf("sqlitestore: token %q in %s: %w; supply key %s, for example as %s=<current key>,<key %s> (keys now from %s)",
			key, s.db.Path, err, id, seal.EnvVar, id, s.keySourceName())
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: token %q in %s cannot be opened: %w", key, s.db.Path, err)
	}
	tok, err := tokenrec.Decode(plain)
	clear(plain)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: token %q in %s: %w", key, s.db.Path, err)
	}
	return tok, nil
}

// Keys returns the keys of every record in the store, sorted, without opening
// the records: a record that cannot be opened (see [Store.Load]) is listed too.
func (s *Store) Keys(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT key FROM tokens ORDER BY key")
	if err != nil {
		return nil, s.dbError(ctx, err, "list keys")
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k []byte
		if err := rows.Scan(&k); err != nil {
			return nil, s.dbError(ctx, err, "list keys")
		}
		keys = append(keys, string(k))
	}
	if err := rows.Err(); err != nil {
		return nil, s.dbError(ctx, err, "list keys")
	}
	return keys, nil
}

func (s *Store) keySourceName() string {
	if s.source.Kind == "" {
		return "the program's configuration"
	}
	return s.source.String()
}

// Save implements [pixie.Store.Save]. It seals tok with the current key, so saving
// a token re-seals it after a key rotation. The compare-and-swap is a single
// SQLite statement, durable (synchronous=FULL) when Save returns.
func (s *Store) Save(ctx context.Context, key string, tok *pixie.Token, version uint64) (uint64, error) {
	switch {
	case key == "":
		return 0, errEmptyKey
	case tok == nil:
		return 0, errNilToken
	case version >= math.MaxInt64:
		return 0, pixie.ErrConflict // SQLite integers are int64: no record has this version
	case s.db.ReadOnly():
		return 0, s.readOnlyError("save %q", key)
	}
	plain, err := tokenrec.Encode(tok)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: %w", err)
	}
	sealed, err := s.keys.Seal(plain, associatedData(key))
	clear(plain)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: %w", err)
	}
	keyID := s.keys.Current().String()
	var res sql.Result
	if version == 0 {
		res, err = s.db.ExecContext(ctx,
			"INSERT INTO tokens (key, version, key_id, sealed) VALUES (?, 1, ?, ?) ON CONFLICT (key) DO NOTHING",
			[]byte(key), keyID, sealed)
	} else {
		res, err = s.db.ExecContext(ctx,
			"UPDATE tokens SET version = version + 1, key_id = ?, sealed = ? WHERE key = ? AND version = ?",
			keyID, sealed, []byte(key), int64(version))
	}
	if err != nil {
		return 0, s.dbError(ctx, err, "save %q", key)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, s.dbError(ctx, err, "save %q", key)
	}
	if n == 0 {
		return 0, pixie.ErrConflict
	}
	return version + 1, nil
}

// Delete implements [pixie.Store.Delete].
func (s *Store) Delete(ctx context.Context, key string) error {
	if key == "" {
		return errEmptyKey
	}
	if s.db.ReadOnly() {
		return s.readOnlyError("delete %q", key)
	}
	if _, err := s.db.ExecContext(ctx, "DELETE FROM tokens WHERE key = ?", []byte(key)); err != nil {
		return s.dbError(ctx, err, "delete %q", key)
	}
	return nil
}

// Reseal re-seals with the current key every record sealed with an older one,
// and returns how many it rewrote. Versions do not change, since the tokens do
// not: a concurrent Save still succeeds. Run it after a key rotation, before
// dropping the old key.
func (s *Store) Reseal(ctx context.Context) (int, error) {
	if s.db.ReadOnly() {
		return 0, s.readOnlyError("reseal")
	}
	current := s.keys.Current().String()
	rows, err := s.db.QueryContext(ctx, "SELECT key, version, sealed FROM tokens WHERE key_id != ?", current)
	if err != nil {
		return 0, s.dbError(ctx, err, "reseal")
	}
	type record struct {
		key     []byte
		version int64
		sealed  []byte
	}
	var old []record
	for rows.Next() {
		var r record
		if err := rows.Scan(&r.key, &r.version, &r.sealed); err != nil {
			rows.Close()
			return 0, s.dbError(ctx, err, "reseal")
		}
		old = append(old, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, s.dbError(ctx, err, "reseal")
	}
	resealed := 0
	for _, r := range old {
		sealed, changed, err := s.keys.Reseal(r.sealed, associatedData(string(r.key)))
		if err != nil {
			return resealed, fmt.Errorf("sqlitestore: reseal token %q in %s: %w", r.key, s.db.Path, err)
		}
		if !changed {
			continue
		}
		// The record is rewritten only if no Save replaced it meanwhile.
		res, err := s.db.ExecContext(ctx,
			"UPDATE tokens SET key_id = ?, sealed = ? WHERE key = ? AND version = ? AND sealed = ?",
			current, sealed, r.key, r.version, r.sealed)
		if err != nil {
			return resealed, s.dbError(ctx, err, "reseal %q", string(r.key))
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			resealed++
		}
	}
	return resealed, nil
}

// dbError describes a failed statement, the operation given by format and args.
// When ctx is done, the error wraps ctx's error rather than SQLite's report of
// the interruption. SQLITE_READONLY (a store whose file this process may read
// but not write) wraps [ErrReadOnly] too.
func (s *Store) dbError(ctx context.Context, err error, format string, args ...any) error {
	return fmt.Errorf("sqlitestore: %s in %s: %w", fmt.Sprintf(format, args...), s.db.Path, sqlitedb.Err(ctx, err))
}

// readOnlyError is the error of a write to a Store opened with [ReadOnly].
func (s *Store) readOnlyError(format string, args ...any) error {
	return fmt.Errorf("sqlitestore: %s in %s: %w (opened read-only)", fmt.Sprintf(format, args...), s.db.Path, ErrReadOnly)
}
