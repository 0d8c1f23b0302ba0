package pixie_test

import (
	"context"
	"sync"
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

// waitGroup waits for wg, failing the test when it is not done within
// waitTimeout.
func waitGroup(tb testing.TB, wg *sync.WaitGroup, what string) {
	tb.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	receive(tb, done, what)
}

// await waits until ch is closed or ctx is done, for a wait in a goroutine
// other than the test's (a fetch, a store call), which cannot fail the test
// itself: the Source bounds ctx by its LockTTL.
func await(ctx context.Context, ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
