//go:build race

package cache

// raceEnabled is true when the race detector is on.
const raceEnabled = true
