// Package redisstore is a [pixie.Store] in Redis, for a fleet: every replica that
// points at the same Redis and key prefix shares one token per key, and one
// distributed lock per key makes a single replica refresh it while the others
// wait and then take up its result.
//
// # Records
//
// Redis is not trusted with plaintext. A token is encoded with its credentials
// and sealed with AES-256-GCM (keys from [WithKeys], [WithKeySet] or the
// environment variable PIXIE_STORE_KEY) before it is sent, and the sealed record
// is bound, through the GCM associated data, to its store key and its version: a
// record copied to another key, or given another version number, does not open.
// Each token is one Redis hash:
//
//	<prefix>token:<key>   hash  version  decimal version, 1 for the first save
//	                            key_id   hex id of the key that sealed the record
//	                            sealed   the sealed record (binary)
//	<prefix>lock:<key>    string  the random owner token of the lock's holder,
//	                              with the lease time as its expiry
//
// The prefix is "pixie:" unless [WithPrefix] says otherwise. The key id lets an
// operator see which records a key rotation has not yet re-sealed; every Save
// seals with the current key, and [Store.Reseal] re-seals the rest.
//
// # Saves and fencing
//
// [Store.Save] is a compare-and-swap run as one Lua script, so it is atomic in
// Redis: it writes only if the stored version equals the expected one, and the
// new version is the old one plus one. The version is also the fencing token of
// the lock. A holder whose lease lapsed (it stalled, or its refresh outlived the
// lease) may still reach Save, but by then the lock may have passed to another
// replica that saved a newer token; the stale holder's version no longer matches
// and its Save returns [pixie.ErrConflict] without writing, so a lapsed holder can
// never overwrite a newer token. Whichever holder saves first wins; the other is
// refused.
//
// # Locks
//
// [Store.Lock] is SET NX PX with a random owner token, retried with exponential
// backoff and jitter until it succeeds or the context is done. [Lease.Unlock] and
// [Lease.Extend] are Lua scripts that act only while the lock still holds the
// lease's owner token, so releasing a lapsed lease never releases the lock another
// replica took since.
//
// # When Redis is down
//
// Every method returns an error naming Redis, its address and the operation; none
// panics and none deletes or rewrites anything to recover. A pixie.Source keeps
// serving the token it holds in process until that token expires, and reports
// these errors only when it has no valid token left. Each call is bounded by its
// context when the client was built with ContextTimeoutEnabled (recommended), and
// otherwise by the client's dial, read and write timeouts. Note that the client
// retries failed commands (MaxRetries, DialerRetries): with go-redis's defaults a
// refused connection is reported after about two seconds.
//
// # Durability
//
// Save returns once Redis has applied the write. Whether the write survives a
// Redis crash depends on the server's persistence: run Redis with appendonly yes
// (and appendfsync always for the strongest guarantee) for a token store. A lost
// write means a lost rotated refresh token, so a user must log in again.
//
// # Cluster
//
// Each command and script touches a single Redis key, so the store works with
// Redis Cluster ([redis.ClusterClient]) as well as a single server. It needs
// Redis 4.0 or later.
package redisstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/redislock"
	"github.com/pixieauth/pixie/internal/seal"
	"github.com/pixieauth/pixie/internal/tokenrec"
)

// DefaultPrefix starts the name of every Redis key the store uses, unless
// [WithPrefix] sets another.
const DefaultPrefix = "pixie:"

// ErrLeaseLost is returned by [Lease.Extend] when the lease has lapsed: another
// replica may hold the lock now.
var ErrLeaseLost = errors.New("redisstore: lease lapsed, the lock is no longer held")

// Store is a [pixie.Store] in Redis. Create it with [New]. It is safe for
// concurrent use, and any number of Stores, in any number of processes, may share
// one Redis and prefix.
type Store struct {
	client redis.UniversalClient
	keys   *seal.KeySet
	prefix string
	addr   string
}

