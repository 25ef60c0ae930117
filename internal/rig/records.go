package rig

import (
	"sync"

	"github.com/atbridge/atbridge/capture"
)

// Records keeps copies of the records given to Add, as a Recorder hook
// (esp.Options.Record and the like) sees them. Safe for concurrent use.
type Records struct {
	mu   sync.Mutex
	recs []capture.Record
}

// Add keeps a copy of r and its Data.
func (s *Records) Add(r *capture.Record) {
	c := *r
	c.Data = append([]byte(nil), r.Data...)
	s.mu.Lock()
	s.recs = append(s.recs, c)
	s.mu.Unlock()
}

// All returns the records kept so far.
func (s *Records) All() []capture.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]capture.Record(nil), s.recs...)
}
