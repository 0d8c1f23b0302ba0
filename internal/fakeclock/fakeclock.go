// Package fakeclock is the settable clock of pixie's tests. Every pixie type that
// reads the time takes a Now func; tests pass a Clock's Now and move it by hand
// instead of sleeping.
package fakeclock

import (
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
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

// Monotonic is a clock whose readings carry a monotonic clock reading, as
// time.Now's do, so that comparing two of them uses the monotonic clock; and
// its wall and monotonic clocks can part. Advance moves both; Suspend moves the
// wall clock only, as suspending the machine does on Linux, where the
// monotonic clock (CLOCK_MONOTONIC) stops meanwhile. It is safe for concurrent
// use.
//
// Its readings start at the real time it was made.
type Monotonic struct {
	base      time.Time // a time.Now reading, with its monotonic reading
	wall, lag atomic.Int64
}

// NewMonotonic returns a Monotonic clock showing the time now. It fails tb if
// this Go release lays out time.Time otherwise than Monotonic needs.
func NewMonotonic(tb testing.TB) *Monotonic {
	tb.Helper()
	t0 := time.Now()
	t1 := shiftMonotonic(t0.Add(time.Hour), -time.Hour)
	if t1.Sub(t0) != 0 || t1.Round(0).Sub(t0.Round(0)) != time.Hour {
		tb.Fatal("fakeclock: time.Time no longer keeps its monotonic reading where Monotonic sets it; update timeLayout")
	}
	return &Monotonic{base: time.Now()}
}

// Now returns the clock's time, with a monotonic reading that lags its wall
// time by what Suspend added.
func (c *Monotonic) Now() time.Time {
	return shiftMonotonic(c.base.Add(time.Duration(c.wall.Load())), -time.Duration(c.lag.Load()))
}

// Advance moves both the wall and the monotonic clock by d (d ≥ 0).
func (c *Monotonic) Advance(d time.Duration) { c.wall.Add(int64(d)) }

// Suspend moves the wall clock by d while the monotonic clock stands still, as
// when the machine sleeps for d.
func (c *Monotonic) Suspend(d time.Duration) {
	c.wall.Add(int64(d))
	c.lag.Add(int64(d))
}

// timeLayout is the layout of time.Time: with a monotonic reading, ext holds
// it, in nanoseconds since the process started.
type timeLayout struct {
	wall uint64
	ext  int64
	loc  *time.Location
}

// shiftMonotonic returns t (which carries a monotonic reading) with its
// monotonic reading moved by d and its wall time unchanged. No exported API
// does this: Add moves both readings and Round(0) drops the monotonic one, so
// every reading time.Now gives keeps the same distance between the two, and a
// suspend cannot be shown otherwise. NewMonotonic checks that the layout still
// holds.
func shiftMonotonic(t time.Time, d time.Duration) time.Time {
	(*timeLayout)(unsafe.Pointer(&t)).ext += int64(d)
	return t
}
