// Package storetest is the conformance suite every [pixie.Store] must pass. A store
// package runs it from one of its tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) pixie.Store { return newTestStore(t) })
//	}
//
// The suite states the parts of the Store contract that the interface's doc
// comments leave open, so that every store behaves the same:
//
//   - A key is any non-empty string, compared byte for byte: case, spaces, "/",
//     "..", NUL bytes, invalid UTF-8 and 1 KiB keys are all distinct, ordinary
//     keys. The empty key is refused: Load, Save, Delete and Lock return an error
//     that is neither [pixie.ErrNotFound] nor [pixie.ErrConflict], because an
//     empty key is a caller's bug, not a missing token.
//   - Save refuses a nil token with an error and stores nothing.
//   - Every field of a token survives a round trip. Expiry keeps its instant to
//     the nanosecond (time.Time.Equal), though not necessarily its location;
//     Extra holds JSON values (strings, float64, bools, []any, map[string]any).
//     Nil and empty Scope or Extra are equivalent. Like the token responses they
//     come from, a token's strings are valid UTF-8.
//   - Locks do not block Load, Save or Delete, and the locks of different keys are
//     independent.
//   - A lease that lapsed lets another caller take the lock; unlocking the lapsed
//     lease later, or twice, returns nil and leaves the new holder's lock alone.
//
// Tokens returned by Load are treated as immutable: the suite copies a token
// before changing it.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
)

// Run runs the conformance suite against the stores newStore returns. Each subtest
// calls newStore for a fresh, empty store and runs in parallel with the others;
// newStore should register any cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) pixie.Store) {
	t.Helper()
	for _, tc := range []struct {
		name string
		test func(*testing.T, pixie.Store)
	}{
		{"LoadMissing", testLoadMissing},
		{"SaveCreates", testSaveCreates},
		{"Conflict", testConflict},
		{"VersionsIncrease", testVersionsIncrease},
		{"Delete", testDelete},
		{"DeleteMissing", testDeleteMissing},
		{"RoundTrip", testRoundTrip},
		{"MinimalToken", testMinimalToken},
		{"LargeToken", testLargeToken},
		{"Keys", testKeys},
		{"EmptyKey", testEmptyKey},
		{"NilToken", testNilToken},
		{"ConcurrentWriters", testConcurrentWriters},
		{"LockExclusion", testLockExclusion},
		{"LockWaits", testLockWaits},
		{"LockContext", testLockContext},
		{"LockKeysIndependent", testLockKeysIndependent},
		{"LockLeavesDataAlone", testLockLeavesDataAlone},
		{"LeaseExpiry", testLeaseExpiry},
		{"UnlockLapsed", testUnlockLapsed},
		{"UnlockTwice", testUnlockTwice},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.test(t, newStore(t))
		})
	}
}

// waitLimit bounds every wait in the suite, so that a store that never grants a
// lock fails the test instead of hanging it.
const waitLimit = 20 * time.Second

func testLoadMissing(t *testing.T, s pixie.Store) {
	tok, v, err := s.Load(t.Context(), "missing")
	if !errors.Is(err, pixie.ErrNotFound) {
		t.Fatalf("Load of a missing key: err = %v, want ErrNotFound", err)
	}
	if tok != nil || v != 0 {
		t.Errorf("Load of a missing key returned a token (%v) or version %d", tok, v)
	}
}

func testSaveCreates(t *testing.T, s pixie.Store) {
	v := MustSave(t, s, "k", Token("a"), 0)
	if v == 0 {
		t.Fatal("Save returned version 0")
	}
	tok, got := MustLoad(t, s, "k")
	if got != v {
		t.Errorf("Load version = %d, want %d (from Save)", got, v)
	}
	Equal(t, tok, Token("a"))
}