var _ pixie.Store = (*Store)(nil)

// Option configures [New].
type Option func(*options)

type options struct {
	prefix  string
	keys    *seal.KeySet // nil: read PIXIE_STORE_KEY
	keysErr error        // why WithKeys or WithKeySet gave no keys
}

// WithPrefix sets the prefix of the store's Redis keys (default [DefaultPrefix]).
// Replicas that share tokens must use the same prefix; different prefixes give
// independent stores in one Redis, provided neither is the other followed by
// "token:" or "lock:" (the store's keys are prefix+"token:"+key and
// prefix+"lock:"+key, so such prefixes would overlap).
func WithPrefix(prefix string) Option {
	return func(o *options) { o.prefix = prefix }
}

// WithKeys sets the sealing keys: one or more 32-byte keys in base64 or hex,
// separated by commas or spaces. The first seals new records; the others only
// open records sealed before a rotation. To rotate, put a new key first, keep the
// old one after it, run [Store.Reseal] once, then drop the old key. Every replica
// must have the key that sealed a record to read it.
//
// Without WithKeys or [WithKeySet], New reads the keys, in the same format, from
// the environment variable PIXIE_STORE_KEY.
func WithKeys(keys string) Option {
	return func(o *options) {
		o.keys, o.keysErr = seal.ParseKeySet(keys)
		if o.keysErr != nil {
			o.keysErr = fmt.Errorf("WithKeys: %w", o.keysErr)
		}
	}
}

// WithKeySet sets the sealing keys, for callers inside pixie that loaded them
// already (for example with a seal.Resolver).
func WithKeySet(keys *seal.KeySet) Option {
	return func(o *options) {
		o.keys, o.keysErr = keys, nil
		if keys == nil {
			o.keysErr = fmt.Errorf("WithKeySet: %w", seal.ErrNoKey)
		}
	}
}

// New returns a Store that keeps tokens in the Redis that client talks to. The
// client is not closed by the Store. Build it with ContextTimeoutEnabled so that
// every call is bounded by its context.
//
// The sealing keys come from [WithKeys] or [WithKeySet] (the last one given wins),
// or else from the environment variable PIXIE_STORE_KEY; New fails when there is
// none, since a fleet cannot share a key generated on one machine. New does not
// contact Redis.
func New(client redis.UniversalClient, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: nil Redis client")
	}
	o := options{prefix: DefaultPrefix}
	for _, opt := range opts {
		opt(&o)
	}
	keys, err := seal.SharedKeys(o.keys, o.keysErr)
	if err != nil {
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	return &Store{client: client, keys: keys, prefix: o.prefix, addr: addrOf(client)}, nil
}

// addrOf names the Redis a client talks to, for error messages.
func addrOf(c redis.UniversalClient) string {
	switch c := c.(type) {
	case *redis.Client:
		return c.Options().Addr
	case *redis.ClusterClient:
		return strings.Join(c.Options().Addrs, ",")
	}
	return "(address unknown)"
}

// Hash fields of a token record; see the package documentation.
const (
	fieldVersion = "version"
	fieldKeyID   = "key_id"
	fieldSealed  = "sealed"
)

func (s *Store) tokenKey(key string) string { return s.prefix + "token:" + key }
func (s *Store) lockKey(key string) string  { return s.prefix + "lock:" + key }

// checkKey refuses the empty key, a caller's bug rather than a missing token.
// Any other string, binary included, is a key.
func checkKey(op, key string) error {
	if key == "" {
		return fmt.Errorf("redisstore: %s: the store key is empty", op)
	}
	return nil
}

// redisErr wraps an error from Redis with the operation, the store key and the
// server's address. Store keys name a profile or a user, never a credential.
func (s *Store) redisErr(op, key string, err error) error {
	return fmt.Errorf("redisstore: %s %q: Redis at %s: %w", op, key, s.addr, err)
}

// adDomain starts the associated data of every sealed record.
const adDomain = "pixie redisstore record v1\x00"

