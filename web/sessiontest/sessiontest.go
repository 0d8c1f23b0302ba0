// Package sessiontest is the conformance suite every [web.SessionStore] must
// pass. A store package runs it from one of its tests:
//
//	func TestConformance(t *testing.T) {
//		sessiontest.Run(t, func(t *testing.T, now func() time.Time) sessiontest.Harness {
//			s := open(t, now)
//			return sessiontest.Harness{Store: s, Dump: func(t *testing.T) []byte { return rawBytes(t, s) }}
//		})
//	}
//
// The suite checks: a missing key and an expired record are ErrNoSession; the
// empty key is refused with another error; records survive a round trip
// (Expires to the millisecond); Save is a compare-and-swap whose versions
// increase, and version 0 replaces an expired record; Delete and
// DeleteSubject remove exactly their records; locks exclude each other, do not
// block reads and writes, and lapse after their lease; and Data never reaches
// the store's bytes in the clear.
package sessiontest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/fakeclock"
	"github.com/pixieauth/pixie/web"
)

// Harness is a store under test.
type Harness struct {
	// Store is a fresh, empty store.
	Store web.SessionStore
	// Dump returns every byte the store keeps (database files, Redis values),
	// for the check that data is sealed at rest.
	Dump func(t *testing.T) []byte
}

// Run runs the suite. newStore returns a fresh, empty store whose clock is
// now, and registers any cleanup with t.Cleanup. Subtests run in parallel.
func Run(t *testing.T, newStore func(t *testing.T, now func() time.Time) Harness) {
	t.Helper()
	for _, tc := range []struct {
		name string
		test func(*testing.T, *fakeclock.Clock, Harness)
	}{
		{"LoadMissing", testLoadMissing},
		{"EmptyKey", testEmptyKey},
		{"RoundTrip", testRoundTrip},
		{"Conflict", testConflict},
		{"Expiry", testExpiry},
		{"Delete", testDelete},
		{"DeleteSubject", testDeleteSubject},
		{"Locks", testLocks},
		{"SealedAtRest", testSealedAtRest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := fakeclock.New(time.Now().Truncate(time.Millisecond))
			tc.test(t, clock, newStore(t, clock.Now))
		})
	}
}

func record(clock *fakeclock.Clock, subject, data string) *web.Record {
	return &web.Record{Subject: subject, Expires: clock.Now().Add(time.Hour), Data: []byte(data)}
}

func save(t *testing.T, s web.SessionStore, key string, r *web.Record, version uint64) uint64 {
	t.Helper()
	v, err := s.Save(context.Background(), key, r, version)
	if err != nil {
		t.Fatalf("Save(%q, version %d): %v", key, version, err)
	}
	return v
}

func wantMissing(t *testing.T, s web.SessionStore, key string) {
	t.Helper()
	if r, _, err := s.Load(context.Background(), key); !errors.Is(err, web.ErrNoSession) {
		t.Fatalf("Load(%q) = %v, %v; want ErrNoSession", key, r, err)
	}
}

func wantData(t *testing.T, s web.SessionStore, key, data string) {
	t.Helper()
	r, _, err := s.Load(context.Background(), key)
	if err != nil {
		t.Fatalf("Load(%q): %v", key, err)
	}
	if got := string(r.Data); got != data {
		t.Fatalf("Load(%q).Data = %q, want %q", key, got, data)
	}
}

func testLoadMissing(t *testing.T, _ *fakeclock.Clock, h Harness) {
	wantMissing(t, h.Store, "missing")
}

func testEmptyKey(t *testing.T, clock *fakeclock.Clock, h Harness) {
	ctx := context.Background()
	check := func(op string, err error) {
		t.Helper()
		if err == nil || errors.Is(err, web.ErrNoSession) || errors.Is(err, pixie.ErrConflict) {
			t.Errorf("%s with the empty key: %v; want an error that is neither ErrNoSession nor ErrConflict", op, err)
		}
	}
	_, _, err := h.Store.Load(ctx, "")
	check("Load", err)
	_, err = h.Store.Save(ctx, "", record(clock, "", "x"), 0)
	check("Save", err)
	check("Delete", h.Store.Delete(ctx, ""))
	_, err = h.Store.Lock(ctx, "", time.Second)
	check("Lock", err)
}

