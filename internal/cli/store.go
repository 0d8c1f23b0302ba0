package cli

import (
	"fmt"
	"path/filepath"

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
