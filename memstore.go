package pixie

import (
	"context"
	"errors"
	"sync"
	"time"
)

// MemoryStore is a [Store] in process memory: tokens last as long as the process,
// and its locks coordinate the TokenSources of one process. The zero value is
// ready to use. Tokens are kept as the immutable *Token values given to Save.
type MemoryStore struct {
	mu     sync.Mutex
	tokens map[string]memRecord
	locks  map[string]*memLock
}

var _ Store = (*MemoryStore)(nil)

// Errors for calls that no store can serve: the storetest suite requires every
// store to refuse them.
var (
	errEmptyKey = errors.New("pixie: the store key is empty")
	errNilToken = errors.New("pixie: cannot store a nil token")
)

type memRecord struct {
	tok     *Token
	version uint64
}

type memLock struct {
	expires time.Time
	freed   chan struct{} // closed when the lock is released
}

// Load implements [Store.Load].
func (s *MemoryStore) Load(ctx context.Context, key string) (*Token, uint64, error) {
	if key == "" {
		return nil, 0, errEmptyKey
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.tokens[key]
	if !ok {
		return nil, 0, ErrNotFound
	}
	return r.tok, r.version, nil
}

// Save implements [Store.Save].
func (s *MemoryStore) Save(ctx context.Context, key string, tok *Token, version uint64) (uint64, error) {
	switch {
	case key == "":
		return 0, errEmptyKey
	case tok == nil:
		return 0, errNilToken
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tokens[key].version != version {
		return 0, ErrConflict
	}
	if s.tokens == nil {
		s.tokens = make(map[string]memRecord)
	}
	r := memRecord{tok: tok, version: version + 1}
	s.tokens[key] = r
	return r.version, nil
}

// Delete implements [Store.Delete].
func (s *MemoryStore) Delete(ctx context.Context, key string) error {
	if key == "" {
		return errEmptyKey
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, key)
	return nil
}

// Lock implements [Store.Lock].
func (s *MemoryStore) Lock(ctx context.Context, key string, ttl time.Duration) (Lease, error) {
	if key == "" {
		return nil, errEmptyKey
	}
	for {
		s.mu.Lock()
		now := time.Now()
		l := s.locks[key]
		if l == nil || !now.Before(l.expires) {
			if s.locks == nil {
				s.locks = make(map[string]*memLock)
			}
			nl := &memLock{expires: now.Add(ttl), freed: make(chan struct{})}
			s.locks[key] = nl
			s.mu.Unlock()
			return &memLease{s: s, key: key, l: nl}, nil
		}
		wait := l.expires.Sub(now)
		s.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-l.freed:
		case <-t.C:
		}
		t.Stop()
	}
}

type memLease struct {
	s    *MemoryStore
	key  string
	l    *memLock
	once sync.Once
}

func (m *memLease) Unlock(context.Context) error {
	m.once.Do(func() {
		m.s.mu.Lock()
		defer m.s.mu.Unlock()
		if m.s.locks[m.key] == m.l {
			delete(m.s.locks, m.key)
		}
		close(m.l.freed)
	})
	return nil
}
