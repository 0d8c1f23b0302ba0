package pixie

import (
	"context"
	"time"
)

// SetSleep replaces the wait between device token polls and returns a function
// that restores it. Tests that call it must not run in parallel.
func SetSleep(f func(context.Context, time.Duration) error) (restore func()) {
	old := sleep
	sleep = f
	return func() { sleep = old }
}

// DiscoveryCacheLen returns how many documents d holds.
func DiscoveryCacheLen(d *Discovery) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.cache)
}
