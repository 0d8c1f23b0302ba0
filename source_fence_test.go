package pixie_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/fakeclock"
)

// The Source has two defences against two renewals of one token: the
// compare-and-swap on the store version, which fences a renewal whose lease
// lapsed, and its own single-flight, which keeps the callers of one Source to
// one renewal. These tests take each away from the other's cover.

// lapsingStore is a MemoryStore whose leases the test can make lapse, as a
// lease does when its holder overruns LockTTL: the lock is free again while
// its holder still works under it.
type lapsingStore struct {
	pixie.MemoryStore
	mu     sync.Mutex
	leases []pixie.Lease
}

func (s *lapsingStore) Lock(ctx context.Context, key string, ttl time.Duration) (pixie.Lease, error) {
	l, err := s.MemoryStore.Lock(ctx, key, ttl)
	if err == nil {
		s.mu.Lock()
		s.leases = append(s.leases, l)
		s.mu.Unlock()
	}
	return l, err
}

// lapse ends every lease granted so far. A MemoryStore lease released twice,
// or after another holder took the lock, leaves that holder's lock alone.
func (s *lapsingStore) lapse(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.leases {
		l.Unlock(ctx)
	}
	s.leases = nil
}

// TestSourceStaleSaveLosesToNewerToken checks the compare-and-swap: a renewal
// whose store lease lapsed while its request was in flight, and during which
// another holder renewed and saved, must not save its token over the newer
// one, and must take up the newer token instead of serving its own.
func TestSourceStaleSaveLosesToNewerToken(t *testing.T) {
	clk := newClock()
	store := &lapsingStore{}
	ctx := context.Background()
	inFetch, gate := make(chan struct{}), make(chan struct{})
	var calls atomic.Int64
	fetch := func(ctx context.Context, _ *pixie.Token) (*pixie.Token, error) {
		n := calls.Add(1)
		if n == 2 { // the renewal whose lease lapses
			close(inFetch)
			if err := await(ctx, gate); err != nil {
				return nil, err
			}
		}
		return &pixie.Token{AccessToken: pixie.NewSecret(fmt.Sprintf("at-%d", n)), Expiry: clk.Now().Add(time.Hour)}, nil
	}
	src := pixie.NewSource(fetch, pixie.SourceOptions{Store: store, Now: clk.Now, RefreshAhead: 1})
	mustToken(t, src)

	clk.Advance(2 * time.Hour)
	renewed := make(chan *pixie.Token, 1)
	go func() {
		tok, err := src.Token(ctx)
		if err != nil {
			t.Errorf("Token of the renewal whose lease lapsed: %v", err)
		}
		renewed <- tok
	}()
	receive(t, inFetch, "the renewal's request")
	store.lapse(ctx)

	// Another process takes the free lock, renews and saves.
	peerTok := &pixie.Token{AccessToken: pixie.NewSecret("peer"), Expiry: clk.Now().Add(time.Hour)}
	peer := pixie.NewSource(func(context.Context, *pixie.Token) (*pixie.Token, error) { return peerTok, nil },
		pixie.SourceOptions{Store: store, Now: clk.Now, RefreshAhead: 1})
	if got := mustToken(t, peer); got != peerTok {
		t.Fatalf("peer's token = %s, want its own renewal", got.AccessToken.Reveal())
	}

	close(gate)
	if got := receive(t, renewed, "the renewal whose lease lapsed"); got != peerTok {
		t.Errorf("the renewal whose lease lapsed returned %s, want the peer's newer token", tokenName(got))
	}
	stored, ver, err := store.Load(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	if stored != peerTok {
		t.Errorf("store holds %s (version %d), want the peer's token: the stale save overwrote it", stored.AccessToken.Reveal(), ver)
	}
	if got := mustToken(t, src); got != peerTok {
		t.Errorf("token served afterwards = %s, want the peer's", got.AccessToken.Reveal())
	}
	if got, want := calls.Load(), int64(2); got != want {
		t.Errorf("requests = %d, want %d", got, want)
	}
}

// tokenName names tok in a test's message by its (test) access token.
func tokenName(tok *pixie.Token) string {
	if tok == nil {
		return "no token"
	}
	return tok.AccessToken.Reveal()
}

// unlockedStore is a MemoryStore whose Lock grants every caller at once, as a
// store whose lock does not work would, and counts its calls: only the
// Source's own single-flight can then keep a storm to one renewal.
type unlockedStore struct {
	pixie.MemoryStore
	locks atomic.Int64
}

func (s *unlockedStore) Lock(context.Context, string, time.Duration) (pixie.Lease, error) {
	s.locks.Add(1)
	return noLease{}, nil
}

type noLease struct{}

func (noLease) Unlock(context.Context) error { return nil }

// waitingCtx is a context that counts the calls to its Done method and closes
// all at the n-th: a caller of Source.Token calls it once it waits for a
// renewal to end.
type waitingCtx struct {
	context.Context
	n     int64
	calls atomic.Int64
	all   chan struct{}
}

func (c *waitingCtx) Done() <-chan struct{} {
	if c.calls.Add(1) == c.n {
		close(c.all)
	}
	return c.Context.Done()
}

// heldFetch issues numbered tokens, each request held until gate is closed;
// overlap is closed when a request starts while another is held.
type heldFetch struct {
	clk      *fakeclock.Clock
	calls    atomic.Int64
	inflight atomic.Int64
	gate     chan struct{}
	overlap  chan struct{}
	once     sync.Once
}

func (f *heldFetch) fetch(ctx context.Context, _ *pixie.Token) (*pixie.Token, error) {
	n := f.calls.Add(1)
	if f.inflight.Add(1) > 1 {
		f.once.Do(func() { close(f.overlap) })
	}
	defer f.inflight.Add(-1)
	if err := await(ctx, f.gate); err != nil {
		return nil, err
	}
	return &pixie.Token{AccessToken: pixie.NewSecret(fmt.Sprintf("at-%d", n)), Expiry: f.clk.Now().Add(time.Hour)}, nil
}

// TestSourceSingleFlightWithoutStoreLock checks the Source's single-flight on
// its own: with a store whose lock lets everyone in, a storm of callers, all
// waiting before the request may end, still makes one request and takes the
// store lock once, for the first token and again when it expires.
func TestSourceSingleFlightWithoutStoreLock(t *testing.T) {
	const n = 1000
	clk := newClock()
	store := &unlockedStore{}
	f := &heldFetch{clk: clk, overlap: make(chan struct{})}
	src := pixie.NewSource(f.fetch, pixie.SourceOptions{Store: store, Now: clk.Now, RefreshAhead: 1})
	for phase, advance := range []time.Duration{0, 2 * time.Hour} {
		clk.Advance(advance)
		f.gate = make(chan struct{})
		ctx := &waitingCtx{Context: context.Background(), n: n, all: make(chan struct{})}
		var wg sync.WaitGroup
		toks := make([]*pixie.Token, n)
		for i := range n {
			wg.Go(func() {
				var err error
				if toks[i], err = src.Token(ctx); err != nil {
					t.Errorf("Token: %v", err)
				}
			})
		}
		select {
		case <-ctx.all: // every caller waits for the renewal
		case <-f.overlap: // a second request started: no single-flight
		case <-time.After(waitTimeout):
			t.Fatalf("waited %v for %d callers to wait for one renewal", waitTimeout, n)
		}
		close(f.gate)
		waitGroup(t, &wg, "the storm's Token calls")
		want := int64(phase + 1)
		if got := f.calls.Load(); got != want {
			t.Fatalf("requests after storm %d = %d, want %d: the callers of one Source must share one renewal", phase+1, got, want)
		}
		if got := store.locks.Load(); got != want {
			t.Errorf("store locks after storm %d = %d, want %d", phase+1, got, want)
		}
		for i, tok := range toks {
			if tok != toks[0] {
				t.Fatalf("caller %d got %s, caller 0 %s; want the same token", i, tokenName(tok), tokenName(toks[0]))
			}
		}
	}
}
