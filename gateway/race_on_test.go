//go:build race

package gateway_test

// allocFactor scales allocation bounds: the race detector's
// instrumentation about doubles what the same code allocates.
const allocFactor = 2