// associatedData binds a sealed record to its store key and version. The domain
// and the version have fixed sizes, so the key is the unambiguous remainder.
func associatedData(key string, version uint64) []byte {
	ad := make([]byte, 0, len(adDomain)+8+len(key))
	ad = append(ad, adDomain...)
	ad = binary.BigEndian.AppendUint64(ad, version)
	return append(ad, key...)
}

// Load implements [pixie.Store.Load]. A record that cannot be opened (sealed with
// a key this Store does not have, or altered in Redis) is an error that says so;
// it is left in place.
func (s *Store) Load(ctx context.Context, key string) (*pixie.Token, uint64, error) {
	if err := checkKey("load", key); err != nil {
		return nil, 0, err
	}
	fields, err := s.client.HGetAll(ctx, s.tokenKey(key)).Result()
	if err != nil {
		return nil, 0, s.redisErr("load", key, err)
	}
	if len(fields) == 0 {
		return nil, 0, pixie.ErrNotFound
	}
	version, sealed, err := parseRecord(fields)
	if err != nil {
		return nil, 0, fmt.Errorf("redisstore: load %q: Redis key %q does not hold a pixie token record: %w", key, s.tokenKey(key), err)
	}
	plain, err := s.keys.Open(sealed, associatedData(key, version))
	switch {
	case errors.Is(err, seal.ErrUnknownKey):
		return nil, 0, fmt.Errorf("redisstore: load %q: the stored token was sealed with a key this store is not configured with (give every replica the same keys, and keep the old key after a rotation until Reseal has run): %w", key, err)
	case err != nil:
		return nil, 0, fmt.Errorf("redisstore: load %q: the stored token does not open: it was altered in Redis or copied from another key: %w", key, err)
	}
	tok, err := tokenrec.Decode(plain)
	if err != nil {
		return nil, 0, fmt.Errorf("redisstore: load %q: %w", key, err)
	}
	return tok, version, nil
}

// parseRecord checks the fields of a token hash. Fields it does not know are
// ignored.
func parseRecord(fields map[string]string) (uint64, []byte, error) {
	ver, ok1 := fields[fieldVersion]
	kid, ok2 := fields[fieldKeyID]
	sealed, ok3 := fields[fieldSealed]
	if !ok1 || !ok2 || !ok3 {
		return 0, nil, fmt.Errorf("a field is missing (want %s, %s and %s)", fieldVersion, fieldKeyID, fieldSealed)
	}
	version, err := strconv.ParseUint(ver, 10, 64)
	if err != nil || version == 0 {
		return 0, nil, errors.New("the version is not a positive integer")
	}
	id, err := seal.KeyIDOf([]byte(sealed))
	if err != nil {
		return 0, nil, err
	}
	if id.String() != kid {
		return 0, nil, errors.New("the key id does not match the sealed record")
	}
	return version, []byte(sealed), nil
}

// saveScript writes a token record if the stored version is the expected one.
// KEYS[1]: the token hash. ARGV: expected version ("0": nothing stored), new
// version, key id, sealed record. It returns 1 when written, 0 on a conflict. A
// key holding anything but a token record is an error and is left alone.
var saveScript = redis.NewScript(`
local cur = '0'
if redis.call('EXISTS', KEYS[1]) == 1 then
  cur = redis.call('HGET', KEYS[1], 'version')
  if not cur then
    return redis.error_reply('key holds a hash that is not a pixie token record')
  end
end
if cur ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'key_id', ARGV[3], 'sealed', ARGV[4])
return 1
`)

