// Package redissession is a [web.SessionStore] in Redis, for an app that runs
// as several replicas behind a load balancer: every replica that points at the
// same Redis and prefix sees the same sessions, and the session lock makes one
// replica at a time refresh a session's tokens.
//
// Redis is not trusted with plaintext: the session data is sealed with
// AES-256-GCM (keys from [WithKeys] or the environment variable
// PIXIE_STORE_KEY, the same on every replica) and bound to its session key and
// subject. The Redis keys are
//
//	<prefix>session:<key>     hash  version, subject, expires (Unix ms),
//	                                key_id, sealed; with a matching TTL
//	<prefix>subject:<subject> set   the session keys of one user, for
//	                                DeleteSubject
//	<prefix>lock:<key>        string  the lock's owner token, with the lease
//	                                  as its expiry
//
// where <key> is the SHA-256 of the browser's session id, never the id. The
// prefix is "pixie:" unless [WithPrefix] says otherwise. Save is one Lua
// script (compare-and-swap on the version); DeleteSubject is one Lua script
// too, which builds key names, so the store needs a single Redis server (or a
// Cluster client whose keys all hash to one slot, with a prefix such as
// "{sessions}:").
package redissession

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/redislock"
	"github.com/pixieauth/pixie/internal/seal"
	"github.com/pixieauth/pixie/web"
	"github.com/pixieauth/pixie/web/internal/sessionseal"
)

// DefaultPrefix starts every Redis key of the store unless [WithPrefix] sets
// another.
const DefaultPrefix = "pixie:"

// Store is a [web.SessionStore] in Redis. It is safe for concurrent use, and
// any number of Stores, in any number of processes, may share a Redis and
// prefix.
type Store struct {
	client redis.UniversalClient
	keys   *seal.KeySet
	prefix string
	now    func() time.Time
}

var _ web.SessionStore = (*Store)(nil)

// Option configures [New].
type Option func(*options)

type options struct {
	prefix  string
	keys    *seal.KeySet
	keysErr error
	now     func() time.Time
}

// WithPrefix sets the prefix of the store's Redis keys (default
// [DefaultPrefix]). Replicas that share sessions must use the same prefix.
func WithPrefix(prefix string) Option { return func(o *options) { o.prefix = prefix } }

// WithKeys sets the sealing keys: one or more 32-byte keys in base64 or hex,
// separated by commas or spaces. The first seals; the others only open
// sessions sealed before a rotation. Without it, New reads PIXIE_STORE_KEY.
func WithKeys(keys string) Option {
	return func(o *options) {
		if o.keys, o.keysErr = seal.ParseKeySet(keys); o.keysErr != nil {
			o.keysErr = fmt.Errorf("WithKeys: %w", o.keysErr)
		}
	}
}

// WithClock sets the clock that decides which sessions have expired; nil
// means time.Now. Give the Web's clock.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New returns a Store in the Redis client talks to; the client is not closed
// by the Store. Build it with ContextTimeoutEnabled so every call is bounded by
// its context. New fails without sealing keys, and does not contact Redis.
func New(client redis.UniversalClient, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, errors.New("redissession: nil Redis client")
	}
	o := options{prefix: DefaultPrefix}
	for _, opt := range opts {
		opt(&o)
	}
	keys, err := seal.SharedKeys(o.keys, o.keysErr)
	if err != nil {
		return nil, fmt.Errorf("redissession: %w", err)
	}
	s := &Store{client: client, keys: keys, prefix: o.prefix, now: o.now}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

func (s *Store) sessionKey(key string) string     { return s.prefix + "session:" + key }
func (s *Store) subjectKey(subject string) string { return s.prefix + "subject:" + subject }
func (s *Store) lockKey(key string) string        { return s.prefix + "lock:" + key }

var errEmptyKey = errors.New("redissession: the session key is empty")

// redisErr wraps an error from Redis. Session keys are not quoted: they are
// hashes of the browser's session ids.
func redisErr(op string, err error) error {
	return fmt.Errorf("redissession: %s: Redis: %w", op, err)
}

// adDomain is the domain of the associated data of every sealed session.
const adDomain = "pixie redissession v1"

func associatedData(key, subject string) []byte {
	return sessionseal.AssociatedData(adDomain, key, subject)
}

