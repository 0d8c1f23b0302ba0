// Package fakeclock is the settable clock of pixie's tests. Every pixie type that
// reads the time takes a Now func; tests pass a Clock's Now and move it by hand
// instead of sleeping.
package fakeclock

import (
	"sync/atomic"
	"time"
)

// Clock is a clock that moves only when told. It is safe for concurrent use.
type Clock struct {
	ns atomic.Int64
}

// New returns a Clock showing t.
func New(t time.Time) *Clock {
	c := &Clock{}
	c.Set(t)
	return c
}

// Start is a fixed instant tests start from when the date does not matter.
var Start = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// Now returns the clock's time, in UTC.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

// Advance moves the clock by d (backwards when d is negative).
func (c *Clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// Set sets the clock to t.
func (c *Clock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }
