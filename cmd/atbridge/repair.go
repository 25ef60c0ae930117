package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/atbridge/atbridge/capture"
)

func init() {
	register(&command{
		name:    "repair",
		summary: "Copy every recoverable record of a damaged capture into a clean one",
		usage:   "atbridge repair FILE -o OUT [--force]",
		examples: `  # a recording cut short by a power loss or a crash
  atbridge repair crashed.atcap -o fixed.atcap
  atbridge show fixed.atcap`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) int {
			out := fs.String("o", "", "clean capture file to write (required; must differ from FILE)")
			force := fs.Bool("force", false, forceUsage)
			return func(ctx context.Context, e *env, args []string) int {
				args, code, err := interspersed(e, fs, args)
				if err != nil {
					return code
				}
				return runRepair(ctx, e, args, *out, *force)
			}
		},
	})
}

// runRepair writes OUT and exits 0 when FILE was whole, 1 when damage was
// skipped (OUT still holds everything readable), 2 when it could not run,
// 130 when Ctrl-C stopped it (OUT then untouched).
func runRepair(ctx context.Context, e *env, args []string, out string, force bool) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "atbridge repair: "+format+"\n", a...)
		return exitFailure
	}
	switch {
	case len(args) != 1:
		return fail("want one capture FILE, got %d arguments; see atbridge repair --help", len(args))
	case out == "":
		return fail("-o OUT is required: repair never changes FILE itself")
	}
	src := args[0]
	if err := refuseExisting(out, force); err != nil {
		return fail("%v", err)
	}
	var bar *progress
	rep, err := capture.Repair(src, out, &capture.RepairOptions{Context: ctx, Progress: func(done, total int64) {
		if bar == nil {
			bar = newProgress(e, total, "repairing")
		}
		bar.set(done)
	}})
	bar.finish()
	if err != nil && ctx.Err() != nil {
		fmt.Fprintf(e.stderr, "atbridge repair: interrupted; %s not written\n", out)
		return exitSignal
	}
	if err != nil {
		return fail("%v", err)
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(e.stdout, "%s: skipped %s\n", src, p)
	}
	fmt.Fprintf(e.stdout, "wrote %s: %d records recovered, %d records lost in %s of %s\n",
		out, rep.Records, rep.RecordsLost, plural(len(rep.Problems), "damaged region"), src)
	if len(rep.Problems) > 0 {
		return exitProblem
	}
	return exitOK
}