func testConflict(t *testing.T, s pixie.Store) {
	ctx := t.Context()
	if _, err := s.Save(ctx, "k", Token("never"), 7); !errors.Is(err, pixie.ErrConflict) {
		t.Errorf("Save with version 7 over nothing: err = %v, want ErrConflict", err)
	}
	if _, _, err := s.Load(ctx, "k"); !errors.Is(err, pixie.ErrNotFound) {
		t.Errorf("after a refused Save, Load: err = %v, want ErrNotFound", err)
	}
	v1 := MustSave(t, s, "k", Token("one"), 0)
	v2 := MustSave(t, s, "k", Token("two"), v1)
	for _, stale := range []uint64{0, v1, v2 + 1} {
		if _, err := s.Save(ctx, "k", Token("stale"), stale); !errors.Is(err, pixie.ErrConflict) {
			t.Errorf("Save with version %d (stored: %d): err = %v, want ErrConflict", stale, v2, err)
		}
	}
	tok, v := MustLoad(t, s, "k")
	if v != v2 {
		t.Errorf("after refused saves, version = %d, want %d", v, v2)
	}
	Equal(t, tok, Token("two"))
}

func testVersionsIncrease(t *testing.T, s pixie.Store) {
	var v uint64
	for i := range 20 {
		next := MustSave(t, s, "k", WithCount(Token("a"), i), v)
		if next <= v {
			t.Fatalf("save %d: version %d after %d, want it greater", i, next, v)
		}
		v = next
	}
	tok, got := MustLoad(t, s, "k")
	if got != v {
		t.Errorf("Load version = %d, want %d", got, v)
	}
	if n := Count(t, tok); n != 19 {
		t.Errorf("count = %d, want 19", n)
	}
}

func testDelete(t *testing.T, s pixie.Store) {
	ctx := t.Context()
	v := MustSave(t, s, "k", Token("a"), 0)
	MustSave(t, s, "other", Token("b"), 0)
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, _, err := s.Load(ctx, "k"); !errors.Is(err, pixie.ErrNotFound) {
		t.Errorf("Load after Delete: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Save(ctx, "k", Token("c"), v); !errors.Is(err, pixie.ErrConflict) {
		t.Errorf("Save with the deleted record's version %d: err = %v, want ErrConflict", v, err)
	}
	MustSave(t, s, "k", Token("c"), 0)
	tok, _ := MustLoad(t, s, "k")
	Equal(t, tok, Token("c"))
	tok, _ = MustLoad(t, s, "other")
	Equal(t, tok, Token("b"))
}

func testDeleteMissing(t *testing.T, s pixie.Store) {
	if err := s.Delete(t.Context(), "missing"); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}
}

func testRoundTrip(t *testing.T, s pixie.Store) {
	for name, tok := range map[string]*pixie.Token{
		"full": {
			AccessToken:     pixie.NewSecret("at.ünïcødé.🔑"),
			TokenType:       "DPoP",
			RefreshToken:    pixie.NewSecret("rt-\x00-\"quoted\"-\\"),
			IDToken:         pixie.NewSecret("eyJhbGciOiJub25lIn0.eyJzdWIiOiLwn5iAIn0."),
			Expiry:          time.Date(2031, 7, 8, 9, 10, 11, 123456789, time.FixedZone("CEST", 2*3600)),
			Scope:           []string{"openid", "profile", "ünï", "a:b/c"},
			IssuedTokenType: "urn:ietf:params:oauth:token-type:access_token",
			Extra: map[string]any{
				"s":    "ü",
				"n":    1.5,
				"b":    true,
				"null": nil,
				"list": []any{"x", 2.0, false},
				"obj":  map[string]any{"k": "v", "deep": map[string]any{"n": -3.0}},
			},
		},
		"expiry now": {AccessToken: pixie.NewSecret("at"), Expiry: time.Now()},
		"expiry far": {AccessToken: pixie.NewSecret("at"), Expiry: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		"bearer":     {AccessToken: pixie.NewSecret("at"), TokenType: "Bearer", RefreshToken: pixie.NewSecret("rt")},
	} {
		t.Run(name, func(t *testing.T) {
			MustSave(t, s, name, tok, 0)
			got, _ := MustLoad(t, s, name)
			Equal(t, got, tok)
		})
	}
}

func testMinimalToken(t *testing.T, s pixie.Store) {
	in := &pixie.Token{AccessToken: pixie.NewSecret("only")}
	MustSave(t, s, "k", in, 0)
	got, _ := MustLoad(t, s, "k")
	Equal(t, got, in)
	if !got.Expiry.IsZero() {
		t.Errorf("a token without expiry came back with expiry %v", got.Expiry)
	}
	if !got.RefreshToken.IsZero() || !got.IDToken.IsZero() {
		t.Error("a token without refresh or ID token came back with one")
	}
}

func testLargeToken(t *testing.T, s pixie.Store) {
	in := &pixie.Token{
		AccessToken:  pixie.NewSecret(pattern("access-", 64<<10)),
		RefreshToken: pixie.NewSecret(pattern("refresh-", 8<<10)),
		IDToken:      pixie.NewSecret(pattern("id-", 16<<10)),
		Expiry:       time.Unix(1900000000, 0),
		Extra:        map[string]any{"big": pattern("extra-", 16<<10)},
	}
	v := MustSave(t, s, "big", in, 0)
	got, _ := MustLoad(t, s, "big")
	Equal(t, got, in)
	MustSave(t, s, "big", Token("small"), v)
	got, _ = MustLoad(t, s, "big")
	Equal(t, got, Token("small"))
}

// pattern returns n bytes of prefix followed by a counter, so that a truncated or
// shifted copy differs from the original.
func pattern(prefix string, n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%s%d.", prefix, i)
	}
	return b.String()[:n]
}

