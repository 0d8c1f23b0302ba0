package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/seal"
	"github.com/pixieauth/pixie/internal/testenv"
	"github.com/pixieauth/pixie/redisstore"
	"github.com/pixieauth/pixie/storetest"
)

func TestConformance(t *testing.T) {
	testenv.RedisAddr(t)
	storetest.Run(t, func(t *testing.T) pixie.Store { return newFleet(t).replica(t) })
}

// TestReplicasShareTokens: a token saved by one replica is loaded by another, with
// the same version, and replicas with another prefix do not see it.
func TestReplicasShareTokens(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	a, b := f.replica(t), f.replica(t)
	v := storetest.MustSave(t, a, "user", storetest.Token("a"), 0)
	tok, got := storetest.MustLoad(t, b, "user")
	if got != v {
		t.Errorf("version seen by the other replica = %d, want %d", got, v)
	}
	storetest.Equal(t, tok, storetest.Token("a"))

	other := f.replica(t, redisstore.WithPrefix(f.prefix+"other:"))
	if _, _, err := other.Load(t.Context(), "user"); !errors.Is(err, pixie.ErrNotFound) {
		t.Errorf("Load under another prefix: err = %v, want ErrNotFound", err)
	}
}

// TestSaveRace: replicas that all saw version v and save at once: exactly one
// wins, the others get ErrConflict, and the winner's token is stored.
func TestSaveRace(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	const replicas = 8
	stores := make([]*redisstore.Store, replicas)
	for i := range stores {
		stores[i] = f.replica(t)
	}
	v := storetest.MustSave(t, stores[0], "k", storetest.Token("start"), 0)
	var (
		wg     sync.WaitGroup
		winner atomic.Int32
		wins   atomic.Int32
	)
	start := make(chan struct{})
	for i, s := range stores {
		wg.Go(func() {
			<-start
			_, err := s.Save(context.Background(), "k", storetest.WithCount(storetest.Token("race"), i), v)
			switch {
			case err == nil:
				wins.Add(1)
				winner.Store(int32(i))
			case !errors.Is(err, pixie.ErrConflict):
				t.Errorf("replica %d: Save: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if got, want := wins.Load(), int32(1); got != want {
		t.Fatalf("%d saves of version %d succeeded, want %d", got, v, want)
	}
	tok, got := storetest.MustLoad(t, stores[0], "k")
	if got != v+1 {
		t.Errorf("version = %d, want %d", got, v+1)
	}
	if got, want := storetest.Count(t, tok), int(winner.Load()); got != want {
		t.Errorf("stored token is replica %d's, want the winner %d's", got, want)
	}
}

// TestLockAcrossReplicas: four replicas, each with its own Redis connection pool,
// increment a count by load, save under the lock. The lock alone makes them take
// turns: no save ever conflicts and no increment is lost.
func TestLockAcrossReplicas(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	const replicas, rounds = 4, 25
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	storetest.MustSave(t, f.replica(t), "shared", storetest.WithCount(storetest.Token("c"), 0), 0)
	var (
		wg     sync.WaitGroup
		inside atomic.Int32
	)
	for r := range replicas {
		s := f.replica(t)
		wg.Go(func() {
			for range rounds {
				if err := incrementLocked(ctx, s, &inside); err != nil {
					t.Errorf("replica %d: %v", r, err)
					return
				}
			}
		})
	}
	wg.Wait()
	tok, v := storetest.MustLoad(t, f.replica(t), "shared")
	if got, want := storetest.Count(t, tok), replicas*rounds; got != want {
		t.Errorf("count = %d, want %d", got, want)
	}
	if got, want := v, uint64(replicas*rounds+1); got != want {
		t.Errorf("version = %d, want %d (one save per increment)", got, want)
	}
}

// incrementLocked is one refresh, as a Source does it: lock, load, save, unlock.
// A conflict is an error here, since the lock must have prevented it.
func incrementLocked(ctx context.Context, s *redisstore.Store, inside *atomic.Int32) error {
	lease, err := s.Lock(ctx, "shared", 10*time.Second)
	if err != nil {
		return err
	}
	defer lease.Unlock(context.Background())
	if n := inside.Add(1); n != 1 {
		return fmt.Errorf("%d replicas hold the lock at once", n)
	}
	defer inside.Add(-1)
	tok, v, err := s.Load(ctx, "shared")
	if err != nil {
		return err
	}
	n, ok := tok.Extra["count"].(float64)
	if !ok {
		return errors.New("stored token has no count")
	}
	_, err = s.Save(ctx, "shared", storetest.WithCount(tok, int(n)+1), v)
	return err
}

// lapse makes the lock of key lapse at once, as if its lease time had run out
// while the holder stalled. The test reaches into Redis by the documented key
// layout rather than waiting for the lease to expire.
func (f *fleet) lapse(t *testing.T, key string) {
	t.Helper()
	n, err := f.admin.Del(t.Context(), f.prefix+"lock:"+key).Result()
	if err != nil || n != 1 {
		t.Fatalf("deleting the lock of %q: deleted %d, err %v; want 1 lock deleted", key, n, err)
	}
}

// TestFencing: a holder whose lease lapsed while another replica refreshed cannot
// overwrite the newer token: the version it loaded is stale, so its Save is
// refused and writes nothing.
func TestFencing(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	ctx := t.Context()
	stale, fresh := f.replica(t), f.replica(t)
	storetest.MustSave(t, stale, "k", storetest.Token("v1"), 0)

	storetest.MustLock(t, stale, "k", time.Minute)
	_, staleVersion := storetest.MustLoad(t, stale, "k")
	f.lapse(t, "k") // the stale holder stalls past its lease

	storetest.MustLock(t, fresh, "k", time.Minute)
	_, v := storetest.MustLoad(t, fresh, "k")
	newer := storetest.MustSave(t, fresh, "k", storetest.Token("v2 by the new holder"), v)

	if _, err := stale.Save(ctx, "k", storetest.Token("v2 by the stale holder"), staleVersion); !errors.Is(err, pixie.ErrConflict) {
		t.Fatalf("Save by the holder whose lease lapsed: err = %v, want ErrConflict", err)
	}
	tok, got := storetest.MustLoad(t, stale, "k")
	if got != newer {
		t.Errorf("version = %d, want %d", got, newer)
	}
	storetest.Equal(t, tok, storetest.Token("v2 by the new holder"))
}

// TestUnlockAndExtendLapsed: a lapsed lease neither releases nor extends the lock
// another replica holds now; the holder's own lease does both.
func TestUnlockAndExtendLapsed(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	ctx := t.Context()
	a, b := f.replica(t), f.replica(t)
	lapsed := storetest.MustLock(t, a, "k", time.Minute).(*redisstore.Lease)
	f.lapse(t, "k")
	current := storetest.MustLock(t, b, "k", time.Second).(*redisstore.Lease)

	if err := lapsed.Extend(ctx, time.Hour); !errors.Is(err, redisstore.ErrLeaseLost) {
		t.Errorf("Extend of a lapsed lease: err = %v, want ErrLeaseLost", err)
	}
	if err := lapsed.Unlock(ctx); err != nil {
		t.Errorf("Unlock of a lapsed lease: %v", err)
	}
	storetest.AssertLocked(t, a, "k")
	if ttl := f.admin.PTTL(ctx, f.prefix+"lock:k").Val(); ttl > time.Second {
		t.Errorf("lock expires in %v after the lapsed lease's Extend, want at most the holder's 1s", ttl)
	}

	if err := current.Extend(ctx, time.Hour); err != nil {
		t.Fatalf("Extend by the holder: %v", err)
	}
	if ttl := f.admin.PTTL(ctx, f.prefix+"lock:k").Val(); ttl < 59*time.Minute {
		t.Errorf("lock expires in %v after Extend(1h)", ttl)
	}
	if err := current.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := current.Extend(ctx, time.Hour); !errors.Is(err, redisstore.ErrLeaseLost) {
		t.Errorf("Extend after Unlock: err = %v, want ErrLeaseLost", err)
	}
	storetest.MustLock(t, a, "k", time.Minute)
}

func TestLeaseTime(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	s := f.replica(t)
	for _, ttl := range []time.Duration{0, -time.Second} {
		if _, err := s.Lock(t.Context(), "k", ttl); err == nil || !strings.Contains(err.Error(), "lease time") {
			t.Errorf("Lock with ttl %v: err = %v, want a lease time error", ttl, err)
		}
	}
	lease := storetest.MustLock(t, s, "k", 1500*time.Microsecond).(*redisstore.Lease)
	if err := lease.Extend(t.Context(), 0); err == nil || !strings.Contains(err.Error(), "lease time") {
		t.Errorf("Extend(0): err = %v, want a lease time error", err)
	}
	// A sub-millisecond remainder is rounded up, never to nothing: the 1.5ms lock
	// above was taken (Redis refuses PX 0). A long lease is kept whole; PTTL is
	// read a little later, so allow for the time in between.
	storetest.MustLock(t, s, "k2", 1500*time.Microsecond+time.Hour)
	if ttl := f.admin.PTTL(t.Context(), f.prefix+"lock:k2").Val(); ttl <= time.Hour-5*time.Second {
		t.Errorf("lock of 1h1.5ms expires in %v, want about an hour", ttl)
	}
}

// TestNoPlaintextInRedis reads every value in the Redis, with the commands of its
// type and as DUMP's serialized form, and finds no credential bytes.
func TestNoPlaintextInRedis(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	ctx := t.Context()
	s := f.replica(t)
	secrets := []string{"access-Zq7uXk2pW9", "refresh-Mv4Ht8Lc1N", "idtoken-Rb6Jy3Ds5F", "extra-Kw2Pn7Tg4A"}
	tok := &pixie.Token{
		AccessToken:  pixie.NewSecret(secrets[0]),
		RefreshToken: pixie.NewSecret(secrets[1]),
		IDToken:      pixie.NewSecret(secrets[2]),
		Extra:        map[string]any{"note": secrets[3]},
		Expiry:       time.Now().Add(time.Hour),
	}
	v := storetest.MustSave(t, s, "alice", tok, 0)
	storetest.MustSave(t, s, "alice", tok, v)
	storetest.MustSave(t, s, "bob", tok, 0)
	storetest.MustLock(t, s, "alice", time.Minute)

	var all [][]byte
	iter := f.admin.Scan(ctx, 0, "*", 100).Iterator()
	for iter.Next(ctx) {
		all = append(all, redisValue(t, f.admin, iter.Val())...)
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if got, want := len(f.redisKeys(t)), 3; got != want {
		t.Errorf("%d keys under the test prefix, want %d (two tokens, one lock)", got, want)
	}
	for _, sec := range secrets {
		for _, b := range all {
			if bytes.Contains(b, []byte(sec)) {
				t.Errorf("a Redis value holds a credential in the clear (%d bytes)", len(sec))
			}
		}
	}
}

// redisValue returns the forms of the value at key that a grep would look at.
func redisValue(t *testing.T, c *redis.Client, key string) [][]byte {
	t.Helper()
	ctx := t.Context()
	dump, err := c.Dump(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return nil // expired or deleted since SCAN
	}
	if err != nil {
		t.Fatalf("DUMP %q: %v", key, err)
	}
	out := [][]byte{[]byte(key), []byte(dump)}
	switch typ := c.Type(ctx, key).Val(); typ {
	case "string":
		out = append(out, []byte(c.Get(ctx, key).Val()))
	case "hash":
		for k, v := range c.HGetAll(ctx, key).Val() {
			out = append(out, []byte(k), []byte(v))
		}
	case "none":
	default:
		t.Logf("key %q holds a %s; checked its DUMP only", key, typ)
	}
	return out
}

// TestRecordLayout: the stored hash holds the version and the id of the sealing
// key in the clear, for operators, and nothing else.
func TestRecordLayout(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	s := f.replica(t)
	v := storetest.MustSave(t, s, "k", storetest.Token("a"), 0)
	v = storetest.MustSave(t, s, "k", storetest.Token("b"), v)
	h := f.admin.HGetAll(t.Context(), f.prefix+"token:k").Val()
	ks, err := seal.ParseKeySet(f.keys)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := h["version"], fmt.Sprint(v); got != want {
		t.Errorf("version field = %q, want %q", got, want)
	}
	if got, want := h["key_id"], ks.Current().String(); got != want {
		t.Errorf("key_id field = %q, want %q", got, want)
	}
	if got, want := len(h), 3; got != want {
		t.Errorf("record has %d fields, want %d", got, want)
	}
}

// TestKeys: a replica without the sealing key gets a clear error and the record
// is left alone; a replica with the key among older keys reads it and re-seals it
// with its current key on the next save.
func TestKeys(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	ctx := t.Context()
	oldKeys := f.replica(t)
	v := storetest.MustSave(t, oldKeys, "k", storetest.Token("a"), 0)

	newKey := testenv.StoreKey(t)
	wrong := f.replica(t, redisstore.WithKeys(newKey))
	_, _, err := wrong.Load(ctx, "k")
	if !errors.Is(err, seal.ErrUnknownKey) || !strings.Contains(err.Error(), "sealed with a key this store is not configured with") {
		t.Errorf("Load with the wrong key: err = %v, want a clear unknown-key error", err)
	}
	if errors.Is(err, pixie.ErrNotFound) {
		t.Error("Load with the wrong key reports ErrNotFound, as if there were no token")
	}
	if _, err := wrong.Save(ctx, "k", storetest.Token("x"), 0); !errors.Is(err, pixie.ErrConflict) {
		t.Errorf("Save(version 0) over another key's record: err = %v, want ErrConflict", err)
	}
	if tok, _ := storetest.MustLoad(t, oldKeys, "k"); tok.AccessToken.Reveal() != "access-a" {
		t.Error("the record changed after a replica with the wrong key used it")
	}

	rotated := f.replica(t, redisstore.WithKeys(newKey+","+f.keys))
	tok, got := storetest.MustLoad(t, rotated, "k")
	if got != v {
		t.Errorf("version read after rotation = %d, want %d", got, v)
	}
	storetest.Equal(t, tok, storetest.Token("a"))
	storetest.MustSave(t, rotated, "k", storetest.Token("b"), v)
	tok, _ = storetest.MustLoad(t, wrong, "k") // the new key alone opens it now
	storetest.Equal(t, tok, storetest.Token("b"))
	if _, _, err := oldKeys.Load(ctx, "k"); !errors.Is(err, seal.ErrUnknownKey) {
		t.Errorf("Load with only the retired key: err = %v, want an unknown-key error", err)
	}
}

// TestTampered: records altered in Redis, and values that are not pixie records,
// give errors that say so, and saves over them are refused, so nothing is
// overwritten or deleted.
func TestTampered(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	s := f.replica(t)
	for _, tc := range []struct {
		name   string
		key    string
		saved  bool // a valid record is saved under key before tamper runs
		tamper func(ctx context.Context, c *redis.Client, redisKey string) error
		want   string // in the Load error
	}{
		{"version changed", "v", true, func(ctx context.Context, c *redis.Client, k string) error {
			return c.HSet(ctx, k, "version", 7).Err()
		}, "altered in Redis"},
		{"record copied from another key", "copy", true, func(ctx context.Context, c *redis.Client, k string) error {
			storetest.MustSave(t, s, "source", storetest.Token("source"), 0)
			return c.Copy(ctx, f.prefix+"token:source", k, 0, true).Err()
		}, "altered in Redis"},
		{"key id field changed", "kid", true, func(ctx context.Context, c *redis.Client, k string) error {
			return c.HSet(ctx, k, "key_id", "0000000000000000").Err()
		}, "key id does not match"},
		{"sealed field truncated", "short", true, func(ctx context.Context, c *redis.Client, k string) error {
			return c.HSet(ctx, k, "sealed", "\x01abc").Err()
		}, "truncated"},
		{"field missing", "missing", true, func(ctx context.Context, c *redis.Client, k string) error {
			return c.HDel(ctx, k, "key_id").Err()
		}, "a field is missing"},
		{"version not a number", "nan", true, func(ctx context.Context, c *redis.Client, k string) error {
			return c.HSet(ctx, k, "version", "x").Err()
		}, "not a positive integer"},
		{"a string value", "string", false, func(ctx context.Context, c *redis.Client, k string) error {
			return c.Set(ctx, k, "another app's value", 0).Err()
		}, "WRONGTYPE"},
		{"a foreign hash", "hash", false, func(ctx context.Context, c *redis.Client, k string) error {
			return c.HSet(ctx, k, "owner", "another app").Err()
		}, "a field is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			redisKey := f.prefix + "token:" + tc.key
			if tc.saved {
				storetest.MustSave(t, s, tc.key, storetest.Token(tc.key), 0)
			}
			if err := tc.tamper(ctx, f.admin, redisKey); err != nil {
				t.Fatal(err)
			}
			before := f.admin.Dump(ctx, redisKey).Val()
			_, _, err := s.Load(ctx, tc.key)
			if err == nil || errors.Is(err, pixie.ErrNotFound) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load: err = %v, want an error containing %q", err, tc.want)
			}
			if _, err := s.Save(ctx, tc.key, storetest.Token("new"), 0); err == nil {
				t.Error("Save(version 0) over the record succeeded")
			} else if !tc.saved && errors.Is(err, pixie.ErrConflict) {
				t.Errorf("Save over a foreign value: err = %v, want an error saying it is not a token record", err)
			}
			if after := f.admin.Dump(ctx, redisKey).Val(); after != before {
				t.Error("the record changed")
			}
		})
	}
}

// TestRedisDown: with nothing listening at the address, every method fails
// within its context's deadline with an error naming Redis, its address and the
// operation.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	addr := closedPort(t)
	s, err := redisstore.New(newClient(t, addr), redisstore.WithKeys(testenv.StoreKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		op   string
		call func(ctx context.Context) error
	}{
		{"load", func(ctx context.Context) error { _, _, err := s.Load(ctx, "k"); return err }},
		{"save", func(ctx context.Context) error { _, err := s.Save(ctx, "k", storetest.Token("a"), 0); return err }},
		{"delete", func(ctx context.Context) error { return s.Delete(ctx, "k") }},
		{"lock", func(ctx context.Context) error { _, err := s.Lock(ctx, "k", time.Minute); return err }},
	} {
		t.Run(tc.op, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			start := time.Now()
			err := tc.call(ctx)
			elapsed := time.Since(start)
			want := fmt.Sprintf("redisstore: %s %q: Redis at %s: ", tc.op, "k", addr)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v, want one containing %q", err, want)
			}
			if errors.Is(err, pixie.ErrNotFound) || errors.Is(err, pixie.ErrConflict) {
				t.Errorf("err = %v is a store answer, want a Redis failure", err)
			}
			if elapsed > 3*time.Second {
				t.Errorf("failed after %v, want it by the context's deadline of 1s", elapsed)
			}
			t.Logf("%s failed in %v: %v", tc.op, elapsed, err)
		})
	}
}

// TestRedisRefused: without a deadline, the error carries the client's own
// reason once its retries are spent.
func TestRedisRefused(t *testing.T) {
	t.Parallel()
	addr := closedPort(t)
	s, err := redisstore.New(newClient(t, addr), redisstore.WithKeys(testenv.StoreKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Load(t.Context(), "k")
	if want := "redisstore: load \"k\": Redis at " + addr + ": dial tcp " + addr + ": connect: connection refused"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestLeaseClientClosed: Unlock and Extend report a failing Redis connection as
// an error naming Redis, not as a lapsed lease.
func TestLeaseClientClosed(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	c := redis.NewClient(&redis.Options{Addr: f.addr, ContextTimeoutEnabled: true})
	s, err := redisstore.New(c, redisstore.WithPrefix(f.prefix), redisstore.WithKeys(f.keys))
	if err != nil {
		t.Fatal(err)
	}
	lease := storetest.MustLock(t, s, "k", time.Minute).(*redisstore.Lease)
	c.Close()
	want := "Redis at " + f.addr
	if err := lease.Unlock(t.Context()); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Unlock: err = %v, want one containing %q", err, want)
	}
	if err := lease.Extend(t.Context(), time.Minute); err == nil || errors.Is(err, redisstore.ErrLeaseLost) || !strings.Contains(err.Error(), want) {
		t.Errorf("Extend: err = %v, want one containing %q", err, want)
	}
}

// TestReseal: after a rotation, Reseal re-seals the records an older key sealed,
// once, without changing versions, and only under its own prefix, even when the
// prefix holds glob characters.
func TestReseal(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	ctx := t.Context()
	oldKeys, err := seal.ParseKeySet(f.keys)
	if err != nil {
		t.Fatal(err)
	}
	newKey, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := oldKeys.Rotate(newKey)
	if err != nil {
		t.Fatal(err)
	}
	newOnly, err := seal.NewKeySet(newKey)
	if err != nil {
		t.Fatal(err)
	}
	// Unquoted, the pattern for prefix "<p>?*" would also match "<p>ab".
	ours, neighbours := redisstore.WithPrefix(f.prefix+"?*"), redisstore.WithPrefix(f.prefix+"ab")
	before := f.replica(t, ours)
	versions := map[string]uint64{
		"a": storetest.MustSave(t, before, "a", storetest.Token("a"), 0),
		"b": storetest.MustSave(t, before, "b", storetest.Token("b"), 0),
	}
	storetest.MustSave(t, f.replica(t, neighbours), "n", storetest.Token("n"), 0)

	after := f.replica(t, ours, redisstore.WithKeySet(rotated))
	versions["c"] = storetest.MustSave(t, after, "c", storetest.Token("c"), 0)
	n, err := after.Reseal(ctx)
	if err != nil || n != 2 {
		t.Fatalf("Reseal = %d, %v; want 2 (a and b), nil", n, err)
	}
	if n, err := after.Reseal(ctx); err != nil || n != 0 {
		t.Errorf("second Reseal = %d, %v; want 0, nil", n, err)
	}

	dropped := f.replica(t, ours, redisstore.WithKeySet(newOnly))
	for key, v := range versions {
		tok, got := storetest.MustLoad(t, dropped, key)
		if got != v {
			t.Errorf("%s: version %d after Reseal, want %d", key, got, v)
		}
		storetest.Equal(t, tok, storetest.Token(key))
	}
	storetest.MustSave(t, dropped, "a", storetest.Token("a2"), versions["a"])
	if got, want := f.admin.HGet(ctx, f.prefix+"abtoken:n", "key_id").Val(), oldKeys.Current().String(); got != want {
		t.Errorf("the neighbouring store's record has key id %s, want %s (untouched)", got, want)
	}

	n, err = f.replica(t, neighbours, redisstore.WithKeySet(newOnly)).Reseal(ctx)
	if !errors.Is(err, seal.ErrUnknownKey) || !strings.Contains(err.Error(), `reseal "n"`) || n != 0 {
		t.Errorf("Reseal of a record sealed with a missing key = %d, %v; want 0 and an unknown-key error naming it", n, err)
	}
}
