package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/testenv"
	"github.com/pixieauth/pixie/redisstore"
	"github.com/pixieauth/pixie/storetest"
)

// TestSaveAcknowledged: Save reports success only once Redis has applied the
// write, so a token Save returned for survives a crash of a Redis that persists
// before it answers (appendonly yes, appendfsync always); and while Redis does
// not answer, Save fails instead of reporting a save that did not happen.
func TestSaveAcknowledged(t *testing.T) {
	rs := startRedis(t)
	st, err := redisstore.New(newClient(t, rs.addr), redisstore.WithKeys(testenv.StoreKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	tok := storetest.Token("acknowledged")
	v, err := st.Save(ctx, "k", tok, 0)
	if err != nil {
		t.Fatal(err)
	}
	rs.restart(t) // SIGKILL, then start again from its files
	got, gotV, err := st.Load(ctx, "k")
	if err != nil {
		t.Fatalf("loading after Redis crashed: %v", err)
	}
	storetest.Equal(t, got, tok)
	if gotV != v {
		t.Errorf("version after the crash = %d, want %d", gotV, v)
	}

	rs.pause(t)
	sctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = st.Save(sctx, "k", storetest.Token("unacknowledged"), v)
	switch {
	case err == nil:
		t.Fatal("Save reported success while Redis answered nothing")
	case errors.Is(err, pixie.ErrConflict):
		t.Fatalf("Save while Redis answered nothing: %v, want a Redis error, not a conflict", err)
	}
	rs.resume(t)
}