// OddKeys are keys that a store must treat as ordinary, distinct keys.
var OddKeys = []string{
	"k", "K", " ", " k", "k ", "a b", "/", "a/b", "/a/b/", "..", "../..", "./k", `\`,
	"%2F", "?x=1&y=2", "#", "'", `"`, "k'; DROP TABLE tokens; --", "*", "%", "_",
	"é", "e\u0301", "日本語", "🔑", "\u200b", "\x00", "k\x00k", "\xff\xfe", "\n", "\t",
	strings.Repeat("k", 1024), strings.Repeat("🔑", 256),
}

func testKeys(t *testing.T, s pixie.Store) {
	ctx := t.Context()
	versions := make(map[string]uint64)
	for i, k := range OddKeys {
		versions[k] = MustSave(t, s, k, WithCount(Token("k"), i), 0)
	}
	for i, k := range OddKeys {
		tok, v := MustLoad(t, s, k)
		if v != versions[k] {
			t.Errorf("key %q: version %d, want %d", k, v, versions[k])
		}
		Equal(t, tok, WithCount(Token("k"), i))
	}
	for i, k := range OddKeys {
		if i%2 == 0 {
			if err := s.Delete(ctx, k); err != nil {
				t.Fatalf("Delete(%q): %v", k, err)
			}
		}
	}
	for i, k := range OddKeys {
		tok, _, err := s.Load(ctx, k)
		switch {
		case i%2 == 0 && !errors.Is(err, pixie.ErrNotFound):
			t.Errorf("Load(%q) after its Delete: err = %v, want ErrNotFound", k, err)
		case i%2 == 1 && err != nil:
			t.Errorf("Load(%q) after deleting other keys: %v", k, err)
		case i%2 == 1:
			Equal(t, tok, WithCount(Token("k"), i))
		}
	}
	for _, k := range OddKeys[:4] {
		MustLock(t, s, k, time.Minute)
	}
}

func testEmptyKey(t *testing.T, s pixie.Store) {
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	check := func(op string, err error) {
		t.Helper()
		if err == nil || errors.Is(err, pixie.ErrNotFound) || errors.Is(err, pixie.ErrConflict) {
			t.Errorf("%s with the empty key: err = %v, want an error that is neither ErrNotFound nor ErrConflict", op, err)
		}
	}
	_, err := s.Save(ctx, "", Token("a"), 0)
	check("Save", err)
	_, _, err = s.Load(ctx, "")
	check("Load", err)
	check("Delete", s.Delete(ctx, ""))
	lease, err := s.Lock(ctx, "", time.Minute)
	check("Lock", err)
	if lease != nil {
		t.Error("Lock with the empty key returned a lease")
	}
}

