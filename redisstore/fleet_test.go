package redisstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/fakeclock"
	"github.com/pixieauth/pixie/redisstore"
)

// issuer stands in for a token endpoint: it counts requests and issues numbered
// tokens that live for an hour of the test clock.
type issuer struct {
	clock    *fakeclock.Clock
	requests atomic.Int32
}

func (i *issuer) fetch(ctx context.Context, _ *pixie.Token) (*pixie.Token, error) {
	n := i.requests.Add(1)
	return &pixie.Token{AccessToken: pixie.NewSecret(fmt.Sprintf("generation-%d", n)), Expiry: i.clock.Now().Add(time.Hour)}, nil
}

// TestFleetRefreshesOnce: four replicas, each with its own Redis client and
// Source and 50 goroutines asking for a token as it expires, make exactly one
// token request per expiry, and all of them get its token.
func TestFleetRefreshesOnce(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	const replicas, callers, expiries = 4, 50, 5
	clk := fakeclock.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	iss := &issuer{clock: clk}
	sources := make([]*pixie.Source, replicas)
	for i := range sources {
		sources[i] = pixie.NewSource(iss.fetch, pixie.SourceOptions{Store: f.replica(t), Key: "service", Now: clk.Now, LockTTL: 10 * time.Second})
	}
	first, err := iss.fetch(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sources[0].Put(t.Context(), first); err != nil {
		t.Fatal(err)
	}
	for e := 1; e <= expiries; e++ {
		clk.Set(clk.Now().Add(time.Hour - 30*time.Second)) // inside the 60s skew
		var (
			wg  sync.WaitGroup
			got sync.Map
		)
		for _, src := range sources {
			for range callers {
				wg.Go(func() {
					tok, err := src.Token(t.Context())
					if err != nil {
						t.Error(err)
						return
					}
					got.Store(tok.AccessToken.Reveal(), true)
				})
			}
		}
		wg.Wait()
		if got, want := int(iss.requests.Load()), e+1; got != want {
			t.Fatalf("after expiry %d: %d token requests, want %d (one per expiry)", e, got-1, want-1)
		}
		var tokens []string
		got.Range(func(k, _ any) bool { tokens = append(tokens, k.(string)); return true })
		if want := fmt.Sprintf("generation-%d", e+1); len(tokens) != 1 || tokens[0] != want {
			t.Errorf("after expiry %d, replicas got tokens %q, want only %q", e, tokens, want)
		}
	}
}

// TestSourceWhileRedisDown: a Source keeps serving the token it holds while Redis
// is unreachable, until that token expires; then it reports the Redis error. It
// makes no token request it could not save.
func TestSourceWhileRedisDown(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	c := redis.NewClient(&redis.Options{Addr: f.addr, ContextTimeoutEnabled: true})
	s, err := redisstore.New(c, redisstore.WithPrefix(f.prefix), redisstore.WithKeys(f.keys))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := fakeclock.New(start)
	iss := &issuer{clock: clk}
	src := pixie.NewSource(iss.fetch, pixie.SourceOptions{Store: s, Now: clk.Now})
	tok := &pixie.Token{AccessToken: pixie.NewSecret("held"), Expiry: start.Add(10 * time.Minute)}
	if err := src.Put(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	c.Close() // Redis is gone

	for _, at := range []time.Duration{0, 9*time.Minute + 30*time.Second, 10*time.Minute - time.Second} {
		clk.Set(start.Add(at))
		got, err := src.Token(t.Context())
		if err != nil {
			t.Fatalf("at +%v, with the token still unexpired: %v", at, err)
		}
		if got.AccessToken.Reveal() != "held" {
			t.Errorf("at +%v: got another token than the one held", at)
		}
	}
	clk.Set(start.Add(10*time.Minute + time.Second))
	_, err = src.Token(t.Context())
	if want := "Redis at " + f.addr; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("after expiry: err = %v, want one containing %q", err, want)
	}
	if n := iss.requests.Load(); n != 0 {
		t.Errorf("%d token requests while the store was down, want 0", n)
	}
}
