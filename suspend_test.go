package pixie_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/internal/fakeclock"
)

// These tests suspend the machine: their clock's readings carry a monotonic
// reading, as time.Now's do, and Suspend moves the wall clock while the
// monotonic one stands still, as on Linux. Go compares two times that both
// carry a monotonic reading by it, so an expiry made with time.Now().Add would
// pass late by the time slept.

// TestExpiryAfterSuspend checks that the deadlines a server's response sets, a
// token's Expiry and a device code's Expires, pass by the wall clock: once the
// machine slept past them, a caller comparing them with the time now sees
// them passed, and DeviceToken stops without polling.
func TestExpiryAfterSuspend(t *testing.T) {
	s := devservertest.NewServer(t)
	ctx := context.Background()
	clk := fakeclock.NewMonotonic(t)

	cfg := s.Config(s.Confidential)
	cfg.Now = clk.Now
	tok, err := cfg.ClientCredentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Lifetime <= 0 {
		t.Fatalf("Lifetime = %v, want the server's token lifetime", tok.Lifetime)
	}

	dev := s.Config(s.Device)
	dev.Now = clk.Now
	da, err := dev.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}

	clk.Suspend(tok.Lifetime + da.Expires.Sub(clk.Now().Round(0)) + time.Minute)
	now := clk.Now()
	if now.Before(tok.Expiry) {
		t.Errorf("after sleeping past it, the token's Expiry (%v) is still ahead of the time now (%v)", tok.Expiry, now.Round(0))
	}
	if !now.After(da.Expires) {
		t.Errorf("after sleeping past it, the device code's Expires (%v) is not behind the time now (%v)", da.Expires, now.Round(0))
	}
	t.Cleanup(pixie.SetSleep(func(context.Context, time.Duration) error {
		return errors.New("DeviceToken waited to poll with an expired device code")
	}))
	if _, err := dev.DeviceToken(ctx, da); !errors.Is(err, pixie.ErrExpiredToken) {
		t.Errorf("DeviceToken after sleeping past the device code's expiry: %v, want expired_token", err)
	}
}

// TestTokenValidAfterSuspend checks that Valid and ExpiresIn count by the wall
// clock for a token whose Expiry an application made with time.Now().Add.
func TestTokenValidAfterSuspend(t *testing.T) {
	clk := fakeclock.NewMonotonic(t)
	tok := &pixie.Token{AccessToken: pixie.NewSecret("at"), Expiry: clk.Now().Add(time.Hour)}
	clk.Suspend(2 * time.Hour)
	if tok.Valid(clk.Now(), 0) {
		t.Error("Valid = true after sleeping an hour past the expiry")
	}
	if got, want := tok.ExpiresIn(clk.Now()), -time.Hour; got != want {
		t.Errorf("ExpiresIn = %v, want %v", got, want)
	}
}

// wallIssuer hands out numbered tokens whose Expiry it makes, as a RefreshFunc
// typically does, with clk.Now().Add: carrying a monotonic reading.
type wallIssuer struct {
	clk   *fakeclock.Monotonic
	calls atomic.Int64
	fail  atomic.Bool
}

func (is *wallIssuer) fetch(context.Context, *pixie.Token) (*pixie.Token, error) {
	if is.fail.Load() {
		return nil, errors.New("token endpoint unreachable")
	}
	n := is.calls.Add(1)
	return &pixie.Token{AccessToken: pixie.NewSecret(fmt.Sprintf("at-%d", n)),
		Expiry: is.clk.Now().Add(time.Hour), Lifetime: time.Hour}, nil
}

// TestSourceAfterSuspend checks that a Source's deadlines pass by the wall
// clock: after the machine slept, it neither serves an expired token nor
// misses the point of a background refresh.
func TestSourceAfterSuspend(t *testing.T) {
	ctx := context.Background()
	t.Run("expired token renewed", func(t *testing.T) {
		clk := fakeclock.NewMonotonic(t)
		is := &wallIssuer{clk: clk}
		src := pixie.NewSource(is.fetch, pixie.SourceOptions{Now: clk.Now, RefreshAhead: 1})
		mustToken(t, src)
		clk.Suspend(2 * time.Hour)
		if got, want := mustToken(t, src).AccessToken.Reveal(), "at-2"; got != want {
			t.Errorf("token after sleeping an hour past its expiry = %s, want %s", got, want)
		}
	})
	t.Run("refresh ahead", func(t *testing.T) {
		clk := fakeclock.NewMonotonic(t)
		is := &wallIssuer{clk: clk}
		changed := make(chan *pixie.Token, 2)
		src := pixie.NewSource(is.fetch, pixie.SourceOptions{Now: clk.Now, OnChange: func(_, n *pixie.Token) { changed <- n }})
		first := mustToken(t, src)
		receive(t, changed, "the first token")
		clk.Suspend(50 * time.Minute) // past 80 % of the 59 usable minutes
		if got := mustToken(t, src); got != first {
			t.Fatalf("token = %s, want the current one at once", got.AccessToken.Reveal())
		}
		if got, want := receive(t, changed, "a background refresh after the sleep").AccessToken.Reveal(), "at-2"; got != want {
			t.Errorf("background refresh produced %s, want %s", got, want)
		}
	})
	t.Run("store down", func(t *testing.T) {
		clk := fakeclock.NewMonotonic(t)
		is := &wallIssuer{clk: clk}
		store := &switchStore{}
		src := pixie.NewSource(is.fetch, pixie.SourceOptions{Store: store, Now: clk.Now, RefreshAhead: 1})
		mustToken(t, src)
		store.down.Store(true)
		clk.Suspend(2 * time.Hour)
		if tok, err := src.Token(ctx); !errors.Is(err, errStoreDown) {
			t.Errorf("Token with the store down, after sleeping past the expiry = %v, %v; want the store error", tok, err)
		}
	})
}
