package pixie

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/pixieauth/pixie/internal/wire"
)

// TokenSource supplies valid tokens.
type TokenSource interface {
	// Token returns a token that is valid now. It must be safe for concurrent
	// use by multiple goroutines.
	Token(ctx context.Context) (*Token, error)
}

// RefreshFunc obtains a new token. current is the newest token known (nil when
// there is none): a refresh-token grant refreshes it; a client credentials grant
// ignores it.
type RefreshFunc func(ctx context.Context, current *Token) (*Token, error)

// SourceOptions configure a [Source]. The zero value is usable.
type SourceOptions struct {
	// Store keeps the token, shared with other processes; nil means a private
	// [MemoryStore].
	Store Store
	// Key names the token in Store; "" means "default".
	Key string
	// Skew is how long before its expiry a token stops being served: a token is
	// valid only while at least Skew remains. 0 means 60 seconds. For a token
	// whose whole lifetime ([Token.Lifetime]) is shorter than twice Skew, half
	// its lifetime is used.
	Skew time.Duration
	// RefreshAhead is the fraction of a token's usable lifetime (until Skew
	// before its expiry) after which a background refresh starts while callers
	// keep getting the current token. 0 means 0.8; a value of 1 or more disables
	// refresh-ahead.
	RefreshAhead float64
	// LockTTL is the lease of the store lock and bounds the renewal done under
	// it: a process that dies while renewing holds up the others at most this
	// long. 0 means 30 seconds.
	LockTTL time.Duration
	// OnChange, when set, is called after the token held changes: after a new
	// token is saved to Store, or when one saved by another process is taken
	// up. It runs on the renewing goroutine once the store lock is released,
	// so it may call the Source's methods; keep it short. A change already
	// replaced by a newer token when it would be told is not told. A panic in
	// OnChange is logged, not propagated.
	OnChange func(old, new *Token)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives background refresh failures; nil discards them.
	Logger *slog.Logger
}

// Source is a [TokenSource] that manages a token's lifecycle: it serves the
// current token with a lock-free read, refreshes it in the background before it
// expires, and renews it when no valid token remains, with one renewal in flight
// per Source and, through the [Store] lock, one across every process sharing the
// store.
//
// A renewal takes the store lock, re-reads the store (another process may have
// renewed already: its token is used and no request is made), obtains a new
// token, saves it (compare-and-swap), releases the lock, and only then hands the
// token out. A stored token is never deleted because a renewal failed.
type Source struct {
	fetch RefreshFunc
	opt   SourceOptions
	cur   atomic.Pointer[held]
	group singleflight.Group
	bg    atomic.Bool // a background refresh is running
	// notBefore is when the token endpoint's last Retry-After ends, in wall
	// clock Unix nanoseconds (0: none): no fetch is sent before then.
	notBefore atomic.Int64
}

// held is the token a Source serves, with its precomputed deadlines. The
// deadlines carry no monotonic clock reading: see [Source.wallNow].
type held struct {
	tok        *Token
	auth       string    // tok's Authorization header value
	version    uint64    // the Store version tok was saved or loaded as
	validUntil time.Time // expiry minus skew; zero: no expiry
	refreshAt  time.Time // start of the background refresh; zero: never
	retryAt    time.Time // no background refresh before this, after a failure
	graceUntil time.Time // past validUntil, a renewal failed temporarily: serve tok until this
	unsaved    bool      // tok could not be saved: save it before anything else
}

const (
	defaultSkew         = 60 * time.Second
	defaultRefreshAhead = 0.8
	defaultLockTTL      = 30 * time.Second
	defaultKey          = "default"
)

