//go:build !linux && !darwin

package bridge

import "context"

// pumpBoth is the fast path of pump_fast_unix.go; elsewhere the two pumps
// always forward.
func (p *Proxy) pumpBoth(context.Context) (done bool, err error) { return false, nil }
