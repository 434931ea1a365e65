//go:build race

package flex

// raceEnabled: the race detector changes allocation counts.
const raceEnabled = true
