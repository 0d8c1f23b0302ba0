// Package testenv finds the outside services pixie's tests run against (a
// redis-server, a Chromium) and decides what a missing one means: a skip on a
// developer's machine, a failure under CI=true, where every test must run. It
// also makes the sealing keys the store tests share.
package testenv

import (
	"os"
	"testing"

	"github.com/pixieauth/pixie/internal/seal"
)

// RedisAddrEnv names the variable scripts/with-redis sets to its redis-server's
// loopback address.
const RedisAddrEnv = "PIXIE_TEST_REDIS_ADDR"

// CI reports whether the tests run under CI (CI=true), where a missing service
// fails the test instead of skipping it.
func CI() bool { return os.Getenv("CI") == "true" }

// Missing stops tb because a service it needs is absent: it skips, or under
// CI=true fails, with why.
func Missing(tb testing.TB, why string) {
	tb.Helper()
	if CI() {
		tb.Fatalf("%s (CI=true: a missing service is a failure, not a skip)", why)
	}
	tb.Skip(why)
}

// RedisAddr returns the address of the test Redis from PIXIE_TEST_REDIS_ADDR, or
// calls [Missing] when it is not set.
func RedisAddr(tb testing.TB) string {
	tb.Helper()
	addr := os.Getenv(RedisAddrEnv)
	if addr == "" {
		Missing(tb, "set "+RedisAddrEnv+" (scripts/with-redis starts a redis-server; ./scripts/test uses it) to run the Redis tests")
	}
	return addr
}

// StoreKey returns a new random sealing key, as PIXIE_STORE_KEY holds it.
func StoreKey(tb testing.TB) string {
	tb.Helper()
	k, err := seal.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	return k.Reveal()
}
