// Package bench holds end-to-end benchmarks of ramp: the whole engine with
// the local provider, real processes and traffic on loopback. Run them with
//
//	go test -run '^$' -bench . ./bench/
//
// Speed targets live here, as benchmarks, never as timed tests.
package bench
