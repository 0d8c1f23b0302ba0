// Package bench holds benchmarks that run pixie and golang.org/x/oauth2 side by
// side in one process, so that their figures come from the same machine, the
// same moment and the same loopback servers. The web session benchmark runs
// pixie's web package and github.com/alexedwards/scs/v2 the same way
// (impl=pixie, impl=scs).
//
// Each benchmark has one sub-benchmark per implementation, named impl=pixie,
// impl=x-oauth2 (and impl=none for a baseline without a token), so that
// benchstat can put them in columns:
//
//	go test -run='^$' -bench=. -benchmem -count=6 ./bench/ | tee bench.txt
//	benchstat -col '/impl@(x-oauth2 pixie none pixie-as-oauth2)' bench.txt
//
// The package has no code of its own; docs/benchmarks.md records and reads the
// results.
package bench