// Save implements [pixie.Store.Save] as one atomic compare-and-swap in Redis. The
// version is the lock's fencing token: a holder whose lease lapsed while another
// replica saved a newer token gets [pixie.ErrConflict] and writes nothing (see
// the package documentation). A conflict is never an error from Redis, so
// errors.Is(err, pixie.ErrConflict) is exact.
func (s *Store) Save(ctx context.Context, key string, tok *pixie.Token, version uint64) (uint64, error) {
	if err := checkKey("save", key); err != nil {
		return 0, err
	}
	if version == math.MaxUint64 {
		return 0, fmt.Errorf("redisstore: save %q: version %d cannot be incremented", key, version)
	}
	plain, err := tokenrec.Encode(tok)
	if err != nil {
		return 0, fmt.Errorf("redisstore: save %q: %w", key, err)
	}
	next := version + 1
	sealed, err := s.keys.Seal(plain, associatedData(key, next))
	if err != nil {
		return 0, fmt.Errorf("redisstore: save %q: %w", key, err)
	}
	ok, err := saveScript.Run(ctx, s.client, []string{s.tokenKey(key)},
		strconv.FormatUint(version, 10), strconv.FormatUint(next, 10), s.keys.Current().String(), sealed).Int()
	if err != nil {
		return 0, s.redisErr("save", key, err)
	}
	if ok != 1 {
		return 0, pixie.ErrConflict
	}
	return next, nil
}

// Delete implements [pixie.Store.Delete]. It leaves the key's lock alone.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkKey("delete", key); err != nil {
		return err
	}
	if err := s.client.Del(ctx, s.tokenKey(key)).Err(); err != nil {
		return s.redisErr("delete", key, err)
	}
	return nil
}

// Lock implements [pixie.Store.Lock] with SET NX PX and a random owner token,
// polling until the lock is free or ctx is done. The returned [pixie.Lease] is a
// *[Lease]. ttl must be positive; it is rounded up to whole milliseconds, Redis's
// resolution. A Redis error ends the wait at once. If ctx ends while a SET is in
// flight, Redis may have granted the lock with no lease returned for it; such a
// lock lapses after ttl like that of a crashed holder.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) (pixie.Lease, error) {
	if err := checkKey("lock", key); err != nil {
		return nil, err
	}
	l, err := redislock.Lock(ctx, s.client, s.lockKey(key), ttl)
	if err != nil {
		return nil, s.lockErr("lock", key, err)
	}
	return &Lease{s: s, key: key, l: l}, nil
}

// lockErr describes an error of the lock: the lock's own (a lease time that is
// not positive, a wait that ctx ended) or one from Redis.
func (s *Store) lockErr(op, key string, err error) error {
	if errors.Is(err, redislock.ErrLeaseTime) || errors.Is(err, redislock.ErrGaveUp) {
		return fmt.Errorf("redisstore: %s %q: %w", op, key, err)
	}
	return s.redisErr(op, key, err)
}

// Lease is a held lock of a [Store], returned by [Store.Lock] as a [pixie.Lease].
// It is safe for concurrent use. A Lease not made by Lock holds nothing: its
// methods return an error.
type Lease struct {
	s   *Store
	key string
	l   *redislock.Lease
}

// errNoLease is returned by the methods of a Lease that Lock did not make.
var errNoLease = errors.New("redisstore: the Lease was not returned by Store.Lock")

// Unlock implements [pixie.Lease.Unlock]: it releases the lock if this lease still
// holds it. Once the lease has lapsed it does nothing, even if another replica
// holds the lock now, and that is not an error.
func (l *Lease) Unlock(ctx context.Context) error {
	if l == nil || l.l == nil {
		return errNoLease
	}
	if err := l.l.Unlock(ctx); err != nil {
		return l.s.redisErr("unlock", l.key, err)
	}
	return nil
}

// Extend makes the lease last ttl from now, for a holder whose work outlasts the
// lease time it asked for. It returns [ErrLeaseLost] if the lease has already
// lapsed (the lock may belong to another replica; the holder's Save will be
// refused if that replica saved first). ttl is rounded up to whole milliseconds.
func (l *Lease) Extend(ctx context.Context, ttl time.Duration) error {
	if l == nil || l.l == nil {
		return errNoLease
	}
	err := l.l.Extend(ctx, ttl)
	if errors.Is(err, redislock.ErrLeaseLost) {
		return ErrLeaseLost
	}
	if err != nil {
		return l.s.lockErr("extend lock", l.key, err)
	}
	return nil
}

