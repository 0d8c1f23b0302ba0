// Package redislock is a lease lock in Redis: SET NX PX with a random owner
// token, and a release and an extension that act only while the lock still
// holds that token, so releasing a lapsed lease never releases the lock another
// holder took since.
package redislock

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"
)

// Polling: the first retry waits about pollMin, each next one twice as long up
// to pollMax, every wait randomized to between half and all of it so that
// holders that started together spread out.
const (
	pollMin = 2 * time.Millisecond
	pollMax = 100 * time.Millisecond
)

// Errors of [Lock] and [Lease.Extend] that do not come from Redis.
var (
	// ErrLeaseTime is wrapped by the error for a lease time that is not
	// positive.
	ErrLeaseTime = errors.New("lease time is not positive")
	// ErrGaveUp is wrapped, with the context's cause, by the error of a Lock
	// whose context ended the wait.
	ErrGaveUp = errors.New("gave up waiting for the lock")
	// ErrLeaseLost is returned by [Lease.Extend] once the lease has lapsed:
	// another holder may have the lock now.
	ErrLeaseLost = errors.New("lease lapsed, the lock is no longer held")
)

// Lease is a held lock.
type Lease struct {
	client redis.UniversalClient
	key    string
	owner  string
}

// Lock takes the lock held in the Redis key key, polling until it is free or
// ctx is done (the error then wraps [ErrGaveUp] and ctx's cause). ttl is
// rounded up to whole milliseconds, Redis's resolution, and must be positive
// ([ErrLeaseTime]). A Redis error ends the wait at once and is returned as is.
// If ctx ends while a SET is in flight, Redis may have granted the lock with no
// lease returned for it; such a lock lapses after ttl like that of a crashed
// holder.
func Lock(ctx context.Context, client redis.UniversalClient, key string, ttl time.Duration) (*Lease, error) {
	ttl, err := leaseTime(ttl)
	if err != nil {
		return nil, err
	}
	l := &Lease{client: client, key: key, owner: rand.Text()}
	wait := pollMin
	for {
		if ctx.Err() != nil {
			return nil, gaveUp(ctx)
		}
		err := client.SetArgs(ctx, key, l.owner, redis.SetArgs{Mode: "NX", TTL: ttl}).Err()
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, redis.Nil) { // redis.Nil: the lock is held
			return nil, err
		}
		t := time.NewTimer(wait/2 + mrand.N(wait/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, gaveUp(ctx)
		case <-t.C:
		}
		wait = min(2*wait, pollMax)
	}
}

func gaveUp(ctx context.Context) error {
	return fmt.Errorf("%w: %w", ErrGaveUp, context.Cause(ctx))
}

// leaseTime checks a lease time and rounds it up to Redis's resolution.
func leaseTime(ttl time.Duration) (time.Duration, error) {
	if ttl <= 0 {
		return 0, fmt.Errorf("%w: %v", ErrLeaseTime, ttl)
	}
	return (ttl + time.Millisecond - 1).Truncate(time.Millisecond), nil
}

// unlockScript deletes the lock if it still holds the owner token ARGV[1].
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// extendScript sets the lock's expiry to ARGV[2] milliseconds if it still holds
// the owner token ARGV[1]. It returns 1 if so, else 0.
var extendScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

// Unlock releases the lock if this lease still holds it; once the lease has
// lapsed it does nothing, and that is not an error.
func (l *Lease) Unlock(ctx context.Context) error {
	return unlockScript.Run(ctx, l.client, []string{l.key}, l.owner).Err()
}

// Extend makes the lease last ttl from now (rounded up to whole milliseconds),
// for a holder whose work outlasts the lease time it asked for. It returns
// [ErrLeaseLost] if the lease has already lapsed.
func (l *Lease) Extend(ctx context.Context, ttl time.Duration) error {
	ttl, err := leaseTime(ttl)
	if err != nil {
		return err
	}
	ok, err := extendScript.Run(ctx, l.client, []string{l.key}, l.owner, ttl.Milliseconds()).Int()
	if err != nil {
		return err
	}
	if ok != 1 {
		return ErrLeaseLost
	}
	return nil
}
