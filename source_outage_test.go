package pixie_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
)

// A renewal that fails temporarily while the held token has not really expired
// (it is only inside Skew) must not fail the callers: they keep the held token,
// and the token endpoint is not asked again on every call.
func TestSourceRidesOutTemporaryFailure(t *testing.T) {
	clk := newClock()
	is := &issuer{clk: clk, life: time.Hour}
	var attempts atomic.Int64
	fetch := func(ctx context.Context, cur *pixie.Token) (*pixie.Token, error) {
		attempts.Add(1)
		return is.fetch(ctx, cur)
	}
	src := pixie.NewSource(fetch, pixie.SourceOptions{Now: clk.Now, RefreshAhead: 1})
	ctx := context.Background()
	held := mustToken(t, src)

	var down error = &pixie.Error{Code: "temporarily_unavailable", StatusCode: http.StatusServiceUnavailable}
	is.fail.Store(&down)
	clk.Advance(time.Hour - 40*time.Second) // inside the 60 s Skew, 40 s before the expiry
	for i := range 100 {
		tok, err := src.Token(ctx)
		if err != nil {
			t.Fatalf("call %d inside Skew with the token endpoint down: %v", i, err)
		}
		if tok != held {
			t.Fatalf("call %d got another token than the one held", i)
		}
	}
	if got, want := attempts.Load(), int64(2); got != want {
		t.Errorf("token requests = %d after 100 calls inside Skew, want %d (the login and one failed renewal)", got, want)
	}

	clk.Advance(11 * time.Second) // a quarter of the 40 s left has passed: try again
	if tok, err := src.Token(ctx); err != nil || tok != held {
		t.Fatalf("after the wait, before the expiry: token %v, err %v; want the held token", tok, err)
	}
	if got, want := attempts.Load(), int64(3); got != want {
		t.Errorf("token requests = %d after the wait, want %d", got, want)
	}

	// Past the real expiry nothing is served from a failed renewal.
	clk.Advance(30 * time.Second)
	if _, err := src.Token(ctx); !pixie.Temporary(err) {
		t.Errorf("after the expiry with the endpoint down: err = %v, want the temporary error", err)
	}

	// A renewal that succeeds ends the outage.
	is.fail.Store(nil)
	if tok := mustToken(t, src); tok == held {
		t.Error("the token endpoint is back, but the expired token is still served")
	}
}

// After a token request answered with Retry-After, the Source sends none before
// that time: callers inside Skew keep the held token for as long, and a caller
// that needs a token waits for it rather than sending a request the server
// asked not to get.
func TestSourceHonoursRetryAfter(t *testing.T) {
	clk := newClock()
	is := &issuer{clk: clk, life: time.Hour}
	var attempts atomic.Int64
	var lastAttempt atomic.Int64
	fetch := func(ctx context.Context, cur *pixie.Token) (*pixie.Token, error) {
		attempts.Add(1)
		lastAttempt.Store(time.Now().UnixNano())
		return is.fetch(ctx, cur)
	}
	src := pixie.NewSource(fetch, pixie.SourceOptions{Now: clk.Now, RefreshAhead: 1})
	ctx := context.Background()
	held := mustToken(t, src)

	var limited error = &pixie.Error{Code: "slow_down", StatusCode: http.StatusTooManyRequests, RetryAfter: 20 * time.Second}
	is.fail.Store(&limited)
	clk.Advance(time.Hour - 40*time.Second)
	if tok, err := src.Token(ctx); err != nil || tok != held {
		t.Fatalf("inside Skew after a 429: token %v, err %v; want the held token", tok, err)
	}
	clk.Advance(15 * time.Second) // past a quarter of the time left, within Retry-After
	if tok, err := src.Token(ctx); err != nil || tok != held {
		t.Fatalf("within Retry-After: token %v, err %v; want the held token", tok, err)
	}
	if got, want := attempts.Load(), int64(2); got != want {
		t.Errorf("token requests = %d within Retry-After, want %d", got, want)
	}

	// The token expires; the server's last answer asks for 300 ms more.
	clk.Advance(30 * time.Second)
	limited = &pixie.Error{Code: "slow_down", StatusCode: http.StatusTooManyRequests, RetryAfter: 300 * time.Millisecond}
	is.fail.Store(&limited)
	if _, err := src.Token(ctx); err == nil {
		t.Fatal("the token expired and the endpoint refused: want its error")
	}
	refused := time.Unix(0, lastAttempt.Load())
	is.fail.Store(nil)
	if tok := mustToken(t, src); tok == held {
		t.Fatal("got the expired token")
	}
	if waited := time.Unix(0, lastAttempt.Load()).Sub(refused); waited < 300*time.Millisecond {
		t.Errorf("the next token request came %v after a 429 with Retry-After: 300ms", waited)
	}
}
