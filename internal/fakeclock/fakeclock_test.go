package fakeclock_test

import (
	"testing"
	"time"

	"github.com/pixieauth/pixie/internal/fakeclock"
)

func TestMonotonicSuspend(t *testing.T) {
	clk := fakeclock.NewMonotonic(t)
	before := clk.Now()
	clk.Advance(time.Minute)
	if got, want := clk.Now().Sub(before), time.Minute; got != want {
		t.Errorf("after Advance: Sub = %v, want %v", got, want)
	}
	deadline := before.Add(time.Hour) // as time.Now().Add(time.Hour) is
	clk.Suspend(2 * time.Hour)
	now := clk.Now()
	// Between two readings, Go compares the monotonic clocks, which stood
	// still during the suspend; without them, the wall clocks.
	if got, want := now.Sub(before), time.Minute; got != want {
		t.Errorf("after Suspend: monotonic Sub = %v, want %v", got, want)
	}
	if got, want := now.Round(0).Sub(before.Round(0)), 2*time.Hour+time.Minute; got != want {
		t.Errorf("after Suspend: wall Sub = %v, want %v", got, want)
	}
	if !now.Before(deadline) {
		t.Error("monotonic comparison: the deadline passed during the suspend")
	}
	if now.Before(deadline.Round(0)) {
		t.Error("wall comparison: the deadline did not pass during the suspend")
	}
}
