package web

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/pixieauth/pixie"
)

// defaultSkew is how long before its expiry the user's access token is renewed,
// as for a pixie.Source.
const defaultSkew = 60 * time.Second

// TokenSource returns the source of the user's access token. While the token the
// session holds is valid it is served as is; once it nears expiry (60 seconds
// before, or half its lifetime for a short-lived token) it is renewed with the
// session's refresh token by a pixie.Source whose store is the session: the
// renewal takes the session's lock in the session store, so one replica at a
// time refreshes a session, and a replica that waited takes up the token its
// peer saved instead of refreshing again. The refreshed token is saved in the
// session (a rotated refresh token is never lost) and never reaches the
// browser. When the refresh token is refused, Token returns an error for which
// pixie.LoginRequired is true: send the user to sign in again.
//
// The source is meant for the request it came with.
func (u *User) TokenSource() pixie.TokenSource {
	return &userTokens{u: u}
}

// Client returns an *http.Client whose requests carry the user's access token
// from [User.TokenSource] (RFC 6750 section 2.1), for calling APIs on the
// user's behalf. It sends requests with the provider Config's HTTP client
// transport (http.DefaultTransport when unset), and withholds the token from a
// redirect to another host.
func (u *User) Client() *http.Client {
	var base http.RoundTripper
	if hc := u.p.cfg.HTTPClient; hc != nil {
		base = hc.Transport
	}
	return &http.Client{Transport: &pixie.Transport{Source: u.TokenSource(), Base: base}}
}

// userTokens serves the session's token while it is valid and renews it
// through a pixie.Source over the session store once it is not.
type userTokens struct {
	u    *User
	once sync.Once
	src  *pixie.Source
}

func (t *userTokens) Token(ctx context.Context) (*pixie.Token, error) {
	u := t.u
	if tok := u.tok; tok != nil {
		skew := defaultSkew
		if tok.Lifetime > 0 && tok.Lifetime < 2*skew {
			skew = tok.Lifetime / 2
		}
		if tok.Valid(u.w.now(), skew) {
			return tok, nil
		}
	}
	t.once.Do(func() {
		t.src = u.p.cfg.RefreshSource(pixie.SourceOptions{
			Store:        &sessionTokens{w: u.w},
			Key:          u.key,
			RefreshAhead: 1, // no background refresh: the source lives for one request
			Now:          u.w.now,
			Logger:       u.w.logger,
		})
	})
	return t.src.Token(ctx)
}

// sessionTokens is a pixie.Store over the session store: the token of a
// session key is the session's token, its version the session's TokenVersion,
// and its lock the session's lock. Saving a token rewrites the session
// (compare-and-swap on the record, retried when only the last-seen time
// changed meanwhile), so a peer's refresh is never overwritten.
type sessionTokens struct{ w *Web }

var errSessionEnded = errors.New("web: the session ended")

func (st *sessionTokens) Load(ctx context.Context, key string) (*pixie.Token, uint64, error) {
	s, _, _, err := st.load(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	if s.tok == nil {
		return nil, 0, pixie.ErrNotFound
	}
	return s.tok, s.TokenVersion, nil
}

// load is [Web.loadSession] with pixie.ErrNotFound for a session that ended.
func (st *sessionTokens) load(ctx context.Context, key string) (*session, *Record, uint64, error) {
	s, rec, ver, err := st.w.loadSession(ctx, key)
	if errors.Is(err, ErrNoSession) {
		return nil, nil, 0, pixie.ErrNotFound
	}
	return s, rec, ver, err
}

// maxSaveTries bounds the retries of a token save that lost to touches.
const maxSaveTries = 5

func (st *sessionTokens) Save(ctx context.Context, key string, tok *pixie.Token, version uint64) (uint64, error) {
	for range maxSaveTries {
		s, rec, ver, err := st.load(ctx, key)
		if errors.Is(err, pixie.ErrNotFound) {
			// Signed out meanwhile: the token must not bring the session back.
			return 0, errSessionEnded
		}
		if err != nil {
			return 0, err
		}
		if s.TokenVersion != version {
			return 0, pixie.ErrConflict
		}
		next := *s // s may be shared through the cache: change a copy
		if err := next.setToken(tok); err != nil {
			return 0, err
		}
		_, err = st.w.save(ctx, key, &next, rec.Subject, rec.Expires, ver)
		if errors.Is(err, pixie.ErrConflict) {
			continue // the session changed (a touch): look again
		}
		if err != nil {
			return 0, err
		}
		return next.TokenVersion, nil
	}
	return 0, pixie.ErrConflict
}

// Delete ends the session: a Source never calls it.
func (st *sessionTokens) Delete(ctx context.Context, key string) error {
	return st.w.deleteSession(ctx, key)
}

func (st *sessionTokens) Lock(ctx context.Context, key string, ttl time.Duration) (pixie.Lease, error) {
	return st.w.store.Lock(ctx, key, ttl)
}
