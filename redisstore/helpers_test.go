package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/pixieauth/pixie/internal/testenv"
	"github.com/pixieauth/pixie/redisstore"
)

// newClient returns a client of the Redis at addr, closed when the test ends.
func newClient(tb testing.TB, addr string) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	tb.Cleanup(func() { c.Close() })
	return c
}

// fleet is one test's corner of the test Redis: a key prefix of its own, so that
// tests running at once never see each other's keys, and one set of sealing keys.
type fleet struct {
	addr   string
	prefix string
	keys   string
	admin  *redis.Client // for looking at, and tampering with, what the store wrote
}

// newFleet returns a fleet with a fresh prefix whose keys are deleted when the
// test ends. It skips the test when no test Redis is configured.
func newFleet(tb testing.TB) *fleet {
	tb.Helper()
	addr := testenv.RedisAddr(tb)
	f := &fleet{addr: addr, prefix: "pixietest:" + randomHex(tb) + ":", keys: testenv.StoreKey(tb), admin: newClient(tb, addr)}
	tb.Cleanup(func() {
		ctx := context.Background()
		for _, k := range f.redisKeys(tb) {
			f.admin.Del(ctx, k)
		}
	})
	return f
}

// replica returns a Store of the fleet with a client of its own, as a separate
// process would have. opts come after the fleet's prefix and keys.
func (f *fleet) replica(tb testing.TB, opts ...redisstore.Option) *redisstore.Store {
	tb.Helper()
	s, err := redisstore.New(newClient(tb, f.addr), append([]redisstore.Option{redisstore.WithPrefix(f.prefix), redisstore.WithKeys(f.keys)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// redisKeys lists every Redis key under the fleet's prefix.
func (f *fleet) redisKeys(tb testing.TB) []string {
	tb.Helper()
	var keys []string
	iter := f.admin.Scan(context.Background(), 0, f.prefix+"*", 100).Iterator()
	for iter.Next(context.Background()) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		tb.Fatalf("SCAN: %v", err)
	}
	return keys
}

func randomHex(tb testing.TB) string {
	tb.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}