func testNilToken(t *testing.T, s pixie.Store) {
	ctx := t.Context()
	if _, err := s.Save(ctx, "k", nil, 0); err == nil || errors.Is(err, pixie.ErrConflict) {
		t.Errorf("Save of a nil token: err = %v, want an error other than ErrConflict", err)
	}
	if _, _, err := s.Load(ctx, "k"); !errors.Is(err, pixie.ErrNotFound) {
		t.Errorf("Load after a refused nil Save: err = %v, want ErrNotFound", err)
	}
}

func testConcurrentWriters(t *testing.T, s pixie.Store) {
	const writers, increments = 8, 20
	ctx := t.Context()
	MustSave(t, s, "counter", WithCount(Token("c"), 0), 0)
	var (
		wg        sync.WaitGroup
		conflicts atomic.Int64
	)
	for range writers {
		wg.Go(func() {
			for range increments {
				n, err := Increment(ctx, s, "counter")
				conflicts.Add(int64(n))
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	tok, _ := MustLoad(t, s, "counter")
	if got, want := Count(t, tok), writers*increments; got != want {
		t.Errorf("count = %d, want %d: an update was lost", got, want)
	}
	t.Logf("%d conflicts retried", conflicts.Load())
}

// Increment adds one to the count of the token under key with a load-and-save
// compare-and-swap loop, retrying on [pixie.ErrConflict]. It returns the number of
// conflicts it retried.
func Increment(ctx context.Context, s pixie.Store, key string) (conflicts int, err error) {
	for {
		tok, v, err := s.Load(ctx, key)
		if err != nil {
			return conflicts, fmt.Errorf("load %q: %w", key, err)
		}
		n, err := count(tok)
		if err != nil {
			return conflicts, err
		}
		_, err = s.Save(ctx, key, WithCount(tok, n+1), v)
		if !errors.Is(err, pixie.ErrConflict) {
			if err != nil {
				return conflicts, fmt.Errorf("save %q: %w", key, err)
			}
			return conflicts, nil
		}
		conflicts++
	}
}

func testLockExclusion(t *testing.T, s pixie.Store) {
	const workers, rounds = 8, 10
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	var (
		wg      sync.WaitGroup
		counter int // guarded by the store's lock only
		inside  atomic.Int32
	)
	for range workers {
		wg.Go(func() {
			for range rounds {
				lease, err := s.Lock(ctx, "lock", time.Minute)
				if err != nil {
					t.Errorf("Lock: %v", err)
					return
				}
				if n := inside.Add(1); n != 1 {
					t.Errorf("%d holders of one lock at once", n)
				}
				c := counter
				time.Sleep(time.Millisecond) // widen the window a second holder would use
				counter = c + 1
				inside.Add(-1)
				if err := lease.Unlock(ctx); err != nil {
					t.Errorf("Unlock: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got, want := counter, workers*rounds; got != want {
		t.Errorf("counter = %d, want %d", got, want)
	}
}

func testLockWaits(t *testing.T, s pixie.Store) {
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	first := MustLock(t, s, "k", time.Minute)
	var released atomic.Bool
	acquired := make(chan error, 1)
	go func() {
		lease, err := s.Lock(ctx, "k", time.Minute)
		if err == nil {
			if !released.Load() {
				err = errors.New("second Lock returned while the first lease was held")
			}
			lease.Unlock(ctx)
		}
		acquired <- err
	}()
	// Give the second caller time to start waiting; a broken store grants it now.
	select {
	case err := <-acquired:
		t.Fatalf("second Lock returned while the lock was held: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	released.Store(true)
	if err := first.Unlock(ctx); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if err := <-acquired; err != nil {
		t.Fatalf("second Lock after release: %v", err)
	}
}

func testLockContext(t *testing.T, s pixie.Store) {
	held := MustLock(t, s, "k", time.Minute)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	lease, err := s.Lock(ctx, "k", time.Minute)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lock of a held lock until the deadline: err = %v, want context.DeadlineExceeded", err)
	}
	if lease != nil {
		t.Error("Lock returned a lease with its error")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Lock returned %v after its deadline of 50ms", d)
	}

	canceled, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := s.Lock(canceled, "k", time.Minute)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Lock with a canceled context: err = %v, want context.Canceled", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Lock ignored the cancellation of its context")
	}

	// The abandoned waits neither took nor broke the lock.
	AssertLocked(t, s, "k")
	if err := held.Unlock(t.Context()); err != nil {
		t.Fatal(err)
	}
	MustLock(t, s, "k", time.Minute)
}

func testLockKeysIndependent(t *testing.T, s pixie.Store) {
	MustLock(t, s, "a", time.Minute)
	b := MustLock(t, s, "b", time.Minute)
	MustLock(t, s, "a/b", time.Minute)
	AssertLocked(t, s, "a")
	if err := b.Unlock(t.Context()); err != nil {
		t.Fatal(err)
	}
	AssertLocked(t, s, "a")
	MustLock(t, s, "b", time.Minute)
}

func testLockLeavesDataAlone(t *testing.T, s pixie.Store) {
	ctx := t.Context()
	v := MustSave(t, s, "k", Token("a"), 0)
	lease := MustLock(t, s, "k", time.Minute)
	tok, got := MustLoad(t, s, "k")
	if got != v {
		t.Errorf("version under lock = %d, want %d", got, v)
	}
	Equal(t, tok, Token("a"))
	v = MustSave(t, s, "k", Token("b"), v)
	if err := lease.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	tok, got = MustLoad(t, s, "k")
	if got != v {
		t.Errorf("version after unlock = %d, want %d", got, v)
	}
	Equal(t, tok, Token("b"))
	MustLock(t, s, "k", time.Minute)
	if err := s.Delete(ctx, "k"); err != nil {
		t.Errorf("Delete under lock: %v", err)
	}
}

// shortTTL is the lease lifetime of the expiry tests: real time, as stores read
// their own clocks, and short enough to keep the suite fast.
const shortTTL = 100 * time.Millisecond

func testLeaseExpiry(t *testing.T, s pixie.Store) {
	start := time.Now()
	MustLock(t, s, "k", shortTTL) // never unlocked: its holder "crashed"
	MustLock(t, s, "k", time.Minute)
	// Stores may round expiry times to the millisecond.
	if d := time.Since(start); d < shortTTL-5*time.Millisecond {
		t.Errorf("a lease of %v was taken over after %v", shortTTL, d)
	}
}

func testUnlockLapsed(t *testing.T, s pixie.Store) {
	ctx := t.Context()
	lapsed := MustLock(t, s, "k", shortTTL)
	current := MustLock(t, s, "k", time.Minute)
	if err := lapsed.Unlock(ctx); err != nil {
		t.Errorf("Unlock of a lapsed lease: %v", err)
	}
	AssertLocked(t, s, "k")
	if err := current.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	MustLock(t, s, "k", time.Minute)
}

func testUnlockTwice(t *testing.T, s pixie.Store) {
	ctx := t.Context()
	first := MustLock(t, s, "k", time.Minute)
	if err := first.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	MustLock(t, s, "k", time.Minute)
	if err := first.Unlock(ctx); err != nil {
		t.Errorf("second Unlock of a lease: %v", err)
	}
	AssertLocked(t, s, "k")
}

// Token returns a token whose credentials and scope derive from name.
func Token(name string) *pixie.Token {
	return &pixie.Token{
		AccessToken:  pixie.NewSecret("access-" + name),
		TokenType:    "Bearer",
		RefreshToken: pixie.NewSecret("refresh-" + name),
		Expiry:       time.Date(2030, 1, 2, 3, 4, 5, 600000000, time.UTC),
		Scope:        []string{"openid", name},
	}
}

// WithCount returns a copy of tok whose Extra holds the count n, leaving tok
// unchanged.
func WithCount(tok *pixie.Token, n int) *pixie.Token {
	c := *tok
	c.Extra = maps.Clone(tok.Extra)
	if c.Extra == nil {
		c.Extra = make(map[string]any, 1)
	}
	c.Extra["count"] = float64(n)
	return &c
}

// Count returns the count [WithCount] stored in tok.
func Count(tb testing.TB, tok *pixie.Token) int {
	tb.Helper()
	n, err := count(tok)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func count(tok *pixie.Token) (int, error) {
	n, ok := tok.Extra["count"].(float64)
	if !ok {
		return 0, fmt.Errorf("token has no count: extra count = %#v", tok.Extra["count"])
	}
	return int(n), nil
}

// MustSave saves tok and returns the new version, failing the test on error.
func MustSave(tb testing.TB, s pixie.Store, key string, tok *pixie.Token, version uint64) uint64 {
	tb.Helper()
	v, err := s.Save(context.Background(), key, tok, version)
	if err != nil {
		tb.Fatalf("Save(%q, version %d): %v", key, version, err)
	}
	return v
}

// MustLoad loads the token under key, failing the test on error.
func MustLoad(tb testing.TB, s pixie.Store, key string) (*pixie.Token, uint64) {
	tb.Helper()
	tok, v, err := s.Load(context.Background(), key)
	if err != nil {
		tb.Fatalf("Load(%q): %v", key, err)
	}
	if tok == nil {
		tb.Fatalf("Load(%q) returned a nil token", key)
	}
	return tok, v
}

// MustLock takes the lock of key, failing the test if that takes longer than
// 20 s. The lease is released when the test ends.
func MustLock(tb testing.TB, s pixie.Store, key string, ttl time.Duration) pixie.Lease {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	lease, err := s.Lock(ctx, key, ttl)
	if err != nil {
		tb.Fatalf("Lock(%q): %v", key, err)
	}
	tb.Cleanup(func() { lease.Unlock(context.Background()) })
	return lease
}

// AssertLocked fails the test unless the lock of key is held: a Lock call must
// still be waiting after 50 ms.
func AssertLocked(tb testing.TB, s pixie.Store, key string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	lease, err := s.Lock(ctx, key, time.Minute)
	if err == nil {
		lease.Unlock(context.Background())
		tb.Errorf("the lock of %q was free, want it held", key)
	} else if !errors.Is(err, context.DeadlineExceeded) {
		tb.Errorf("Lock(%q) of a held lock: err = %v, want context.DeadlineExceeded", key, err)
	}
}

// Equal fails the test unless got holds the same token as want, by the rules in
// the package documentation. Messages name differing credentials without showing
// them.
func Equal(tb testing.TB, got, want *pixie.Token) {
	tb.Helper()
	if got == nil {
		tb.Error("token is nil")
		return
	}
	for _, c := range []struct {
		name      string
		got, want pixie.Secret
	}{
		{"access token", got.AccessToken, want.AccessToken},
		{"refresh token", got.RefreshToken, want.RefreshToken},
		{"ID token", got.IDToken, want.IDToken},
	} {
		if !c.got.Equal(c.want) {
			tb.Errorf("%s differs: got %d bytes, want %d bytes", c.name, len(c.got.Reveal()), len(c.want.Reveal()))
		}
	}
	if got.TokenType != want.TokenType {
		tb.Errorf("token type = %q, want %q", got.TokenType, want.TokenType)
	}
	if !got.Expiry.Equal(want.Expiry) {
		tb.Errorf("expiry = %v, want %v", got.Expiry, want.Expiry)
	}
	if got.Lifetime != want.Lifetime {
		tb.Errorf("lifetime = %v, want %v", got.Lifetime, want.Lifetime)
	}
	if !slices.Equal(got.Scope, want.Scope) {
		tb.Errorf("scope = %q, want %q", got.Scope, want.Scope)
	}
	if got.IssuedTokenType != want.IssuedTokenType {
		tb.Errorf("issued token type = %q, want %q", got.IssuedTokenType, want.IssuedTokenType)
	}
	if (len(got.Extra) != 0 || len(want.Extra) != 0) && !reflect.DeepEqual(got.Extra, want.Extra) {
		tb.Errorf("extra differs: got %d members, want %d", len(got.Extra), len(want.Extra))
	}
}