// resealScript replaces the sealed record and key id of a token hash if its
// version and sealed record are still ARGV[1] and ARGV[2]; ARGV[3] and ARGV[4]
// are the new key id and sealed record. It returns 1 if so, else 0.
var resealScript = redis.NewScript(`
local f = redis.call('HMGET', KEYS[1], 'version', 'sealed')
if f[1] ~= ARGV[1] or f[2] ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], 'key_id', ARGV[3], 'sealed', ARGV[4])
return 1
`)

// Reseal re-seals with the current key every record under the store's prefix
// sealed with an older one, and returns how many it rewrote. Versions do not
// change, since the tokens do not: a concurrent Save still succeeds, and a record
// saved meanwhile is left as that Save wrote it. Run it after a key rotation,
// before dropping the old key. It stops at the first record it cannot open.
//
// Reseal walks the keys with SCAN (on every master of a Redis Cluster), so it
// does not block Redis, and a record created during the walk may be missed;
// those are sealed with the current key anyway.
func (s *Store) Reseal(ctx context.Context) (int, error) {
	var resealed atomic.Int64
	err := s.scanTokens(ctx, func(ctx context.Context, redisKey string) error {
		changed, err := s.reseal(ctx, redisKey)
		if changed {
			resealed.Add(1)
		}
		return err
	})
	return int(resealed.Load()), err
}

// reseal re-seals one record if an older key sealed it.
func (s *Store) reseal(ctx context.Context, redisKey string) (bool, error) {
	key := strings.TrimPrefix(redisKey, s.tokenKey(""))
	fields, err := s.client.HGetAll(ctx, redisKey).Result()
	if err != nil {
		return false, s.redisErr("reseal", key, err)
	}
	if len(fields) == 0 {
		return false, nil // deleted since the scan saw it
	}
	version, sealed, err := parseRecord(fields)
	if err != nil {
		return false, fmt.Errorf("redisstore: reseal %q: Redis key %q does not hold a pixie token record: %w", key, redisKey, err)
	}
	if fields[fieldKeyID] == s.keys.Current().String() {
		return false, nil
	}
	out, changed, err := s.keys.Reseal(sealed, associatedData(key, version))
	if err != nil {
		return false, fmt.Errorf("redisstore: reseal %q: %w", key, err)
	}
	if !changed {
		return false, nil
	}
	n, err := resealScript.Run(ctx, s.client, []string{redisKey},
		fields[fieldVersion], fields[fieldSealed], s.keys.Current().String(), out).Int()
	if err != nil {
		return false, s.redisErr("reseal", key, err)
	}
	return n == 1, nil
}

// scanTokens calls fn with the Redis key of every token record under the
// store's prefix, stopping at the first error. On a Redis Cluster it scans the
// masters concurrently.
func (s *Store) scanTokens(ctx context.Context, fn func(ctx context.Context, redisKey string) error) error {
	pattern := escapeGlob(s.tokenKey("")) + "*"
	scan := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, pattern, 100).Iterator()
		for iter.Next(ctx) {
			if err := fn(ctx, iter.Val()); err != nil {
				return err
			}
		}
		if err := iter.Err(); err != nil {
			return s.redisErr("scan", pattern, err)
		}
		return nil
	}
	if cc, ok := s.client.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	}
	return scan(ctx, s.client)
}

// escapeGlob quotes the characters that are special in a Redis glob pattern
// (SCAN MATCH), so that a prefix matches only itself. Redis matches bytes, so
// this works on bytes too.
func escapeGlob(s string) string {
	var b strings.Builder
	for i := range len(s) {
		if strings.IndexByte(`*?[]\`, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
