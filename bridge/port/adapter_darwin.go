package port

import "github.com/atbridge/atbridge/capture"

// adapterEnumerated knows nothing on macOS: go.bug.st/serial's enumerator
// needs cgo (IOKit) there, and atbridge is built without it.
func adapterEnumerated(string) (capture.Adapter, bool) { return capture.Adapter{}, false }
