//go:build !race

package local

// raceEnabled: the race detector is off.
const raceEnabled = false
