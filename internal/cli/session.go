package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/sqlitestore"
)

// session is a profile opened for use: its settings, the token store and,
// once a request needs it, its OAuth client. Close it when done.
type session struct {
	app *app
	// key names the token in the store: the profile name, or for flags used
	// without a profile or changing its client or request, a name derived from
	// them.
	key      string
	settings Settings
	store    *sqlitestore.Store

	mu  sync.Mutex
	cfg *pixie.Config // built by client
}

// resolve merges the selected profile with the flags of sf and returns the
// settings and the store key of their token. Without a profile, flags that name
// a server and a client are enough; with neither, the error says how to log in
// (exit code 4).
func (a *app) resolve(sf *settingsFlags) (Settings, string, error) {
	base, exists, err := a.profileSettings()
	if err != nil {
		return Settings{}, "", err
	}
	s, err := sf.apply(base)
	if err != nil {
		return Settings{}, "", err
	}
	name := a.profileName()
	if !exists && !s.configured() {
		return Settings{}, "", noProfile(name)
	}
	if s.ClientID == "" {
		return Settings{}, "", usagef("no client: give --client-id ID")
	}
	// The profile's token is used only for the profile's own client and
	// request; flags that change them get a token cached apart.
	if !exists || identity(s) != identity(base) {
		return s, "flags:" + identity(s), nil
	}
	return s, name, nil
}

// noProfile is the error for a profile that does not exist.
func noProfile(name string) error {
	return &exitError{code: ExitLoginRequired, err: fmt.Errorf(
		"no profile %q\nLog in with: pixie login --profile %s --issuer URL --client-id ID", name, name)}
}

// openSession resolves the settings and opens the token store; the client is
// built when a request needs it (see [session.client]). A grant that needs a
// login fails with exit code 4 when no token is stored, before any request is
// made.
func (a *app) openSession(ctx context.Context, sf *settingsFlags) (*session, error) {
	s, key, err := a.resolve(sf)
	if err != nil {
		return nil, err
	}
	var st *sqlitestore.Store
	if s.grant() == grantClientCredentials {
		st, err = a.openStore()
	} else {
		st, err = a.openStoreIfExists()
	}
	if err != nil {
		return nil, err
	}
	if _, err := load(ctx, st, key); errors.Is(err, pixie.ErrNotFound) && s.grant() != grantClientCredentials {
		if st != nil {
			st.Close()
		}
		return nil, a.notLoggedIn()
	}
	return &session{app: a, key: key, settings: s, store: st}, nil
}

// identity digests what a token is for: the server (with the provider
// preset's parameters, such as a tenant), the client, the grant and what was
// requested. A token cached under one identity is not served for another.
func identity(s Settings) string {
	h := sha256.New()
	for _, v := range []string{s.Issuer, s.Provider, keyValueText(s.ProviderParams), s.TokenURL, s.ClientID, s.grant(),
		strings.Join(s.Scopes, " "), s.Audience, strings.Join(s.Resources, " "), keyValueText(s.Params)} {
		h.Write([]byte(v))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// keyValueText writes m as sorted k=v lines, one text for one map.
func keyValueText(m map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "%s=%s\n", k, m[k])
	}
	return b.String()
}

func (se *session) Close() error { return se.store.Close() }

// client returns the session's OAuth client, built on first use: serving a
// stored token that is still valid needs no discovery, no secret and no server.
func (se *session) client(ctx context.Context) (*pixie.Config, error) {
	se.mu.Lock()
	defer se.mu.Unlock()
	if se.cfg == nil {
		cfg, err := se.app.config(ctx, se.settings)
		if err != nil {
			return nil, err
		}
		se.cfg = cfg
	}
	return se.cfg, nil
}

// source returns the token source of the session's grant: client credentials
// fetch a new token; the other grants refresh the stored one. skew is the least
// lifetime a token must have to be served (0: the default).
func (se *session) source(skew time.Duration) *pixie.Source {
	return pixie.NewSource(func(ctx context.Context, current *pixie.Token) (*pixie.Token, error) {
		cc := se.settings.grant() == grantClientCredentials
		if current == nil && !cc {
			return nil, pixie.ErrNoToken
		}
		cfg, err := se.client(ctx)
		if err != nil {
			return nil, err
		}
		if cc {
			return cfg.ClientCredentials(ctx, se.settings.requestOptions()...)
		}
		return cfg.Refresh(ctx, current)
	}, pixie.SourceOptions{
		Store: se.store,
		Key:   se.key,
		Skew:  skew,
		// A command lives for one request: no background refresh.
		RefreshAhead: 1,
		Logger:       se.app.logger(),
	})
}

// token returns a valid token of the session, renewed when needed, with at
// least minTTL left when minTTL is set; force renews it in any case.
//
// A renewal is not abandoned when ctx is cancelled (Ctrl-C): it finishes, so
// that a rotated refresh token is saved and the store lock released rather
// than held by a dead process for the lock's lease, and then token returns
// ctx's error. A second Ctrl-C ends the process at once (see [Main]).
func (a *app) token(ctx context.Context, se *session, force bool, minTTL time.Duration) (*pixie.Token, *pixie.Source, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	src := se.source(minTTL)
	stop := context.AfterFunc(ctx, func() {
		fmt.Fprintln(a.stderr, "pixie: finishing the token renewal in progress, so that no token is lost (Ctrl-C again to quit now)")
	})
	defer stop()
	rctx := context.WithoutCancel(ctx)
	var tok *pixie.Token
	var err error
	if force {
		tok, err = src.ForceRefresh(rctx)
	} else if tok, err = src.Token(rctx); err == nil && minTTL > 0 && !tok.Expiry.IsZero() && tok.ExpiresIn(a.now()) < minTTL {
		tok, err = src.ForceRefresh(rctx)
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, nil, a.explain(se, err)
	}
	if minTTL > 0 && !tok.Expiry.IsZero() && tok.ExpiresIn(a.now()) < minTTL {
		return nil, nil, fmt.Errorf("the server issued a token valid for %s, less than --min-ttl %s", tok.ExpiresIn(a.now()).Round(time.Second), minTTL)
	}
	return tok, src, nil
}

// explain turns a token failure into the error shown to the user.
func (a *app) explain(se *session, err error) error {
	switch {
	case err == pixie.ErrNoToken:
		return a.notLoggedIn()
	case errors.Is(err, pixie.ErrNoToken):
		return loginRequired(a.profileName(), fmt.Errorf("the access token of profile %q expired and there is no refresh token to renew it", a.profileName()))
	case errors.Is(err, pixie.ErrInvalidClient):
		return clientAuthFailed(se.settings.ClientID, err)
	case pixie.LoginRequired(err):
		return loginRequired(a.profileName(), fmt.Errorf("the server rejected the stored grant: %w", err))
	}
	return err
}

// notLoggedIn is the error for a profile without a stored token.
func (a *app) notLoggedIn() error {
	return loginRequired(a.profileName(), fmt.Errorf("not logged in (profile %q)", a.profileName()))
}

// clientAuthFailed names a client authentication failure (RFC 6749 section 5.2
// invalid_client) as such; other errors pass unchanged.
func clientAuthFailed(clientID string, err error) error {
	if !errors.Is(err, pixie.ErrInvalidClient) {
		return err
	}
	return fmt.Errorf("client authentication failed for client %q: check the client ID, the secret and --auth-method: %w", clientID, err)
}
