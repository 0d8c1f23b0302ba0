package pixie_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/fakeclock"
)

func newClock() *fakeclock.Clock { return fakeclock.New(fakeclock.Start) }

// issuer hands out numbered tokens that live for life, counting its calls.
type issuer struct {
	clk   *fakeclock.Clock
	life  time.Duration
	calls atomic.Int64
	gate  chan struct{} // when set, each fetch waits for it
	fail  atomic.Pointer[error]
}

func (is *issuer) fetch(ctx context.Context, current *pixie.Token) (*pixie.Token, error) {
	if is.gate != nil {
		if err := await(ctx, is.gate); err != nil {
			return nil, err
		}
	}
	if e := is.fail.Load(); e != nil {
		return nil, *e
	}
	n := is.calls.Add(1)
	return &pixie.Token{
		AccessToken:  pixie.NewSecret(fmt.Sprintf("at-%d", n)),
		RefreshToken: pixie.NewSecret(fmt.Sprintf("rt-%d", n)),
		Expiry:       is.clk.Now().Add(is.life),
		Lifetime:     is.life,
	}, nil
}

func TestSourceServesCachedToken(t *testing.T) {
	clk := newClock()
	is := &issuer{clk: clk, life: time.Hour}
	src := pixie.NewSource(is.fetch, pixie.SourceOptions{Now: clk.Now})
	ctx := context.Background()
	a, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Error("second Token call returned a different token")
	}
	if got, want := is.calls.Load(), int64(1); got != want {
		t.Errorf("fetches = %d, want %d", got, want)
	}
}

func TestSourceStormMakesOneRequest(t *testing.T) {
	clk := newClock()
	is := &issuer{clk: clk, life: time.Hour, gate: make(chan struct{})}
	src := pixie.NewSource(is.fetch, pixie.SourceOptions{Now: clk.Now})
	const n = 1000
	var wg sync.WaitGroup
	var started sync.WaitGroup
	toks := make([]*pixie.Token, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		started.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			toks[i], errs[i] = src.Token(context.Background())
		}()
	}
	waitGroup(t, &started, "the storm's goroutines to start")
	close(is.gate)
	waitGroup(t, &wg, "the storm's Token calls")
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		if toks[i] != toks[0] {
			t.Fatalf("goroutine %d got another token", i)
		}
	}
	if got := is.calls.Load(); got != 1 {
		t.Errorf("fetches = %d, want 1", got)
	}

	// Crossing the expiry: the token is no longer valid for anyone, and the
	// storm again makes a single request.
	is.gate = nil
	clk.Advance(time.Hour)
	wg = sync.WaitGroup{}
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := src.Token(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	waitGroup(t, &wg, "the Token calls after the expiry")
	if got := is.calls.Load(); got != 2 {
		t.Errorf("fetches after expiry = %d, want 2", got)
	}
}

