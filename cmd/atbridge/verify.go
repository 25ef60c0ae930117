package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/atbridge/atbridge/capture"
)

func init() {
	register(&command{
		name:    "verify",
		summary: "Check a capture file for damage",
		usage:   "atbridge verify [--json] FILE",
		examples: `  # exit 0 and one OK line for a whole file
  atbridge verify session.atcap
  # check every capture in a folder, stopping at the first damaged one
  for f in *.atcap; do atbridge verify "$f" || break; done
  # the same as one JSON object, for CI
  atbridge verify --json session.atcap | jq .ok`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) int {
			asJSON := fs.Bool("json", false, "print the result as one JSON object (schema in the README) instead of text")
			return func(ctx context.Context, e *env, args []string) int {
				args, code, err := interspersed(e, fs, args)
				if err != nil {
					return code
				}
				return runVerify(ctx, e, args, *asJSON)
			}
		},
	})
}

// runVerify prints one line for a whole file (exit 0), or one line per
// problem and a hint (exit 1); a file it cannot read as a capture at all is
// exit 2; Ctrl-C stops it with exit 130.
func runVerify(ctx context.Context, e *env, args []string, asJSON bool) int {
	if len(args) != 1 {
		fmt.Fprintf(e.stderr, "atbridge verify: want one capture FILE, got %d arguments; see atbridge verify --help\n", len(args))
		return exitFailure
	}
	path := args[0]
	var bar *progress
	rep, err := capture.Verify(path, &capture.VerifyOptions{Context: ctx, Progress: func(done, total int64) {
		if bar == nil {
			bar = newProgress(e, total, "verifying")
		}
		bar.set(done)
	}})
	bar.finish()
	if err != nil && ctx.Err() != nil {
		fmt.Fprintf(e.stderr, "atbridge verify: interrupted; %s not fully checked\n", path)
		return exitSignal
	}
	if err != nil {
		hint := ""
		if errors.Is(err, capture.ErrNotCapture) {
			hint = " (a socat dump? convert it with atbridge import --from socat)"
		}
		fmt.Fprintf(e.stderr, "atbridge verify: %v%s\n", err, hint)
		return exitFailure
	}
	if asJSON {
		return writeVerifyJSON(e, path, rep)
	}
	if rep.OK() {
		fmt.Fprintf(e.stdout, "%s: OK: %d records, %d bytes of traffic (file %d bytes), format v%d, written by %s\n", path, rep.Records, rep.DataBytes, rep.Size, rep.Header.Version, orUnknown(rep.Header.Tool))
		return exitOK
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(e.stdout, "%s: %s\n", path, p)
	}
	lost := fmt.Sprintf("%d records lost", rep.RecordsLost)
	if rep.Unknown > 0 {
		lost += " plus an unknown number in " + plural(int(rep.Unknown), "region")
	}
	fmt.Fprintf(e.stdout, "%s: %s, %d records readable, %s; run \"atbridge repair %s -o FIXED.atcap\" to keep what is readable\n",
		path, plural(len(rep.Problems), "problem"), rep.Records, lost, path)
	return exitProblem
}

// plural returns "1 problem", "2 problems".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown tool"
	}
	return s
}
