package pixie_test

import (
	"testing"
	"time"
)

// waitTimeout bounds every wait on a channel in these tests, so that a
// regression fails the test at once instead of hanging the suite.
const waitTimeout = 10 * time.Second

// receive returns the next value from ch, failing the test when none comes
// within waitTimeout. what says what was awaited.
func receive[T any](tb testing.TB, ch <-chan T, what string) T {
	tb.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		tb.Fatalf("waited %v for %s", waitTimeout, what)
	}
	var zero T
	return zero
}
