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