// Load implements [web.SessionStore.Load].
func (s *Store) Load(ctx context.Context, key string) (*web.Record, uint64, error) {
	if key == "" {
		return nil, 0, errEmptyKey
	}
	vals, err := s.client.HMGet(ctx, s.sessionKey(key), "version", "subject", "expires", "sealed").Result()
	if err != nil {
		return nil, 0, redisErr("load", err)
	}
	if vals[0] == nil {
		return nil, 0, web.ErrNoSession
	}
	ver, subject, exp, sealed := str(vals[0]), str(vals[1]), str(vals[2]), str(vals[3])
	version, err1 := strconv.ParseUint(ver, 10, 64)
	expires, err2 := strconv.ParseInt(exp, 10, 64)
	if err1 != nil || err2 != nil {
		return nil, 0, errors.New("redissession: load: a Redis key of the store does not hold a session record")
	}
	if expires <= s.now().UnixMilli() {
		return nil, 0, web.ErrNoSession
	}
	data, err := s.keys.Open([]byte(sealed), associatedData(key, subject))
	if err != nil {
		return nil, 0, fmt.Errorf("redissession: a session cannot be opened (altered in Redis, or sealed with a key this replica lacks): %w", err)
	}
	return &web.Record{Subject: subject, Expires: time.UnixMilli(expires), Data: data}, version, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// saveScript writes a session if its stored version is ARGV[1] ("0": none, or
// an expired one). KEYS: the session hash, the subject set. ARGV: expected
// version, now (Unix ns), subject, expires (Unix ms), TTL in ms, key id,
// sealed data, session key. It returns the new version, or 0 on a conflict.
var saveScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'version') or '0'
local exp = redis.call('HGET', KEYS[1], 'expires')
if exp and tonumber(exp) <= tonumber(ARGV[2]) then
  cur = '0'
end
if cur ~= ARGV[1] then
  return 0
end
local next = tonumber(cur) + 1
redis.call('HSET', KEYS[1], 'version', next, 'subject', ARGV[3], 'expires', ARGV[4], 'key_id', ARGV[6], 'sealed', ARGV[7])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
if ARGV[3] ~= '' then
  redis.call('SADD', KEYS[2], ARGV[8])
  if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[5]) then
    redis.call('PEXPIRE', KEYS[2], ARGV[5])
  end
end
return next
`)

// Save implements [web.SessionStore.Save] as one atomic compare-and-swap.
func (s *Store) Save(ctx context.Context, key string, r *web.Record, version uint64) (uint64, error) {
	switch {
	case key == "":
		return 0, errEmptyKey
	case r == nil:
		return 0, errors.New("redissession: cannot save a nil record")
	}
	sealed, err := s.keys.Seal(r.Data, associatedData(key, r.Subject))
	if err != nil {
		return 0, fmt.Errorf("redissession: %w", err)
	}
	now := s.now()
	ttl := max(r.Expires.Sub(now).Milliseconds(), 1)
	n, err := saveScript.Run(ctx, s.client, []string{s.sessionKey(key), s.subjectKey(r.Subject)},
		strconv.FormatUint(version, 10), now.UnixMilli(), r.Subject, r.Expires.UnixMilli(), ttl,
		s.keys.Current().String(), sealed, key).Int64()
	if err != nil {
		return 0, redisErr("save", err)
	}
	if n == 0 {
		return 0, pixie.ErrConflict
	}
	return uint64(n), nil
}

// Delete implements [web.SessionStore.Delete]. The key stays in its subject's
// set until DeleteSubject or the set's expiry; it names nothing by then.
func (s *Store) Delete(ctx context.Context, key string) error {
	if key == "" {
		return errEmptyKey
	}
	if err := s.client.Del(ctx, s.sessionKey(key)).Err(); err != nil {
		return redisErr("delete", err)
	}
	return nil
}

// deleteSubjectScript deletes the sessions listed in the set KEYS[1], whose
// keys are ARGV[1] followed by a member, then the set, and returns how many
// sessions it deleted.
var deleteSubjectScript = redis.NewScript(`
local n = 0
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  n = n + redis.call('DEL', ARGV[1] .. m)
end
redis.call('DEL', KEYS[1])
return n
`)

// DeleteSubject implements [web.SessionStore.DeleteSubject].
func (s *Store) DeleteSubject(ctx context.Context, subject string) (int, error) {
	if subject == "" {
		return 0, errors.New("redissession: the subject is empty")
	}
	n, err := deleteSubjectScript.Run(ctx, s.client, []string{s.subjectKey(subject)}, s.sessionKey("")).Int()
	if err != nil {
		return 0, redisErr("delete a user's sessions", err)
	}
	return n, nil
}

// Lock implements [web.SessionStore.Lock] with SET NX PX and a random owner
// token (see redisstore's locks, which work the same way).
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) (pixie.Lease, error) {
	if key == "" {
		return nil, errEmptyKey
	}
	l, err := redislock.Lock(ctx, s.client, s.lockKey(key), ttl)
	if errors.Is(err, redislock.ErrLeaseTime) || errors.Is(err, redislock.ErrGaveUp) {
		return nil, fmt.Errorf("redissession: lock: %w", err)
	}
	if err != nil {
		return nil, redisErr("lock", err)
	}
	return l, nil
}
