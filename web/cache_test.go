package web

import (
	"fmt"
	"testing"
	"time"

	"github.com/pixieauth/pixie/internal/fakeclock"
)

// The cache holds at most its bound, dropping the least recently used.
func TestSessionCacheBound(t *testing.T) {
	c := newSessionCache(3)
	now := fakeclock.Start
	until := now.Add(time.Hour)
	data := []byte("data")
	for i := range 3 {
		c.put(fmt.Sprint(i), 1, data, &session{}, until, now)
	}
	if c.get("0", 1, data, now) == nil { // 0 is now the most recently used
		t.Fatal("session 0 is not cached")
	}
	c.put("3", 1, data, &session{}, until, now)
	if got := c.len(); got != 3 {
		t.Errorf("%d sessions cached; want at most 3", got)
	}
	if c.get("1", 1, data, now) != nil {
		t.Error("session 1, the least recently used, is still cached")
	}
	for _, k := range []string{"0", "2", "3"} {
		if c.get(k, 1, data, now) == nil {
			t.Errorf("session %s is not cached", k)
		}
	}
}

// An entry serves only the version and plaintext it was decoded from.
func TestSessionCacheMatch(t *testing.T) {
	c := newSessionCache(10)
	now := fakeclock.Start
	s := &session{Name: "a"}
	c.put("k", 2, []byte("data"), s, now.Add(time.Hour), now)
	for _, tc := range []struct {
		version uint64
		data    string
		want    *session
	}{{2, "data", s}, {3, "data", nil}, {2, "dat4", nil}, {1, "data", nil}} {
		if got := c.get("k", tc.version, []byte(tc.data), now); got != tc.want {
			t.Errorf("get(version %d, %q) = %v; want %v", tc.version, tc.data, got, tc.want)
		}
	}
	c.remove("k")
	if c.get("k", 2, []byte("data"), now) != nil {
		t.Error("a removed session is still served")
	}
}

// An expired session is never served, and is dropped.
func TestSessionCacheExpiry(t *testing.T) {
	c := newSessionCache(10)
	now := fakeclock.Start
	data := []byte("data")
	c.put("old", 1, data, &session{}, now.Add(time.Minute), now)
	c.put("expired", 1, data, &session{}, now, now)
	if got := c.len(); got != 1 {
		t.Errorf("%d sessions cached; want 1 (an expired session is not cached)", got)
	}
	later := now.Add(time.Minute)
	if c.get("old", 1, data, later) != nil {
		t.Error("a session is served from the cache at its expiry")
	}
	c.put("new", 1, data, &session{}, later.Add(time.Minute), later)
	if got := c.len(); got != 1 {
		t.Errorf("%d sessions cached; want 1 (the expired one dropped)", got)
	}
	c.put("newer", 1, data, &session{}, later.Add(2*time.Minute), later)
	later = later.Add(time.Minute)
	c.put("newest", 1, data, &session{}, later.Add(time.Minute), later)
	if got := c.len(); got != 2 {
		t.Errorf("%d sessions cached; want 2 (an expired session at the back of the list dropped)", got)
	}
}

// A cache of size zero or less keeps nothing.
func TestSessionCacheOff(t *testing.T) {
	c := newSessionCache(-1)
	now := fakeclock.Start
	c.put("k", 1, nil, &session{}, now.Add(time.Hour), now)
	if c.get("k", 1, nil, now) != nil || c.len() != 0 {
		t.Error("a cache of size -1 keeps sessions")
	}
}
