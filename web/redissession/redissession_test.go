package redissession_test

import (
	"context"
	"crypto/rand"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixieauth/pixie/internal/testenv"
	"github.com/pixieauth/pixie/web/redissession"
	"github.com/pixieauth/pixie/web/sessiontest"
)

// TestConformance runs the suite against the Redis of PIXIE_TEST_REDIS_ADDR
// (scripts/with-redis starts one), each subtest under a prefix of its own.
func TestConformance(t *testing.T) {
	addr := os.Getenv("PIXIE_TEST_REDIS_ADDR")
	if addr == "" {
		t.Skip("set PIXIE_TEST_REDIS_ADDR (scripts/with-redis starts redis-server) to run the Redis tests")
	}
	sessiontest.Run(t, func(t *testing.T, now func() time.Time) sessiontest.Harness {
		client := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
		prefix := "pixietest:" + rand.Text() + ":"
		s, err := redissession.New(client, redissession.WithPrefix(prefix), redissession.WithKeys(testenv.StoreKey(t)), redissession.WithClock(now))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx := context.Background()
			for _, key := range keys(t, client, prefix) {
				client.Del(ctx, key)
			}
			client.Close()
		})
		return sessiontest.Harness{Store: s, Dump: func(t *testing.T) []byte {
			ctx := context.Background()
			var all []byte
			for _, key := range keys(t, client, prefix) {
				b, err := client.Dump(ctx, key).Bytes()
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, b...)
			}
			return all
		}}
	})
}

// keys lists the Redis keys under prefix.
func keys(t *testing.T, c *redis.Client, prefix string) []string {
	t.Helper()
	var ks []string
	iter := c.Scan(context.Background(), 0, prefix+"*", 100).Iterator()
	for iter.Next(context.Background()) {
		ks = append(ks, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return ks
}
