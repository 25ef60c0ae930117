package pcapng_test

import "flag"

// The -update flag that updating looks up: declared here, since no other
// test file of this package declares it any more.
var _ = func() *bool {
	if f := flag.Lookup("update"); f != nil {
		return nil
	}
	return flag.Bool("update", false, "rewrite the golden files under testdata/export")
}()
