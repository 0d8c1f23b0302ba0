package web

import (
	"bytes"
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultCacheSize is how many decoded sessions a [Web] keeps in memory unless
// [CacheSize] says otherwise.
const DefaultCacheSize = 10000

// sessionCache keeps decoded sessions in memory, so that a signed-in request
// decodes its session only when the session changed. It never replaces the
// store: every request still loads the session's record, and an entry serves
// only a record with the version and the plaintext it was decoded from, so a
// session ended or changed elsewhere (another replica's sign-out, a refresh)
// is seen at once. It holds at most max entries, dropping the least recently
// used first, and an entry is dropped, never served, once its session has
// expired. A cached session is shared and never changed: a writer copies it.
// The zero value with max 0 caches nothing.
type sessionCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]*list.Element
	lru     list.List // of *cached, the most recently used at the front
}

type cached struct {
	key     string
	version uint64
	data    []byte // the plaintext s was decoded from
	s       *session
	expires time.Time
}

func newSessionCache(max int) *sessionCache {
	return &sessionCache{max: max, entries: map[string]*list.Element{}}
}

// get returns the session of key decoded from version and data, or nil when
// the cache holds no such unexpired session.
func (c *sessionCache) get(key string, version uint64, data []byte, now time.Time) *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil
	}
	ce := e.Value.(*cached)
	if !now.Before(ce.expires) {
		c.drop(e)
		return nil
	}
	if ce.version != version || !bytes.Equal(ce.data, data) {
		return nil
	}
	c.lru.MoveToFront(e)
	return ce.s
}

// put caches s, decoded from version and data of key, until expires. It
// drops the least recently used entries beyond the bound, and expired ones
// at the back of the list.
func (c *sessionCache) put(key string, version uint64, data []byte, s *session, expires, now time.Time) {
	if c.max <= 0 || !now.Before(expires) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ce := &cached{key: key, version: version, data: data, s: s, expires: expires}
	if e, ok := c.entries[key]; ok {
		e.Value = ce
		c.lru.MoveToFront(e)
	} else {
		c.entries[key] = c.lru.PushFront(ce)
	}
	for back := c.lru.Back(); back != nil; back = c.lru.Back() {
		if c.lru.Len() <= c.max && now.Before(back.Value.(*cached).expires) {
			break
		}
		c.drop(back)
	}
}

// remove forgets the session of key.
func (c *sessionCache) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		c.drop(e)
	}
}

func (c *sessionCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

func (c *sessionCache) drop(e *list.Element) {
	c.lru.Remove(e)
	delete(c.entries, e.Value.(*cached).key)
}

// errUnreadableSession wraps the reason a stored session cannot be decoded.
var errUnreadableSession = errors.New("web: unreadable session")

// loadSession loads the session of key from the store and decodes it, or
// takes it from the cache when the store returned the version and plaintext
// the cached session was decoded from. The session returned is shared: copy
// it before changing it. It fails with ErrNoSession when the store has no
// session under key.
func (w *Web) loadSession(ctx context.Context, key string) (*session, *Record, uint64, error) {
	rec, version, err := w.store.Load(ctx, key)
	if err != nil {
		if errors.Is(err, ErrNoSession) {
			w.cache.remove(key)
		}
		return nil, nil, 0, err
	}
	now := w.now()
	if s := w.cache.get(key, version, rec.Data, now); s != nil {
		return s, rec, version, nil
	}
	s, err := decodeSession(rec.Data)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%w: %w", errUnreadableSession, err)
	}
	w.cacheSession(key, version, rec.Data, s, now)
	return s, rec, version, nil
}

// deleteSession ends the session of key, in the store and in the cache.
func (w *Web) deleteSession(ctx context.Context, key string) error {
	w.cache.remove(key)
	return w.store.Delete(ctx, key)
}

// cacheSession caches the signed-in session s, stored under key at version
// as data, until it expires. A sign-in in progress is used once and not
// cached.
func (w *Web) cacheSession(key string, version uint64, data []byte, s *session, now time.Time) {
	if s.Login == nil {
		w.cache.put(key, version, data, s, w.expiry(s), now)
	}
}
