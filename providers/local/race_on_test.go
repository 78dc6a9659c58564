//go:build race

package local

// raceEnabled: the race detector is on, which makes sync.Pool drop a
// share of what is put back, so allocation counts grow at random.
const raceEnabled = true
