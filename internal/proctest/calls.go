package proctest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/pixieauth/pixie"
)

// CallAll calls token from n goroutines released at once, and tallies what they
// got: "<fingerprint> (<n> callers)" for each token, and the errors.
func CallAll(ctx context.Context, n int, token func(context.Context) (*pixie.Token, error)) string {
	results := make([]string, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			tok, err := token(ctx)
			if err != nil {
				results[i] = "error: " + err.Error()
				return
			}
			results[i] = Fingerprint(tok.AccessToken)
		})
	}
	close(start)
	wg.Wait()
	tally := map[string]int{}
	for _, r := range results {
		tally[r]++
	}
	var parts []string
	for _, r := range slices.Sorted(maps.Keys(tally)) {
		parts = append(parts, fmt.Sprintf("%s (%d callers)", r, tally[r]))
	}
	return strings.Join(parts, "; ")
}
