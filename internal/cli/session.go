package cli

import (
	"cmp"
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
	"github.com/pixieauth/pixie/dpop"
	"github.com/pixieauth/pixie/sqlitestore"
)

// session is a profile opened for use: its settings, the token stored for it
// and, once a request needs them, the token store opened for writing and the
// OAuth client. Close it when done.
type session struct {
	app *app
	// key names the token in the store: the profile name, or for flags used
	// without a profile or changing its client or request, a name derived from
	// them (see [flagsKey]).
	key      string
	settings Settings
	// reader is the store opened read-only (nil when there is none), and
	// stored and version what it held for key when the session opened: enough
	// to serve a valid token without a lock or a write.
	reader  *sqlitestore.Store
	stored  *pixie.Token
	version uint64

	// profile, for a down-scoped variant of a profile's token (see
	// [variantKey]), is the profile whose grant renews it; dpop is the DPoP
	// key the tokens are bound to, if any (see [dpopKeyExtra]).
	profile string
	dpop    *dpop.Key

	mu     sync.Mutex
	writer *sqlitestore.Store // opened by store
	cfg    *pixie.Config      // built by client
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
	// request; flags that change them get a token cached apart, derived from
	// the profile's grant when they change only what the token is for.
	if exists && isVariant(s, base) {
		return s, variantKey(name, s), nil
	}
	if !exists || identity(s) != identity(base) {
		return s, flagsKey(s), nil
	}
	return s, name, nil
}

// noProfile is the error for a profile that does not exist.
func noProfile(name string) error {
	return &exitError{code: ExitLoginRequired, err: fmt.Errorf(
		"no profile %q\nLog in with: pixie login --profile %s --issuer URL --client-id ID", name, name)}
}

// openSession resolves the settings and reads the stored token; the store is
// opened for writing, and the client built, only when a renewal needs them
// (see [session.store] and [session.client]). A grant that needs a login fails
// with exit code 4 when no token is stored, before any request is made.
func (a *app) openSession(ctx context.Context, sf *settingsFlags) (*session, error) {
	s, key, err := a.resolve(sf)
	if err != nil {
		return nil, err
	}
	if _, ok := profileOfKey(key); !ok && s.hasSecret() {
		// A token cached for flags is keyed by where the secret comes from,
		// not by the secret: read it now, so that a secret that cannot be
		// read is reported rather than hidden by the cached token.
		if _, err := a.secret(ctx, s); err != nil {
			return nil, err
		}
	}
	st, tok, version, err := a.readToken(ctx, key)
	se := &session{app: a, key: key, settings: s, reader: st, stored: tok, version: version}
	switch {
	case errors.Is(err, pixie.ErrNotFound) && s.grant() != grantClientCredentials && !isVariantKey(key):
		// A variant needs its profile's token, not one of its own (see
		// [session.openGrant]).
		se.Close()
		return nil, a.notLoggedIn(key)
	case err != nil && !errors.Is(err, pixie.ErrNotFound):
		se.Close()
		return nil, unopenable(key, err)
	}
	if err := se.openGrant(ctx, st); err != nil {
		se.Close()
		return nil, err
	}
	return se, nil
}

// flagsKey is the store key of the token of settings s used without their
// profile: "flags:", their identity, then the issuer and the client on lines of
// their own, which pixie status shows. Profile names cannot hold ':', so no
// profile's token has such a key.
func flagsKey(s Settings) string {
	return flagsPrefix + identity(s) + "\n" + s.server() + "\n" + s.ClientID
}

const flagsPrefix = "flags:"

// profileOfKey returns the profile whose token key is, or false for a token
// cached for flags.
func profileOfKey(key string) (string, bool) {
	if strings.HasPrefix(key, flagsPrefix) {
		return "", false
	}
	if name, ok := variantProfile(key); ok {
		return name, true
	}
	return key, true
}

// flagsOfKey returns the server and the client that the key of a token cached
// for flags names (see [flagsKey]).
func flagsOfKey(key string) (server, clientID string) {
	_, rest, _ := strings.Cut(key, "\n")
	server, clientID, _ = strings.Cut(rest, "\n")
	return server, clientID
}

