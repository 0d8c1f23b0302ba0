package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/seal"
	"github.com/pixieauth/pixie/sqlitestore"
)

// storeFile is the name of the token store in pixie's home.
const storeFile = "tokens.db"

// storePath returns where the token store is.
func (a *app) storePath() (string, error) {
	dir, err := a.home()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, storeFile), nil
}

// openStore opens the token store for reading and writing, creating it if
// needed. The sealing key comes from PIXIE_STORE_KEY when set, otherwise from
// the OS keyring or the key file beside the store.
func (a *app) openStore() (*sqlitestore.Store, error) {
	st, err := a.open()
	if err != nil {
		return nil, err
	}
	if src := st.KeySource(); src.Created && src.Kind == seal.SourceFile {
		// Said once: the key is created once. Where the key lives decides who
		// can read the tokens, so the user should know.
		why := "no OS keyring is configured"
		if len(src.Skipped) > 0 {
			why = "the OS keyring did not answer: " + errors.Join(src.Skipped...).Error()
		}
		fmt.Fprintf(a.stderr, "pixie: the token store's key was saved in %s (mode 0600), as %s.\nAnyone who can read that file can open the stored tokens; set %s to keep the key elsewhere.\n",
			src.Name, why, seal.EnvVar)
	}
	return st, nil
}

// openStoreIfExists opens the token store if there is one: commands that only
// read tokens do not create a store, or a key, for nothing. It returns nil when
// there is none.
func (a *app) openStoreIfExists() (*sqlitestore.Store, error) {
	if ok, err := a.storeExists(); !ok || err != nil {
		return nil, err
	}
	return a.openStore()
}

// readStore opens the token store for reading only, or returns nil when there
// is none. Reading takes no lock and writes nothing, so it works in a
// read-only home, and it skips the work only a writer needs.
func (a *app) readStore() (*sqlitestore.Store, error) {
	if ok, err := a.storeExists(); !ok || err != nil {
		return nil, err
	}
	return a.open(sqlitestore.ReadOnly())
}

// storeExists reports whether there is a token store.
func (a *app) storeExists() (bool, error) {
	path, err := a.storePath()
	if err != nil {
		return false, err
	}
	_, err = os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist), nil
}

// open opens the token store with its keys and opts.
func (a *app) open(opts ...sqlitestore.Option) (*sqlitestore.Store, error) {
	path, err := a.storePath()
	if err != nil {
		return nil, err
	}
	switch {
	case a.storeKey != "":
		ks, err := seal.ParseKeySet(a.storeKey)
		if err != nil {
			return nil, err
		}
		opts = append(opts, sqlitestore.WithKeySet(ks))
	case a.getenv(seal.EnvVar) != "":
		ks, err := seal.ParseKeySet(a.getenv(seal.EnvVar))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", seal.EnvVar, err)
		}
		opts = append(opts, sqlitestore.WithKeySet(ks), sqlitestore.WithKeySource(seal.Source{Kind: seal.SourceEnv, Name: seal.EnvVar}))
	default:
		r := sqlitestore.DefaultResolver(path)
		r.Env = "" // read through a.getenv above
		opts = append(opts, sqlitestore.WithResolver(r))
	}
	return sqlitestore.Open(path, opts...)
}

// load reads key's token from st, which may be nil for a store that does not
// exist: then nothing is stored.
func load(ctx context.Context, st *sqlitestore.Store, key string) (*pixie.Token, error) {
	if st == nil {
		return nil, pixie.ErrNotFound
	}
	tok, _, err := st.Load(ctx, key)
	return tok, err
}

// readToken opens the token store read-only (see [app.readStore]) and reads
// key's token and its version. It returns a nil store and [pixie.ErrNotFound]
// when there is no store.
//
// Without PIXIE_STORE_KEY, the key file beside the store is tried first, and
// the key resolver (OS keyring, then key file) only when that file's keys do
// not open the token: a token names the key that sealed it, so the file
// cannot serve a wrong one, and a command that only reads a token is spared
// the keyring's lookup, a D-Bus round trip (or, on Linux without a session
// bus, an attempt to launch one) that costs as much as the rest of the read.
func (a *app) readToken(ctx context.Context, key string) (*sqlitestore.Store, *pixie.Token, uint64, error) {
	if ok, err := a.storeExists(); !ok || err != nil {
		return nil, nil, 0, cmp.Or(err, pixie.ErrNotFound)
	}
	if st := a.openWithKeyFile(); st != nil {
		tok, ver, err := st.Load(ctx, key)
		if _, other := sealedElsewhere(err); !other {
			return st, tok, ver, err
		}
		st.Close()
	}
	st, err := a.open(sqlitestore.ReadOnly())
	if err != nil {
		return nil, nil, 0, err
	}
	tok, ver, err := st.Load(ctx, key)
	return st, tok, ver, err
}

// openWithKeyFile opens the token store read-only with the keys of the key
// file beside it, or returns nil when PIXIE_STORE_KEY is set or that file
// holds no usable key (the resolver then reports why).
func (a *app) openWithKeyFile() *sqlitestore.Store {
	if a.storeKey != "" || a.getenv(seal.EnvVar) != "" {
		return nil
	}
	path, err := a.storePath()
	if err != nil {
		return nil
	}
	file := filepath.Join(filepath.Dir(path), sqlitestore.KeyFileName)
	st, err := sqlitestore.Open(path, sqlitestore.ReadOnly(), sqlitestore.WithResolver(seal.Resolver{File: file}))
	if err != nil {
		return nil
	}
	return st
}

// sealedElsewhere returns the id of the key that sealed a record err says
// cannot be opened for want of that key.
func sealedElsewhere(err error) (seal.KeyID, bool) {
	var uk *seal.UnknownKeyError
	if errors.As(err, &uk) {
		return uk.ID, true
	}
	return seal.KeyID{}, false
}

// unopenable adds to err, about the record of key sealed with a key that is
// not configured, the commands that replace the record.
func unopenable(key string, err error) error {
	if _, ok := sealedElsewhere(err); !ok {
		return err
	}
	if name, ok := profileOfKey(key); ok {
		return fmt.Errorf("%w\nOr replace the token: pixie login --profile %s, or delete it: pixie logout --profile %s", err, name, name)
	}
	return fmt.Errorf("%w\nOr replace the token: run the same command with the key it was sealed with, or pixie logout with the same flags", err)
}

// replaceUnopenable deletes key's record when it was sealed with a key that is
// not configured, so that a login can replace it: no command could use it, and
// without this the login would fail on it.
func (a *app) replaceUnopenable(ctx context.Context, st *sqlitestore.Store, key string) error {
	_, _, err := st.Load(ctx, key)
	id, ok := sealedElsewhere(err)
	if !ok {
		return nil
	}
	if err := st.Delete(ctx, key); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "pixie: replacing the token of %s, which was sealed with key %s, not configured.\n", keyLabel(key), id)
	return nil
}