func testRoundTrip(t *testing.T, clock *fakeclock.Clock, h Harness) {
	want := &web.Record{Subject: "subject-1", Expires: clock.Now().Add(90 * time.Minute), Data: []byte("\x00binary\xffdata")}
	v := save(t, h.Store, "k", want, 0)
	got, gv, err := h.Store.Load(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	if gv != v || got.Subject != want.Subject || !bytes.Equal(got.Data, want.Data) ||
		got.Expires.Truncate(time.Millisecond).Sub(want.Expires.Truncate(time.Millisecond)).Abs() > 0 {
		t.Errorf("Load = %+v version %d; want %+v version %d", got, gv, want, v)
	}
}

func testConflict(t *testing.T, clock *fakeclock.Clock, h Harness) {
	ctx := context.Background()
	v1 := save(t, h.Store, "k", record(clock, "s", "one"), 0)
	if _, err := h.Store.Save(ctx, "k", record(clock, "s", "again"), 0); !errors.Is(err, pixie.ErrConflict) {
		t.Fatalf("second Save with version 0: %v; want ErrConflict", err)
	}
	v2 := save(t, h.Store, "k", record(clock, "s", "two"), v1)
	if v2 <= v1 {
		t.Errorf("version went from %d to %d; want it to grow", v1, v2)
	}
	if _, err := h.Store.Save(ctx, "k", record(clock, "s", "stale"), v1); !errors.Is(err, pixie.ErrConflict) {
		t.Fatalf("Save with a stale version: %v; want ErrConflict", err)
	}
	wantData(t, h.Store, "k", "two")
}

func testExpiry(t *testing.T, clock *fakeclock.Clock, h Harness) {
	v := save(t, h.Store, "k", record(clock, "s", "one"), 0) // expires in an hour
	clock.Advance(59 * time.Minute)
	wantData(t, h.Store, "k", "one")
	clock.Advance(2 * time.Minute)
	wantMissing(t, h.Store, "k")
	if _, err := h.Store.Save(context.Background(), "k", record(clock, "s", "late"), v); !errors.Is(err, pixie.ErrConflict) {
		t.Errorf("Save over an expired record with its old version: %v; want ErrConflict", err)
	}
	save(t, h.Store, "k", record(clock, "s", "new"), 0)
	wantData(t, h.Store, "k", "new")
}

func testDelete(t *testing.T, clock *fakeclock.Clock, h Harness) {
	save(t, h.Store, "a", record(clock, "s", "a"), 0)
	save(t, h.Store, "b", record(clock, "s", "b"), 0)
	if err := h.Store.Delete(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	if err := h.Store.Delete(context.Background(), "never"); err != nil {
		t.Errorf("Delete of an absent key: %v", err)
	}
	wantMissing(t, h.Store, "a")
	wantData(t, h.Store, "b", "b")
	save(t, h.Store, "a", record(clock, "s", "again"), 0)
}

func testDeleteSubject(t *testing.T, clock *fakeclock.Clock, h Harness) {
	save(t, h.Store, "alice-laptop", record(clock, "alice", "1"), 0)
	save(t, h.Store, "alice-phone", record(clock, "alice", "2"), 0)
	save(t, h.Store, "bob", record(clock, "bob", "3"), 0)
	save(t, h.Store, "pending", record(clock, "", "4"), 0)
	n, err := h.Store.DeleteSubject(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("DeleteSubject(alice) = %d, want 2", n)
	}
	wantMissing(t, h.Store, "alice-laptop")
	wantMissing(t, h.Store, "alice-phone")
	wantData(t, h.Store, "bob", "3")
	wantData(t, h.Store, "pending", "4")
}

func testLocks(t *testing.T, clock *fakeclock.Clock, h Harness) {
	ctx := context.Background()
	l, err := h.Store.Lock(ctx, "k", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := h.Store.Lock(short, "k", time.Minute); err == nil {
		t.Fatal("a second Lock of a held key succeeded")
	}
	// A held lock blocks neither reads and writes nor other keys' locks.
	save(t, h.Store, "k", record(clock, "s", "x"), 0)
	wantData(t, h.Store, "k", "x")
	other, err := h.Store.Lock(ctx, "other", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Unlock(ctx)
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := h.Store.Lock(ctx, "k", 50*time.Millisecond)
	if err != nil {
		t.Fatalf("Lock after Unlock: %v", err)
	}
	// The lease lapses: a waiter gets the lock without an Unlock.
	wait, cancel2 := context.WithTimeout(ctx, 10*time.Second)
	defer cancel2()
	next, err := h.Store.Lock(wait, "k", time.Minute)
	if err != nil {
		t.Fatalf("Lock after the lease lapsed: %v", err)
	}
	if err := again.Unlock(ctx); err != nil {
		t.Errorf("Unlock of a lapsed lease: %v", err)
	}
	busy, cancel3 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel3()
	if _, err := h.Store.Lock(busy, "k", time.Minute); err == nil {
		t.Error("unlocking a lapsed lease released the new holder's lock")
	}
	next.Unlock(ctx)
}

func testSealedAtRest(t *testing.T, clock *fakeclock.Clock, h Harness) {
	secret := "refresh-token-c2VjcmV0LXNlc3Npb24tZGF0YQ"
	save(t, h.Store, "k", record(clock, "s", `{"t":"`+secret+`"}`), 0)
	wantData(t, h.Store, "k", `{"t":"`+secret+`"}`)
	dump := h.Dump(t)
	if len(dump) == 0 {
		t.Fatal("Dump returned nothing")
	}
	for _, part := range []string{secret, secret[len(secret)/2:]} {
		if bytes.Contains(dump, []byte(part)) {
			t.Fatalf("the store's bytes hold the session data in the clear (%q)", part)
		}
	}
}