// keyLabel names the owner of key's token for messages: `profile "work"`, or
// "flags: SERVER CLIENT".
func keyLabel(key string) string {
	if name, ok := profileOfKey(key); ok {
		return fmt.Sprintf("profile %q", name)
	}
	server, clientID := flagsOfKey(key)
	return "flags: " + server + " " + clientID
}

// identity digests what a token is for: the server (with the provider
// preset's parameters, such as a tenant), the client and where its secret or
// key comes from, the grant and what was requested. A token cached under one
// identity is not served for another: in particular, naming another secret
// gets a token of its own, so that a wrong secret is reported rather than
// hidden by a token fetched with the right one.
func identity(s Settings) string {
	h := sha256.New()
	for _, v := range []string{s.Issuer, s.Provider, keyValueText(s.ProviderParams), s.TokenURL, s.ClientID, s.grant(),
		strings.Join(s.Scopes, " "), s.Audience, strings.Join(s.Resources, " "), keyValueText(s.Params),
		s.ClientSecretEnv, s.ClientSecretFile, s.ClientSecretCmd, s.PrivateKey} {
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

// Close closes the stores the session opened.
func (se *session) Close() error {
	var errs []error
	for _, st := range []*sqlitestore.Store{se.reader, se.writer} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// store returns the token store opened for writing, opened on first use
// (and created, for client credentials).
func (se *session) store() (*sqlitestore.Store, error) {
	se.mu.Lock()
	defer se.mu.Unlock()
	if se.writer == nil {
		st, err := se.app.openStore()
		if err != nil {
			return nil, err
		}
		se.writer = st
	}
	return se.writer, nil
}

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
		if se.dpop != nil {
			cfg.DPoP = se.dpop
		}
		se.cfg = cfg
	}
	return se.cfg, nil
}

// source returns the token source of the session's grant: client credentials
// fetch a new token; the other grants refresh the stored one. skew is the least
// lifetime a token must have to be served (0: the default).
func (se *session) source(skew time.Duration) (*pixie.Source, error) {
	st, err := se.store()
	if err != nil {
		return nil, err
	}
	return pixie.NewSource(func(ctx context.Context, current *pixie.Token) (*pixie.Token, error) {
		if se.profile != "" {
			return se.renewVariant(ctx)
		}
		cc := se.settings.grant() == grantClientCredentials
		if current == nil && !cc {
			return nil, pixie.ErrNoToken
		}
		cfg, err := se.client(ctx)
		if err != nil {
			return nil, err
		}
		var tok *pixie.Token
		if cc {
			tok, err = cfg.ClientCredentials(ctx, se.settings.requestOptions()...)
		} else {
			tok, err = cfg.Refresh(ctx, current)
		}
		if err != nil {
			return nil, err
		}
		// The renewed tokens are bound to the same key (RFC 9449 section 5).
		return withDPoPKey(tok, se.dpop)
	}, pixie.SourceOptions{
		Store: st,
		Key:   se.key,
		Skew:  skew,
		// A command lives for one request: no background refresh.
		RefreshAhead: 1,
		Logger:       se.app.logger(),
	}), nil
}

// defaultSkew is how long before its expiry a token stops being served when
// no --min-ttl is given: the Source's default.
const defaultSkew = time.Minute

// cached returns the stored token when it can be served as it is: valid for at
// least minTTL (or a minute) more. It takes no lock and makes no request;
// otherwise it returns nil and [app.token] renews. Its rule is the Source's,
// never more lenient: a short-lived token, which the Source serves until half
// its lifetime is left, is left to the Source.
func (se *session) cached(minTTL time.Duration) *pixie.Token {
	tok := se.stored
	if tok == nil || !tok.Valid(se.app.now(), cmp.Or(minTTL, defaultSkew)) {
		return nil
	}
	return tok
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
	if tok := se.stored; tok != nil && !force && minTTL > 0 && tok.Lifetime > 0 && tok.Lifetime < minTTL {
		// A renewal would most likely bring a token no longer-lived than this
		// one: fail before spending a refresh on it. (--force-refresh tries
		// anyway, should the server have changed.)
		return nil, nil, fmt.Errorf("the server issues tokens valid for %s, less than --min-ttl %s: ask for a shorter --min-ttl", tok.Lifetime.Round(time.Second), minTTL)
	}
	src, err := se.source(minTTL)
	if err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() {
		fmt.Fprintln(a.stderr, "pixie: finishing the token renewal in progress, so that no token is lost (Ctrl-C again to quit now)")
	})
	defer stop()
	rctx := context.WithoutCancel(ctx)
	var tok *pixie.Token
	if force {
		tok, err = src.ForceRefresh(rctx)
	} else if tok, err = src.Token(rctx); err == nil && minTTL > 0 && !tok.Expiry.IsZero() && tok.ExpiresIn(a.now()) < minTTL {
		tok, err = src.ForceRefresh(rctx)
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		se.recordRejection(rctx, err)
		return nil, nil, a.explain(se, err)
	}
	if minTTL > 0 && !tok.Expiry.IsZero() && tok.ExpiresIn(a.now()) < minTTL {
		return nil, nil, fmt.Errorf("the server issued a token valid for %s, less than --min-ttl %s: ask for a shorter --min-ttl", tok.ExpiresIn(a.now()).Round(time.Second), minTTL)
	}
	return tok, src, nil
}

