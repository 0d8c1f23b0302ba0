// Package redislock is a lease lock in Redis: SET NX PX with a random owner
// token, and a release that acts only while the lock still holds that token, so
// releasing a lapsed lease never releases the lock another holder took since.
package redislock

import (
	"context"
	"crypto/rand"
	"errors"
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

// Lease is a held lock.
type Lease struct {
	client redis.UniversalClient
	key    string
	owner  string
}

// Lock takes the lock held in the Redis key key, polling until it is free or
// ctx is done (the error then wraps ctx's cause). ttl is rounded up to whole
// milliseconds and must be positive. A Redis error ends the wait at once and is
// returned as is.
func Lock(ctx context.Context, client redis.UniversalClient, key string, ttl time.Duration) (*Lease, error) {
	if ttl <= 0 {
		return nil, errors.New("the lease time is not positive")
	}
	ttl = (ttl + time.Millisecond - 1).Truncate(time.Millisecond)
	l := &Lease{client: client, key: key, owner: rand.Text()}
	wait := pollMin
	for {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
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
			return nil, context.Cause(ctx)
		case <-t.C:
		}
		wait = min(2*wait, pollMax)
	}
}

// unlockScript deletes the lock if it still holds the owner token ARGV[1].
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// Unlock releases the lock if this lease still holds it; once the lease has
// lapsed it does nothing, and that is not an error.
func (l *Lease) Unlock(ctx context.Context) error {
	return unlockScript.Run(ctx, l.client, []string{l.key}, l.owner).Err()
}
