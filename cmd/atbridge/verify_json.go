package main

import (
	"encoding/json"
	"fmt"

	"github.com/atbridge/atbridge/capture"
)

// verifyJSON is "atbridge verify --json": one object, documented in the
// README's JSON schemas.
type verifyJSON struct {
	File           string        `json:"file"`
	OK             bool          `json:"ok"`
	Version        int           `json:"version"`
	Tool           string        `json:"tool"`
	Size           int64         `json:"size"`
	Records        int64         `json:"records"`
	RecordsLost    int64         `json:"records_lost"`
	UnknownRegions int64         `json:"unknown_regions"`
	Indexed        bool          `json:"indexed"`
	Problems       []problemJSON `json:"problems"`
}

type problemJSON struct {
	Offset  int64  `json:"offset"`
	Length  int64  `json:"length"`
	Message string `json:"message"`
}

// writeVerifyJSON prints rep as one line of JSON and returns verify's exit
// code for it: 0 whole, 1 damaged.
func writeVerifyJSON(e *env, path string, rep *capture.VerifyReport) int {
	v := verifyJSON{File: path, OK: rep.OK(), Version: int(rep.Header.Version), Tool: rep.Header.Tool, Size: rep.Size,
		Records: rep.Records, RecordsLost: rep.RecordsLost, UnknownRegions: rep.Unknown, Indexed: rep.Indexed,
		Problems: []problemJSON{}}
	for _, p := range rep.Problems {
		v.Problems = append(v.Problems, problemJSON{Offset: p.Offset, Length: p.Length, Message: p.Message})
	}
	b, err := json.Marshal(v)
	if err != nil {
		fmt.Fprintf(e.stderr, "atbridge verify: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(e.stdout, "%s\n", b)
	if !v.OK {
		return exitProblem
	}
	return exitOK
}