// rejectedKey marks, in a stored token's Extra, that the server rejected its
// refresh token: when, in RFC 3339. The token is kept (a stored token is never
// deleted because a renewal failed, and its access token may still be
// accepted), but pixie status shows that only a new login helps. A renewal or
// a login replaces the token, and the mark with it.
const rejectedKey = "pixie_cli_refresh_rejected_at"

// rejectedAt returns when the server rejected tok's refresh token, or "".
func rejectedAt(tok *pixie.Token) string {
	at, _ := tok.Extra[rejectedKey].(string)
	return at
}

// recordRejection marks the stored token rejected when err says the server
// rejected its grant. Only the token this session read is marked, with a
// compare-and-swap on its version: a token another process saved since is
// left alone.
func (se *session) recordRejection(ctx context.Context, err error) {
	if se.stored == nil || se.stored.RefreshToken.IsZero() || errors.Is(err, pixie.ErrNoToken) || !pixie.LoginRequired(err) {
		return
	}
	st, serr := se.store()
	if serr != nil {
		return
	}
	tok, ver, lerr := st.Load(ctx, se.key)
	if lerr != nil || ver != se.version {
		return
	}
	marked := *tok
	marked.Extra = maps.Clone(tok.Extra)
	if marked.Extra == nil {
		marked.Extra = map[string]any{}
	}
	marked.Extra[rejectedKey] = se.app.now().UTC().Format(time.RFC3339)
	if _, err := st.Save(ctx, se.key, &marked, ver); err != nil {
		se.app.logger().Debug("pixie: could not record the rejection of the refresh token", "error", err)
	}
}

// explain turns a token failure into the error shown to the user.
func (a *app) explain(se *session, err error) error {
	switch {
	case err == pixie.ErrNoToken:
		return a.notLoggedIn(se.key)
	case errors.Is(err, pixie.ErrNoToken):
		return loginRequired(se.key, fmt.Errorf("the access token of %s expired and there is no refresh token to renew it", keyLabel(se.key)))
	case errors.Is(err, pixie.ErrInvalidClient):
		return clientAuthFailed(se.settings.ClientID, err)
	case pixie.LoginRequired(err):
		return loginRequired(se.key, fmt.Errorf("the server rejected the stored grant: %w", err))
	}
	return unopenable(se.key, err)
}

// notLoggedIn is the error for a token key that has none stored.
func (a *app) notLoggedIn(key string) error {
	return loginRequired(key, fmt.Errorf("not logged in (%s)", keyLabel(key)))
}

// clientAuthFailed names a client authentication failure (RFC 6749 section 5.2
// invalid_client) as such; other errors pass unchanged.
func clientAuthFailed(clientID string, err error) error {
	if !errors.Is(err, pixie.ErrInvalidClient) {
		return err
	}
	return fmt.Errorf("client authentication failed for client %q: check the client ID, the secret and --auth-method: %w", clientID, err)
}