func TestSourceSkew(t *testing.T) {
	clk := newClock()
	is := &issuer{clk: clk, life: time.Hour}
	src := pixie.NewSource(is.fetch, pixie.SourceOptions{Now: clk.Now, Skew: 5 * time.Minute, RefreshAhead: 1})
	ctx := context.Background()
	if _, err := src.Token(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(55*time.Minute - time.Second)
	if _, err := src.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if got := is.calls.Load(); got != 1 {
		t.Fatalf("fetches before the skew = %d, want 1", got)
	}
	clk.Advance(time.Second)
	tok, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := is.calls.Load(); got != 2 {
		t.Fatalf("fetches at the skew = %d, want 2", got)
	}
	if got, want := tok.AccessToken.Reveal(), "at-2"; got != want {
		t.Errorf("token = %s, want %s", got, want)
	}
}

func TestSourceShortLivedTokenIsNotRefreshedOnEveryCall(t *testing.T) {
	clk := newClock()
	is := &issuer{clk: clk, life: 30 * time.Second}
	src := pixie.NewSource(is.fetch, pixie.SourceOptions{Now: clk.Now, RefreshAhead: 1})
	for range 10 {
		if _, err := src.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := is.calls.Load(); got != 1 {
		t.Errorf("fetches = %d, want 1 (a 30 s token is valid for its first half)", got)
	}
}

func TestSourceRefreshAhead(t *testing.T) {
	clk := newClock()
	is := &issuer{clk: clk, life: time.Hour}
	changed := make(chan *pixie.Token, 4)
	src := pixie.NewSource(is.fetch, pixie.SourceOptions{
		Now:      clk.Now,
		OnChange: func(_, n *pixie.Token) { changed <- n },
	})
	ctx := context.Background()
	first, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	receive(t, changed, "the first token's OnChange")
	clk.Advance(48 * time.Minute) // 80 % of the lifetime
	is.gate = make(chan struct{})
	got, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got != first {
		t.Fatal("the caller at the refresh point did not get the current token at once")
	}
	close(is.gate) // let the background refresh finish
	if n := receive(t, changed, "the background refresh"); n.AccessToken.Reveal() != "at-2" {
		t.Errorf("background refresh produced %s", n.AccessToken.Reveal())
	}
	now, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if now.AccessToken.Reveal() != "at-2" {
		t.Errorf("after the background refresh Token = %s, want at-2", now.AccessToken.Reveal())
	}
}

func TestSourceSharedStoreUsesPeersToken(t *testing.T) {
	clk := newClock()
	is := &issuer{clk: clk, life: time.Hour}
	store := &pixie.MemoryStore{}
	opts := pixie.SourceOptions{Store: store, Key: "k", Now: clk.Now}
	a := pixie.NewSource(is.fetch, opts)
	b := pixie.NewSource(is.fetch, opts)
	ctx := context.Background()
	ta, err := a.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := b.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !ta.AccessToken.Equal(tb.AccessToken) {
		t.Error("the second source did not take up the stored token")
	}
	if got := is.calls.Load(); got != 1 {
		t.Errorf("fetches = %d, want 1", got)
	}
	clk.Advance(time.Hour)
	for _, s := range []*pixie.Source{a, b, a, b} {
		if _, err := s.Token(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := is.calls.Load(); got != 2 {
		t.Errorf("fetches after expiry = %d, want 2", got)
	}
}

func TestSourceFailedRefreshKeepsStoredToken(t *testing.T) {
	clk := newClock()
	is := &issuer{clk: clk, life: time.Hour}
	store := &pixie.MemoryStore{}
	src := pixie.NewSource(is.fetch, pixie.SourceOptions{Store: store, Now: clk.Now})
	ctx := context.Background()
	if _, err := src.Token(ctx); err != nil {
		t.Fatal(err)
	}
	var rejected error = &pixie.Error{Code: "invalid_grant", Description: "refresh token revoked"}
	is.fail.Store(&rejected)
	clk.Advance(2 * time.Hour)
	_, err := src.Token(ctx)
	if !pixie.LoginRequired(err) {
		t.Fatalf("Token after a rejected refresh: %v; want a login-required error", err)
	}
	tok, _, err := store.Load(ctx, "default")
	if err != nil {
		t.Fatalf("stored token gone after a failed refresh: %v", err)
	}
	if got := tok.RefreshToken.Reveal(); got != "rt-1" {
		t.Errorf("stored refresh token = %s, want rt-1", got)
	}
}

func TestSourceInvalidGrantRereadsStore(t *testing.T) {
	clk := newClock()
	store := &pixie.MemoryStore{}
	ctx := context.Background()
	// The refresh fails because a peer rotated the refresh token; the peer's
	// token lands in the store while the failing request is in flight.
	peerTok := &pixie.Token{AccessToken: pixie.NewSecret("peer"), Expiry: clk.Now().Add(time.Hour)}
	stale := &pixie.Token{AccessToken: pixie.NewSecret("old"), RefreshToken: pixie.NewSecret("rt-old"), Expiry: clk.Now().Add(-time.Minute)}
	if _, err := store.Save(ctx, "default", stale, 0); err != nil {
		t.Fatal(err)
	}
	fetch := func(ctx context.Context, cur *pixie.Token) (*pixie.Token, error) {
		if _, err := store.Save(ctx, "default", peerTok, 1); err != nil {
			t.Errorf("peer save: %v", err)
		}
		return nil, &pixie.Error{Code: "invalid_grant"}
	}
	src := pixie.NewSource(fetch, pixie.SourceOptions{Store: store, Now: clk.Now})
	tok, err := src.Token(ctx)
	if err != nil {
		t.Fatalf("Token: %v (the peer's token should have been used)", err)
	}
	if got := tok.AccessToken.Reveal(); got != "peer" {
		t.Errorf("token = %s, want the peer's", got)
	}
}

// failingStore is a Store whose every call fails, as a dead Redis does.
type failingStore struct{}

var errStoreDown = errors.New("store down")

func (failingStore) Load(context.Context, string) (*pixie.Token, uint64, error) {
	return nil, 0, errStoreDown
}
func (failingStore) Save(context.Context, string, *pixie.Token, uint64) (uint64, error) {
	return 0, errStoreDown
}
func (failingStore) Delete(context.Context, string) error { return errStoreDown }
func (failingStore) Lock(context.Context, string, time.Duration) (pixie.Lease, error) {
	return nil, errStoreDown
}

// switchStore delegates to a MemoryStore until down is set.
type switchStore struct {
	pixie.MemoryStore
	down atomic.Bool
}

func (s *switchStore) Lock(ctx context.Context, key string, ttl time.Duration) (pixie.Lease, error) {
	if s.down.Load() {
		return nil, errStoreDown
	}
	return s.MemoryStore.Lock(ctx, key, ttl)
}

func TestSourceStoreDownServesHeldTokenUntilExpiry(t *testing.T) {
	clk := newClock()
	is := &issuer{clk: clk, life: time.Hour}
	store := &switchStore{}
	src := pixie.NewSource(is.fetch, pixie.SourceOptions{Store: store, Now: clk.Now, RefreshAhead: 1})
	ctx := context.Background()
	first, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	store.down.Store(true)
	clk.Advance(59*time.Minute + 30*time.Second) // inside the skew, before expiry
	tok, err := src.Token(ctx)
	if err != nil {
		t.Fatalf("Token with the store down before expiry: %v", err)
	}
	if tok != first {
		t.Error("did not serve the held token")
	}
	clk.Advance(time.Minute) // expired
	if _, err := src.Token(ctx); !errors.Is(err, errStoreDown) {
		t.Errorf("Token with the store down after expiry: %v, want the store error", err)
	}
}

func TestSourceStoreDownFromStart(t *testing.T) {
	is := &issuer{clk: newClock(), life: time.Hour}
	src := pixie.NewSource(is.fetch, pixie.SourceOptions{Store: failingStore{}})
	_, err := src.Token(context.Background())
	if !errors.Is(err, errStoreDown) {
		t.Errorf("err = %v, want the store error", err)
	}
}

func TestRefreshSourceWithoutTokenNeedsLogin(t *testing.T) {
	cfg := &pixie.Config{ClientID: "c", Endpoint: pixie.Endpoint{TokenURL: "https://example.invalid/token"}}
	_, err := cfg.RefreshSource(pixie.SourceOptions{}).Token(context.Background())
	if !pixie.LoginRequired(err) || !errors.Is(err, pixie.ErrNoToken) {
		t.Errorf("err = %v, want ErrNoToken", err)
	}
}

func TestSourcePutAndForceRefresh(t *testing.T) {
	clk := newClock()
	is := &issuer{clk: clk, life: time.Hour}
	store := &pixie.MemoryStore{}
	src := pixie.NewSource(is.fetch, pixie.SourceOptions{Store: store, Now: clk.Now})
	ctx := context.Background()
	login := &pixie.Token{AccessToken: pixie.NewSecret("login"), RefreshToken: pixie.NewSecret("rt-login"), Expiry: clk.Now().Add(time.Hour)}
	if err := src.Put(ctx, login); err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token(ctx)
	if err != nil || tok != login {
		t.Fatalf("Token after Put = %v, %v", tok, err)
	}
	forced, err := src.ForceRefresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := forced.AccessToken.Reveal(); got != "at-1" {
		t.Errorf("forced token = %s, want at-1", got)
	}
	stored, _, err := store.Load(ctx, "default")
	if err != nil || stored != forced {
		t.Errorf("store holds %v (%v), want the forced token", stored, err)
	}
	if got := is.calls.Load(); got != 1 {
		t.Errorf("fetches = %d, want 1", got)
	}

	// Invalidate after a peer saved a newer token: the peer's token is taken
	// up without a request.
	peer := &pixie.Token{AccessToken: pixie.NewSecret("peer"), Expiry: clk.Now().Add(time.Hour)}
	_, ver, _ := store.Load(ctx, "default")
	if _, err := store.Save(ctx, "default", peer, ver); err != nil {
		t.Fatal(err)
	}
	src.Invalidate()
	if got, err := src.Token(ctx); err != nil || got != peer {
		t.Errorf("Token after Invalidate = %v, %v; want the peer's token", got, err)
	}
	// Invalidate with nothing newer stored: the token is renewed.
	src.Invalidate()
	if got, err := src.Token(ctx); err != nil || got.AccessToken.Reveal() != "at-2" {
		t.Errorf("Token after Invalidate = %v, %v; want a renewed token", got, err)
	}
	if got := is.calls.Load(); got != 2 {
		t.Errorf("fetches = %d, want 2", got)
	}
}

func TestSourceCallerContextCancel(t *testing.T) {
	clk := newClock()
	is := &issuer{clk: clk, life: time.Hour, gate: make(chan struct{})}
	src := pixie.NewSource(is.fetch, pixie.SourceOptions{Now: clk.Now})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := src.Token(ctx); done <- err }()
	cancel()
	if err := receive(t, done, "the cancelled Token call"); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	// The renewal itself goes on for the others.
	close(is.gate)
	if _, err := src.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := is.calls.Load(); got != 1 {
		t.Errorf("fetches = %d, want 1", got)
	}
}

func TestSourceTokenDoesNotAllocate(t *testing.T) {
	clk := newClock()
	is := &issuer{clk: clk, life: time.Hour}
	src := pixie.NewSource(is.fetch, pixie.SourceOptions{Now: clk.Now})
	ctx := context.Background()
	if _, err := src.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = src.Token(ctx) }); n != 0 {
		t.Errorf("allocations per cached Token call = %v, want 0", n)
	}
}

func TestForceRefreshOnFreshSourceFetches(t *testing.T) {
	clk := newClock()
	is := &issuer{clk: clk, life: time.Hour}
	store := &pixie.MemoryStore{}
	ctx := context.Background()
	stored := &pixie.Token{AccessToken: pixie.NewSecret("stored"), RefreshToken: pixie.NewSecret("rt"), Expiry: clk.Now().Add(time.Hour)}
	if _, err := store.Save(ctx, "default", stored, 0); err != nil {
		t.Fatal(err)
	}
	src := pixie.NewSource(is.fetch, pixie.SourceOptions{Store: store, Now: clk.Now})
	tok, err := src.ForceRefresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.AccessToken.Reveal(); got != "at-1" {
		t.Errorf("ForceRefresh on a fresh Source = %s, want a fetched token", got)
	}
}

// TestSourceRefreshAheadShortToken checks that a token living only a few times
// Skew (five minutes, against the default 60 s) is still refreshed in the
// background before callers would have to wait.
func TestSourceRefreshAheadShortToken(t *testing.T) {
	clk := newClock()
	is := &issuer{clk: clk, life: 5 * time.Minute}
	changed := make(chan *pixie.Token, 4)
	src := pixie.NewSource(is.fetch, pixie.SourceOptions{Now: clk.Now, OnChange: func(_, n *pixie.Token) { changed <- n }})
	ctx := context.Background()
	first, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	receive(t, changed, "the first token's OnChange")
	clk.Advance(3*time.Minute + 15*time.Second) // past 80 % of the 4 usable minutes
	if got, err := src.Token(ctx); err != nil || got != first {
		t.Fatalf("Token = %v, %v; want the current token at once", got, err)
	}
	if n := receive(t, changed, "a background refresh before the token stopped being valid"); n.AccessToken.Reveal() != "at-2" {
		t.Errorf("background refresh produced %s", n.AccessToken.Reveal())
	}
}

// TestSourceSharesShortLivedToken checks that a token shorter-lived than twice
// the skew, saved by one Source, is used by another without a new request: its
// validity comes from its issued lifetime, not from the time left when loaded.
func TestSourceSharesShortLivedToken(t *testing.T) {
	clk := newClock()
	is := &issuer{clk: clk, life: 30 * time.Second}
	store := &pixie.MemoryStore{}
	opts := pixie.SourceOptions{Store: store, Now: clk.Now, RefreshAhead: 1}
	a, b := pixie.NewSource(is.fetch, opts), pixie.NewSource(is.fetch, opts)
	ctx := context.Background()
	if _, err := a.Token(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Second)
	if _, err := b.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if got := is.calls.Load(); got != 1 {
		t.Errorf("fetches = %d, want 1: the second Source should use the stored 30 s token", got)
	}
}

// flakyStore is a MemoryStore whose next failSaves saves fail, as when the store
// goes down between a refresh and its save.
type flakyStore struct {
	pixie.MemoryStore
	failSaves atomic.Int32
}

func (s *flakyStore) Save(ctx context.Context, key string, tok *pixie.Token, version uint64) (uint64, error) {
	if n := s.failSaves.Load(); n > 0 && s.failSaves.CompareAndSwap(n, n-1) {
		return 0, errStoreDown
	}
	return s.MemoryStore.Save(ctx, key, tok, version)
}

// rotator is an authorization server that rotates refresh tokens (RFC 9700
// section 4.14.2): each refresh token works once, and presenting one already
// used is a reuse, which it refuses with invalid_grant and counts.
type rotator struct {
	clk    *fakeclock.Clock
	mu     sync.Mutex
	issued int
	reuses int
}

func (r *rotator) fetch(_ context.Context, current *pixie.Token) (*pixie.Token, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.issued > 0 && (current == nil || current.RefreshToken.Reveal() != fmt.Sprintf("rt-%d", r.issued)) {
		r.reuses++
		return nil, &pixie.Error{Code: "invalid_grant", Description: "refresh token reused"}
	}
	r.issued++
	return &pixie.Token{
		AccessToken:  pixie.NewSecret(fmt.Sprintf("at-%d", r.issued)),
		RefreshToken: pixie.NewSecret(fmt.Sprintf("rt-%d", r.issued)),
		Expiry:       r.clk.Now().Add(time.Hour),
		Lifetime:     time.Hour,
	}, nil
}

// mustToken returns src's token, failing the test on an error.
func mustToken(tb testing.TB, src *pixie.Source) *pixie.Token {
	tb.Helper()
	tok, err := src.Token(context.Background())
	if err != nil {
		tb.Fatalf("Token: %v", err)
	}
	return tok
}

// TestSourceInvalidateKeepsUnsavedToken checks that a refreshed token the store
// could not take is still saved first after Invalidate, rather than the stored
// token's already rotated refresh token being used again.
func TestSourceInvalidateKeepsUnsavedToken(t *testing.T) {
	clk := newClock()
	rot := &rotator{clk: clk}
	store := &flakyStore{}
	src := pixie.NewSource(rot.fetch, pixie.SourceOptions{Store: store, Now: clk.Now})
	mustToken(t, src)
	clk.Advance(2 * time.Hour)
	store.failSaves.Store(1)
	if got, want := mustToken(t, src).AccessToken.Reveal(), "at-2"; got != want {
		t.Fatalf("token after a refresh whose save failed = %s, want %s", got, want)
	}
	src.Invalidate()
	if got, want := mustToken(t, src).AccessToken.Reveal(), "at-3"; got != want {
		t.Errorf("token after Invalidate = %s, want %s", got, want)
	}
	if got, want := rot.reuses, 0; got != want {
		t.Errorf("refresh token reuses = %d, want %d", got, want)
	}
	stored, _, err := store.Load(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := stored.RefreshToken.Reveal(), "rt-3"; got != want {
		t.Errorf("stored refresh token = %s, want %s", got, want)
	}
}

// TestSourceUnsavedTokenYieldsToNewerSave checks that a token kept in memory
// because its save failed is never written over a token another writer saved
// since, and that the Source then takes up that newer token instead of failing
// for ever.
func TestSourceUnsavedTokenYieldsToNewerSave(t *testing.T) {
	clk := newClock()
	rot := &rotator{clk: clk}
	store := &flakyStore{}
	src := pixie.NewSource(rot.fetch, pixie.SourceOptions{Store: store, Now: clk.Now})
	ctx := context.Background()
	mustToken(t, src)
	clk.Advance(2 * time.Hour)
	store.failSaves.Store(1)
	mustToken(t, src) // at-2, kept in memory only

	// Another process logs in again and saves its token.
	clk.Advance(2 * time.Hour)
	login := &pixie.Token{AccessToken: pixie.NewSecret("login"), RefreshToken: pixie.NewSecret("rt-login"), Expiry: clk.Now().Add(time.Hour)}
	if _, err := store.Save(ctx, "default", login, 1); err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token(ctx)
	if err != nil {
		t.Fatalf("Token after a peer saved a newer token: %v", err)
	}
	if got, want := tok.AccessToken.Reveal(), "login"; got != want {
		t.Errorf("token = %s, want %s", got, want)
	}
	stored, _, err := store.Load(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	if stored != login {
		t.Errorf("store holds %s, want the login token", stored.AccessToken.Reveal())
	}
}

// TestSourceOnChangeMayCallTheSource checks that OnChange may call the Source's
// methods, whatever renewal told it, without waiting for a lock it runs under.
func TestSourceOnChangeMayCallTheSource(t *testing.T) {
	calls := map[string]func(context.Context, *pixie.Source) error{
		"Put": func(ctx context.Context, src *pixie.Source) error {
			return src.Put(ctx, &pixie.Token{AccessToken: pixie.NewSecret("put")})
		},
		"ForceRefresh": func(ctx context.Context, src *pixie.Source) error {
			_, err := src.ForceRefresh(ctx)
			return err
		},
	}
	triggers := map[string]func(*pixie.Source, context.Context) (*pixie.Token, error){
		"Token":        (*pixie.Source).Token,
		"ForceRefresh": (*pixie.Source).ForceRefresh,
	}
	for tname, trigger := range triggers {
		for cname, call := range calls {
			t.Run(tname+"/"+cname, func(t *testing.T) {
				clk := newClock()
				is := &issuer{clk: clk, life: time.Hour}
				var (
					src   *pixie.Source
					once  atomic.Bool
					inner = make(chan error, 1)
				)
				src = pixie.NewSource(is.fetch, pixie.SourceOptions{Now: clk.Now, OnChange: func(_, _ *pixie.Token) {
					if once.CompareAndSwap(false, true) {
						ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
						defer cancel()
						inner <- call(ctx, src)
					}
				}})
				if _, err := trigger(src, context.Background()); err != nil {
					t.Fatal(err)
				}
				if err := receive(t, inner, "OnChange's call"); err != nil {
					t.Errorf("%s from OnChange: %v", cname, err)
				}
			})
		}
	}
}

// TestSourceOnChangePanicIsContained checks that a panicking OnChange neither
// ends the process nor keeps the store locked, and that the renewed token is
// served and stored.
func TestSourceOnChangePanicIsContained(t *testing.T) {
	clk := newClock()
	is := &issuer{clk: clk, life: time.Hour}
	store := &pixie.MemoryStore{}
	src := pixie.NewSource(is.fetch, pixie.SourceOptions{Store: store, Now: clk.Now, OnChange: func(_, _ *pixie.Token) {
		panic("hook failed")
	}})
	ctx := context.Background()
	if got, want := mustToken(t, src).AccessToken.Reveal(), "at-1"; got != want {
		t.Errorf("token = %s, want %s", got, want)
	}
	stored, _, err := store.Load(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := stored.AccessToken.Reveal(), "at-1"; got != want {
		t.Errorf("stored token = %s, want %s", got, want)
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	lease, err := store.Lock(lctx, "default", time.Minute)
	if err != nil {
		t.Fatalf("the store lock is still held after OnChange panicked: %v", err)
	}
	lease.Unlock(ctx)
}

// holdingStore is a MemoryStore whose first lease, once released, keeps its
// Unlock call waiting until resume is closed: the first renewal is held between
// releasing the lock and telling OnChange.
type holdingStore struct {
	pixie.MemoryStore
	resume chan struct{}
	locked atomic.Bool
}

func (s *holdingStore) Lock(ctx context.Context, key string, ttl time.Duration) (pixie.Lease, error) {
	l, err := s.MemoryStore.Lock(ctx, key, ttl)
	if err != nil || !s.locked.CompareAndSwap(false, true) {
		return l, err
	}
	return holdingLease{l, s.resume}, nil
}

type holdingLease struct {
	pixie.Lease
	resume chan struct{}
}

func (l holdingLease) Unlock(ctx context.Context) error {
	err := l.Lease.Unlock(ctx)
	if werr := await(ctx, l.resume); werr != nil {
		return werr
	}
	return err
}

// TestSourceOnChangeSkipsSupersededToken checks that a renewal whose token was
// replaced (here by Put) before OnChange could be told does not report it as
// the new token afterwards.
func TestSourceOnChangeSkipsSupersededToken(t *testing.T) {
	clk := newClock()
	store := &holdingStore{resume: make(chan struct{})}
	inFetch, gate := make(chan struct{}), make(chan struct{})
	fetch := func(ctx context.Context, _ *pixie.Token) (*pixie.Token, error) {
		close(inFetch)
		if err := await(ctx, gate); err != nil {
			return nil, err
		}
		return &pixie.Token{AccessToken: pixie.NewSecret("renewed"), Expiry: clk.Now().Add(time.Hour)}, nil
	}
	var told []string
	var mu sync.Mutex
	src := pixie.NewSource(fetch, pixie.SourceOptions{Store: store, Now: clk.Now, OnChange: func(_, n *pixie.Token) {
		mu.Lock()
		defer mu.Unlock()
		told = append(told, n.AccessToken.Reveal())
	}})
	ctx := context.Background()
	renewed := make(chan error, 1)
	go func() { _, err := src.Token(ctx); renewed <- err }()
	receive(t, inFetch, "the renewal's fetch")
	put := make(chan error, 1)
	login := &pixie.Token{AccessToken: pixie.NewSecret("login"), Expiry: clk.Now().Add(time.Hour)}
	go func() { put <- src.Put(ctx, login) }()
	close(gate)
	if err := receive(t, put, "Put"); err != nil {
		t.Fatal(err)
	}
	close(store.resume)
	if err := receive(t, renewed, "the renewal"); err != nil {
		t.Fatal(err)
	}
	if got := mustToken(t, src); got != login {
		t.Errorf("token held = %s, want the login token", got.AccessToken.Reveal())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(told) > 0 {
		t.Errorf("OnChange told of %q after Put replaced it", told)
	}
}

// watchedStore is a flakyStore that reports each Lock call as it starts and
// each Unlock as it ends, on buffered channels.
type watchedStore struct {
	flakyStore
	locking, unlocked chan struct{}
}

func (s *watchedStore) Lock(ctx context.Context, key string, ttl time.Duration) (pixie.Lease, error) {
	s.locking <- struct{}{}
	l, err := s.flakyStore.Lock(ctx, key, ttl)
	if err != nil {
		return nil, err
	}
	return watchedLease{l, s.unlocked}, nil
}

type watchedLease struct {
	pixie.Lease
	unlocked chan struct{}
}

func (l watchedLease) Unlock(ctx context.Context) error {
	defer func() { l.unlocked <- struct{}{} }()
	return l.Lease.Unlock(ctx)
}

// TestSourceRenewalWaitingForLockSeesUnsavedToken checks that a renewal which
// waited for the lock while another renewal of the same Source got a token it
// could not save does not refresh the stored token again: its refresh token
// has been rotated away.
func TestSourceRenewalWaitingForLockSeesUnsavedToken(t *testing.T) {
	clk := newClock()
	rot := &rotator{clk: clk}
	var hold atomic.Bool
	inFetch, gate := make(chan struct{}), make(chan struct{})
	fetch := func(ctx context.Context, current *pixie.Token) (*pixie.Token, error) {
		if hold.CompareAndSwap(true, false) {
			close(inFetch)
			if err := await(ctx, gate); err != nil {
				return nil, err
			}
		}
		return rot.fetch(ctx, current)
	}
	store := &watchedStore{locking: make(chan struct{}, 8), unlocked: make(chan struct{}, 8)}
	src := pixie.NewSource(fetch, pixie.SourceOptions{Store: store, Now: clk.Now})
	ctx := context.Background()
	mustToken(t, src)
	receive(t, store.locking, "the first renewal's Lock")
	receive(t, store.unlocked, "the first renewal's Unlock")

	clk.Advance(50 * time.Minute) // past the refresh point
	hold.Store(true)
	forced := make(chan error, 1)
	go func() { _, err := src.ForceRefresh(ctx); forced <- err }()
	receive(t, store.locking, "ForceRefresh's Lock")
	receive(t, inFetch, "ForceRefresh's fetch")
	mustToken(t, src) // starts the background refresh, which waits for the lock
	receive(t, store.locking, "the background refresh's Lock")
	store.failSaves.Store(1)
	close(gate)
	if err := receive(t, forced, "ForceRefresh"); err != nil {
		t.Fatal(err)
	}
	receive(t, store.unlocked, "ForceRefresh's Unlock")
	receive(t, store.unlocked, "the background refresh's Unlock")
	if got, want := rot.reuses, 0; got != want {
		t.Errorf("refresh token reuses = %d, want %d", got, want)
	}

	clk.Advance(2 * time.Hour)
	if got, want := mustToken(t, src).AccessToken.Reveal(), "at-3"; got != want {
		t.Errorf("token = %s, want %s", got, want)
	}
	stored, _, err := store.Load(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := stored.RefreshToken.Reveal(), "rt-3"; got != want {
		t.Errorf("stored refresh token = %s, want %s", got, want)
	}
}

// stuckUnlockStore is a MemoryStore whose leases' Unlock, as that of a store
// that stopped answering, returns only when its context is done.
type stuckUnlockStore struct{ pixie.MemoryStore }

func (s *stuckUnlockStore) Lock(ctx context.Context, key string, ttl time.Duration) (pixie.Lease, error) {
	l, err := s.MemoryStore.Lock(ctx, key, ttl)
	if err != nil {
		return nil, err
	}
	return stuckLease{l}, nil
}

type stuckLease struct{ pixie.Lease }

func (stuckLease) Unlock(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestSourceBoundsUnlock checks that a store whose Unlock hangs holds up a
// renewal or a Put at most one lease time (LockTTL): by then the lease has
// lapsed anyway.
func TestSourceBoundsUnlock(t *testing.T) {
	clk := newClock()
	is := &issuer{clk: clk, life: time.Hour}
	src := pixie.NewSource(is.fetch, pixie.SourceOptions{Store: &stuckUnlockStore{}, Now: clk.Now, LockTTL: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t.Run("renewal", func(t *testing.T) {
		if _, err := src.Token(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Put", func(t *testing.T) {
		if err := src.Put(ctx, &pixie.Token{AccessToken: pixie.NewSecret("put")}); err != nil {
			t.Fatal(err)
		}
	})
}

// lostReplyStore is a MemoryStore whose next Save is applied but reports an
// error, as when the connection to Redis drops before its reply arrives.
type lostReplyStore struct {
	pixie.MemoryStore
	lose atomic.Bool
}

func (s *lostReplyStore) Save(ctx context.Context, key string, tok *pixie.Token, version uint64) (uint64, error) {
	v, err := s.MemoryStore.Save(ctx, key, tok, version)
	if err == nil && s.lose.CompareAndSwap(true, false) {
		return 0, errStoreDown
	}
	return v, err
}

// TestSourceSaveWithLostReply checks that a token whose save was applied
// though it reported an error is taken up from the store, not refreshed with
// the refresh token it replaced.
func TestSourceSaveWithLostReply(t *testing.T) {
	clk := newClock()
	rot := &rotator{clk: clk}
	store := &lostReplyStore{}
	src := pixie.NewSource(rot.fetch, pixie.SourceOptions{Store: store, Now: clk.Now})
	mustToken(t, src)
	clk.Advance(2 * time.Hour)
	store.lose.Store(true)
	mustToken(t, src) // at-2, saved though the store said otherwise
	clk.Advance(2 * time.Hour)
	if got, want := mustToken(t, src).AccessToken.Reveal(), "at-3"; got != want {
		t.Errorf("token = %s, want %s", got, want)
	}
	if got, want := rot.reuses, 0; got != want {
		t.Errorf("refresh token reuses = %d, want %d", got, want)
	}
}
