package redisstore_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixieauth/pixie/internal/seal"
	"github.com/pixieauth/pixie/internal/testenv"
	"github.com/pixieauth/pixie/redisstore"
	"github.com/pixieauth/pixie/storetest"
)

// TestNew needs no Redis: New checks its arguments and keys only.
func TestNew(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { client.Close() })

	t.Run("nil client", func(t *testing.T) {
		if _, err := redisstore.New(nil, redisstore.WithKeys(testenv.StoreKey(t))); err == nil {
			t.Error("New(nil) succeeded")
		}
	})
	t.Run("no key", func(t *testing.T) {
		t.Setenv(seal.EnvVar, "")
		_, err := redisstore.New(client)
		if err == nil || !strings.Contains(err.Error(), seal.EnvVar) || !errors.Is(err, seal.ErrNoKey) {
			t.Errorf("New without a key: err = %v, want one naming %s", err, seal.EnvVar)
		}
	})
	t.Run("key from the environment", func(t *testing.T) {
		t.Setenv(seal.EnvVar, testenv.StoreKey(t))
		if _, err := redisstore.New(client); err != nil {
			t.Errorf("New with %s set: %v", seal.EnvVar, err)
		}
	})
	t.Run("bad key in the environment", func(t *testing.T) {
		t.Setenv(seal.EnvVar, "not-a-key")
		_, err := redisstore.New(client)
		if !errors.Is(err, seal.ErrInvalidKey) || strings.Contains(err.Error(), "not-a-key") {
			t.Errorf("New with a bad key: err = %v, want an invalid-key error that does not quote it", err)
		}
	})
	t.Run("bad WithKeys", func(t *testing.T) {
		_, err := redisstore.New(client, redisstore.WithKeys(testenv.StoreKey(t)+",short"))
		if !errors.Is(err, seal.ErrInvalidKey) || !strings.Contains(err.Error(), "WithKeys") || strings.Contains(err.Error(), "short") {
			t.Errorf("New with a bad key: err = %v, want an invalid-key error naming WithKeys and not quoting the key", err)
		}
	})
	t.Run("nil WithKeySet", func(t *testing.T) {
		t.Setenv(seal.EnvVar, testenv.StoreKey(t))
		if _, err := redisstore.New(client, redisstore.WithKeySet(nil)); !errors.Is(err, seal.ErrNoKey) {
			t.Errorf("New(WithKeySet(nil)): err = %v, want ErrNoKey, not the environment's key", err)
		}
	})
	t.Run("the last key option wins", func(t *testing.T) {
		ks, err := seal.ParseKeySet(testenv.StoreKey(t))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := redisstore.New(client, redisstore.WithKeys("bad"), redisstore.WithKeySet(ks)); err != nil {
			t.Errorf("WithKeys(bad) then WithKeySet: %v", err)
		}
		if _, err := redisstore.New(client, redisstore.WithKeySet(ks), redisstore.WithKeys("bad")); !errors.Is(err, seal.ErrInvalidKey) {
			t.Errorf("WithKeySet then WithKeys(bad): err = %v, want ErrInvalidKey", err)
		}
	})
	t.Run("WithKeys wins over the environment", func(t *testing.T) {
		t.Setenv(seal.EnvVar, "not-a-key")
		if _, err := redisstore.New(client, redisstore.WithKeys(testenv.StoreKey(t))); err != nil {
			t.Errorf("New with WithKeys: %v", err)
		}
	})
}

// TestEmptyKeyWithoutRedis: the empty key is refused before Redis is contacted.
func TestEmptyKeyWithoutRedis(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { client.Close() })
	s, err := redisstore.New(client, redisstore.WithKeys(testenv.StoreKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Save(t.Context(), "", storetest.Token("a"), 0); err == nil || !strings.Contains(err.Error(), "store key is empty") {
		t.Errorf("Save with the empty key: err = %v", err)
	}
}

// TestLeaseNotFromLock: a Lease made by hand fails with an error, not a panic.
func TestLeaseNotFromLock(t *testing.T) {
	for name, l := range map[string]*redisstore.Lease{"zero": {}, "nil": nil} {
		if err := l.Unlock(t.Context()); err == nil {
			t.Errorf("Unlock of a %s Lease succeeded", name)
		}
		if err := l.Extend(t.Context(), time.Second); err == nil || errors.Is(err, redisstore.ErrLeaseLost) {
			t.Errorf("Extend of a %s Lease: err = %v, want an error other than ErrLeaseLost", name, err)
		}
	}
}
