package cli

import (
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

// openStore opens the token store. The sealing key comes from PIXIE_STORE_KEY
// when set, otherwise from the OS keyring or the key file beside the store.
func (a *app) openStore() (*sqlitestore.Store, error) {
	path, err := a.storePath()
	if err != nil {
		return nil, err
	}
	var opt sqlitestore.Option
	switch {
	case a.storeKey != "" || a.getenv(seal.EnvVar) != "":
		text := a.storeKey
		if text == "" {
			text = a.getenv(seal.EnvVar)
		}
		ks, err := seal.ParseKeySet(text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", seal.EnvVar, err)
		}
		opt = sqlitestore.WithKeySet(ks)
	default:
		r := sqlitestore.DefaultResolver(path)
		r.Env = "" // read through a.getenv above
		opt = sqlitestore.WithResolver(r)
	}
	return sqlitestore.Open(path, opt)
}

// openStoreIfExists opens the token store if there is one: commands that only
// read tokens do not create a store, or a key, for nothing. It returns nil when
// there is none.
func (a *app) openStoreIfExists() (*sqlitestore.Store, error) {
	path, err := a.storePath()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return a.openStore()
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