// NewSource returns a Source that obtains tokens with fetch.
func NewSource(fetch RefreshFunc, opt SourceOptions) *Source {
	if opt.Store == nil {
		opt.Store = &MemoryStore{}
	}
	if opt.Key == "" {
		opt.Key = defaultKey
	}
	if opt.Skew <= 0 {
		opt.Skew = defaultSkew
	}
	if opt.RefreshAhead <= 0 {
		opt.RefreshAhead = defaultRefreshAhead
	}
	if opt.LockTTL <= 0 {
		opt.LockTTL = defaultLockTTL
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Source{fetch: fetch, opt: opt}
}

// ClientCredentialsSource returns a Source that fetches a new client credentials
// token (RFC 6749 section 4.4) whenever the current one nears expiry. reqOpts
// apply to every token request.
func (c *Config) ClientCredentialsSource(opt SourceOptions, reqOpts ...Option) *Source {
	return NewSource(func(ctx context.Context, _ *Token) (*Token, error) {
		return c.ClientCredentials(ctx, reqOpts...)
	}, opt)
}

// RefreshSource returns a Source that renews the stored token with its refresh
// token (RFC 6749 section 6). Put the first token in with [Source.Put] after a
// login, or let the Source load it from the Store. Without a stored token, or when
// the refresh token is rejected, Token returns an error for which [LoginRequired]
// is true.
func (c *Config) RefreshSource(opt SourceOptions) *Source {
	return NewSource(func(ctx context.Context, current *Token) (*Token, error) {
		if current == nil {
			return nil, ErrNoToken
		}
		return c.Refresh(ctx, current)
	}, opt)
}

// Token returns a valid token. While one is held it returns it without locking
// or allocating; once the token passes its refresh point it also starts one
// background refresh. When no valid token is held, it waits for a renewal, or
// until ctx is done.
func (s *Source) Token(ctx context.Context) (*Token, error) {
	h := s.cur.Load()
	if h != nil {
		now := s.opt.Now()
		if h.validUntil.IsZero() || now.Before(h.validUntil) {
			if !h.refreshAt.IsZero() && !now.Before(h.refreshAt) && !now.Before(h.retryAt) {
				s.refreshInBackground(h)
			}
			return h.tok, nil
		}
		if now.Before(h.graceUntil) {
			return h.tok, nil
		}
	}
	return s.renew(ctx, "renew", h, false)
}

// ForceRefresh obtains a new token now, even if the current one is valid, unless
// another process saved a newer token since this Source last looked. A Source
// that has not served a token yet always fetches one.
func (s *Source) ForceRefresh(ctx context.Context) (*Token, error) {
	return s.renew(ctx, "force", s.cur.Load(), true)
}

// Invalidate drops the token held in memory, so that the next Token call goes to
// the Store (and renews the token if the stored one is the same). The stored
// token is not touched.
func (s *Source) Invalidate() {
	if h := s.cur.Load(); h != nil {
		// Keep the version, so that the renewal sees whether the store moved on,
		// and whether the token still has to be saved: the stored one may carry
		// a refresh token that the server has rotated away.
		s.cur.CompareAndSwap(h, &held{tok: h.tok, version: h.version, unsaved: h.unsaved, validUntil: time.Unix(0, 1)})
	}
}

// authorization returns the Authorization header value for tok: precomputed when
// tok is the token held, so that authorizing a request does not build it again.
func (s *Source) authorization(tok *Token) string {
	if h := s.cur.Load(); h != nil && h.tok == tok {
		return h.auth
	}
	return authorization(tok)
}

// renewAfterReject is called when a resource server rejected tok: it renews
// the token, unless the Source already holds a different one.
func (s *Source) renewAfterReject(ctx context.Context, tok *Token) (*Token, error) {
	if h := s.cur.Load(); h != nil && h.tok != tok && s.valid(h, s.wallNow()) {
		return h.tok, nil
	}
	return s.ForceRefresh(ctx)
}

// Put makes tok the current token and saves it to the Store, replacing what is
// stored: use it after a login.
func (s *Source) Put(ctx context.Context, tok *Token) error {
	lease, err := s.opt.Store.Lock(ctx, s.opt.Key, s.opt.LockTTL)
	if err != nil {
		return fmt.Errorf("pixie: locking token store: %w", err)
	}
	defer s.unlock(ctx, lease)
	_, ver, err := s.opt.Store.Load(ctx, s.opt.Key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("pixie: reading token store: %w", err)
	}
	ver, err = s.opt.Store.Save(ctx, s.opt.Key, tok, ver)
	if err != nil {
		return fmt.Errorf("pixie: saving token: %w", err)
	}
	s.publish(s.hold(tok, ver, s.wallNow()))
	return nil
}

// wallNow reads the clock without its monotonic reading, for computing
// deadlines and comparing with an Expiry that may carry one. Between two times
// that both carry a monotonic reading (time.Now's do), Go compares the
// monotonic clocks, and those stop while the machine is suspended: a deadline
// made from time.Now().Add would pass late by the time slept, and an expired
// token be served meanwhile. Every deadline a held keeps is therefore on the
// wall clock alone, and [Source.Token] may compare it with time.Now() as is.
func (s *Source) wallNow() time.Time { return s.opt.Now().Round(0) }

func (s *Source) valid(h *held, now time.Time) bool {
	return h.validUntil.IsZero() || now.Before(h.validUntil)
}

// renew replaces seen, the token the caller found wanting. One renewal per key
// runs at a time in this Source; callers wait for it or for their own ctx. If
// another renewal replaced seen with a valid token in the meantime, that token is
// the answer. The renewal runs on a context detached from the first caller's
// cancellation, so that one impatient caller does not fail the others; it bounds
// itself (see renewLocked).
func (s *Source) renew(ctx context.Context, key string, seen *held, force bool) (*Token, error) {
	ch := s.group.DoChan(key, func() (any, error) {
		if cur := s.cur.Load(); cur != seen && cur != nil && s.valid(cur, s.wallNow()) {
			return cur.tok, nil
		}
		tok, c, err := s.renewLocked(context.WithoutCancel(ctx), seen, force)
		// The renewal is over and its lock released: from now on callers,
		// OnChange among them, start a new renewal instead of waiting for
		// this one.
		s.group.Forget(key)
		s.tell(c)
		return tok, err
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*Token), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// lockWaitSlack is how much longer than one lease a renewal waits for the lock:
// by then a holder that died has lost its lease.
const lockWaitSlack = 2 * time.Second

// renewLocked is the refresh protocol under the store lock. Waiting for the lock
// is bounded by one lease (and a little); the work under the lock gets a fresh
// LockTTL, the lease it holds, so it ends about when another process may take
// over (later by the time the store took to grant the lock; the
// compare-and-swap save fences a renewal that overruns its lease). It returns the change of the token held, for OnChange once the lock is
// released.
func (s *Source) renewLocked(base context.Context, seen *held, force bool) (*Token, changed, error) {
	st, key := s.opt.Store, s.opt.Key
	lctx, cancelWait := context.WithTimeout(base, s.opt.LockTTL+lockWaitSlack)
	lease, err := st.Lock(lctx, key, s.opt.LockTTL)
	cancelWait()
	if err != nil {
		return s.storeDown(seen, fmt.Errorf("pixie: locking token store: %w", err))
	}
	ctx, cancel := context.WithTimeout(base, s.opt.LockTTL)
	defer cancel()
	defer s.unlock(base, lease)

	// Another renewal of this Source may have ended while this one waited for
	// the lock. Its token is the answer, or else the one to replace; and if it
	// could not be saved, the stored refresh token may have been rotated away.
	if cur := s.cur.Load(); cur != nil && cur != seen {
		if s.valid(cur, s.wallNow()) {
			return cur.tok, changed{}, nil
		}
		seen = cur
	}
	if seen != nil && seen.unsaved {
		switch err := s.saveUnsaved(ctx, seen); {
		case errors.Is(err, ErrConflict):
			// Another writer saved since (a login, or a peer's renewal): its
			// token is newer than the one kept here, which must not replace
			// it. Go on with the stored token.
			s.opt.Logger.Warn("pixie: a newer token was saved meanwhile; dropping the token kept in memory", slog.String("key", key))
		case err != nil:
			return s.storeDown(seen, err)
		default:
			seen = s.cur.Load()
		}
	}
	stored, ver, err := st.Load(ctx, key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return s.storeDown(seen, fmt.Errorf("pixie: reading token store: %w", err))
	}
	now := s.wallNow()
	var seenVersion uint64
	if seen != nil {
		seenVersion = seen.version
	}
	// Another Source or process renewed (or this Source starts with a stored
	// token): use that token, with no request.
	if stored != nil && ver != seenVersion && !(force && seen == nil) {
		if h := s.hold(stored, ver, now); s.valid(h, now) {
			return stored, s.adopt(seen, h), nil
		}
	}

	if err := s.waitForServer(ctx); err != nil {
		return nil, changed{}, err
	}
	tok, err := s.fetch(ctx, stored)
	if err != nil {
		if ra, ok := RetryAfter(err); ok {
			s.notBefore.Store(s.wallNow().Add(ra).UnixNano())
		}
		if LoginRequired(err) {
			// A peer may have rotated the refresh token while this renewal
			// used the old one: look once more before asking for a login.
			if again, v2, lerr := st.Load(ctx, key); lerr == nil && v2 != ver {
				if h := s.hold(again, v2, s.wallNow()); s.valid(h, s.wallNow()) {
					return again, s.adopt(seen, h), nil
				}
			}
		}
		if Temporary(err) {
			if tok, ok := s.rideOut(seen, err); ok {
				return tok, changed{}, nil
			}
		}
		return nil, changed{}, err
	}
	newVer, err := st.Save(ctx, key, tok, ver)
	switch {
	case errors.Is(err, ErrConflict):
		// The lease lapsed and a peer saved meanwhile. Its token wins: the
		// store must hold one lineage.
		if again, v2, lerr := st.Load(ctx, key); lerr == nil {
			if h := s.hold(again, v2, s.wallNow()); s.valid(h, s.wallNow()) {
				return again, s.adopt(seen, h), nil
			}
		}
		return nil, changed{}, fmt.Errorf("pixie: saving refreshed token: %w", err)
	case err != nil:
		// The new token could not be persisted. Keep it in memory rather than
		// lose it (the refresh token it carries may have replaced the stored
		// one), and save it first at the next renewal.
		s.opt.Logger.Error("pixie: could not save the refreshed token; keeping it in memory", slog.String("key", key), slog.Any("error", err))
		h := s.hold(tok, ver, s.wallNow())
		h.unsaved = true
		return tok, s.change(seen, h), nil
	}
	return tok, s.change(seen, s.hold(tok, newVer, s.wallNow())), nil
}

// unlock releases lease, on a context detached from ctx's cancellation but
// bounded by one lease time: by then the lease has lapsed anyway, and a store
// that stopped answering holds up no longer.
func (s *Source) unlock(ctx context.Context, lease Lease) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opt.LockTTL)
	defer cancel()
	lease.Unlock(ctx)
}

// saveUnsaved persists a token that an earlier renewal could not save.
func (s *Source) saveUnsaved(ctx context.Context, h *held) error {
	v, err := s.opt.Store.Save(ctx, s.opt.Key, h.tok, h.version)
	if err != nil {
		return fmt.Errorf("pixie: saving token kept in memory: %w", err)
	}
	nh := *h
	nh.version, nh.unsaved = v, false
	s.cur.CompareAndSwap(h, &nh)
	return nil
}

// storeDown decides what to do when the store cannot be used: keep serving the
// token held while it has not expired (Skew is waived), otherwise fail with err.
func (s *Source) storeDown(seen *held, err error) (*Token, changed, error) {
	now := s.wallNow()
	if seen != nil && (seen.tok.Expiry.IsZero() || now.Before(seen.tok.Expiry)) {
		s.opt.Logger.Warn("pixie: token store unavailable; serving the token held in memory", slog.Any("error", err))
		return seen.tok, changed{}, nil
	}
	return nil, changed{}, err
}

// rideOut keeps serving the token held after a renewal failed temporarily (a
// 5xx, a 429, a dropped connection), as long as the token has not really
// expired: Skew exists to renew early, not to stop using a token that still
// works while the token endpoint is down. Callers get the held token without
// renewing until a quarter of the time left has passed (at least 250 ms, or
// the server's Retry-After), so an outage does not turn every call into a
// token request. It reports false when there is no such token.
func (s *Source) rideOut(seen *held, err error) (*Token, bool) {
	now := s.wallNow()
	// A token still valid is being refreshed ahead (or forced): that failure
	// is the background refresh's to space out, or the forcing caller's.
	if seen == nil || seen.tok.Expiry.IsZero() || s.valid(seen, now) {
		return nil, false
	}
	expiry := seen.tok.Expiry.Round(0)
	left := expiry.Sub(now)
	if left <= 0 {
		return nil, false
	}
	wait := max(left/4, 250*time.Millisecond)
	if ra, ok := RetryAfter(err); ok {
		wait = max(wait, ra)
	}
	nh := *seen
	nh.graceUntil = now.Add(min(wait, left))
	s.cur.CompareAndSwap(seen, &nh)
	s.opt.Logger.Warn("pixie: token renewal failed temporarily; serving the held token until it expires", slog.Duration("expires_in", left), slog.Any("error", err))
	return seen.tok, true
}

// waitForServer waits until the Retry-After of the last failed fetch has passed
// (RFC 6585 section 4, RFC 9110 section 10.2.3): the server asked not to be
// asked again before then, and a caller that needs a token waits rather than
// sending a request bound to be refused. When ctx ends sooner, it returns an
// error saying so.
func (s *Source) waitForServer(ctx context.Context) error {
	until := s.notBefore.Load()
	if until == 0 {
		return nil
	}
	d := time.Unix(0, until).Sub(s.wallNow())
	if d <= 0 {
		return nil
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return fmt.Errorf("pixie: the token endpoint asked to wait %v before the next request (Retry-After), longer than this renewal may take", d.Round(time.Millisecond))
	}
	return wire.Sleep(ctx, d)
}

// hold computes a token's deadlines, on the wall clock: now comes from
// [Source.wallNow].
func (s *Source) hold(tok *Token, version uint64, now time.Time) *held {
	h := &held{tok: tok, auth: authorization(tok), version: version}
	if tok.Expiry.IsZero() {
		return h
	}
	skew := s.opt.Skew
	if life := tok.Lifetime; life > 0 && life < 2*skew {
		skew = life / 2
	}
	// A RefreshFunc may have set Expiry with time.Now().Add: see wallNow.
	h.validUntil = tok.Expiry.Round(0).Add(-skew)
	if s.opt.RefreshAhead < 1 {
		// The fraction applies to the usable lifetime, so that even a token
		// that lives only a few times Skew is refreshed before callers must
		// wait for it.
		h.refreshAt = now.Add(time.Duration(float64(h.validUntil.Sub(now)) * s.opt.RefreshAhead))
	}
	return h
}

// adopt takes up a token another process saved.
func (s *Source) adopt(seen, h *held) changed { return s.change(seen, h) }

// changed is a change of the token held, to tell OnChange; the zero value is no
// change.
type changed struct{ old, new *Token }

// change publishes h in place of seen and returns the change for [Source.tell].
func (s *Source) change(seen, h *held) changed {
	s.publish(h)
	c := changed{new: h.tok}
	if seen != nil {
		c.old = seen.tok
	}
	return c
}

// tell calls OnChange with c, if the token changed and c.new is still the token
// held: a change that a later one (a Put, another renewal) overtook since is not
// told after it. It is called with no lock held, so that OnChange may call the
// Source's methods. A panic in OnChange is logged and goes no further: the
// token is saved and published already, and a panic on the renewing goroutine
// would end the process.
func (s *Source) tell(c changed) {
	if s.opt.OnChange == nil || c.old == c.new || s.cur.Load().tok != c.new {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			s.opt.Logger.Error("pixie: OnChange panicked", slog.Any("panic", r))
		}
	}()
	s.opt.OnChange(c.old, c.new)
}

func (s *Source) publish(h *held) { s.cur.Store(h) }

// refreshInBackground starts one renewal of h while callers keep using it. After
// a failure it waits a tenth of the time left (at least a second) before trying
// again, and callers block only once h is no longer valid.
func (s *Source) refreshInBackground(h *held) {
	if !s.bg.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer s.bg.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), s.opt.LockTTL)
		defer cancel()
		if _, err := s.renew(ctx, "renew", h, false); err != nil {
			s.opt.Logger.Warn("pixie: background token refresh failed; will retry", slog.Any("error", err))
			now := s.wallNow()
			wait := max(h.validUntil.Sub(now)/10, time.Second)
			if ra, ok := RetryAfter(err); ok {
				wait = max(wait, ra)
			}
			nh := *h
			nh.retryAt = now.Add(wait)
			s.cur.CompareAndSwap(h, &nh)
		}
	}()
}
