package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/atbridge/atbridge/replay"
)

func init() {
	register(&command{
		name:    "diff",
		summary: "Compare two captures transaction by transaction (same rules and reports as replay)",
		usage:   "atbridge diff [flags] A.atcap B.atcap",
		examples: `  # what changed between yesterday's and today's run
  atbridge diff good.atcap new.atcap

  # byte-exact, as JSON, and a JUnit file for CI
  atbridge diff --match strict --json --junit diff.xml good.atcap new.atcap

  # ignore the Wi-Fi password and fail commands more than twice as slow
  atbridge diff --rules rules.txt --max-slowdown 2x good.atcap new.atcap`,
		setup: setupDiff,
	})
}

// compareFlags are the matching and report flags diff and replay share.
type compareFlags struct {
	match       string
	rules       string
	order       string
	json        bool
	junit       string
	maxSlowdown string
	force       bool // replace an existing --junit file (and replay's -w)
}

func (c *compareFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.match, "match", "", "strict (byte-exact) or lenient (normalised by the rules; the default)")
	fs.StringVar(&c.rules, "rules", "", "rules file: ignored parameters, masks, faults (see docs/match-rules.md)")
	fs.StringVar(&c.order, "order", "", "strict (transactions in recorded order) or any (pair them by command)")
	fs.BoolVar(&c.json, "json", false, "print the report as JSON instead of text")
	fs.StringVar(&c.junit, "junit", "", "also write the report as JUnit XML to this file (one test case per transaction)")
	fs.StringVar(&c.maxSlowdown, "max-slowdown", "", "fail transactions slower than the original by this factor, e.g. 2x")
	registerForce(fs, &c.force)
}

// loadRules builds the rules from the file and the flags (flags win).
func (c *compareFlags) loadRules() (*replay.Rules, error) {
	r := &replay.Rules{}
	if c.rules != "" {
		var err error
		if r, err = replay.LoadRules(c.rules); err != nil {
			return nil, err
		}
	}
	if c.match != "" {
		m, err := replay.ParseMatch(c.match)
		if err != nil {
			return nil, fmt.Errorf("--match: %w", err)
		}
		r.Match = m
	}
	switch c.order {
	case "":
	case "strict":
		r.AnyOrder = false
	case "any":
		r.AnyOrder = true
	default:
		return nil, fmt.Errorf("--order must be strict or any, not %q", c.order)
	}
	if c.maxSlowdown != "" {
		f, err := replay.ParseSlowdown(c.maxSlowdown)
		if err != nil {
			return nil, fmt.Errorf("--max-slowdown: %w", err)
		}
		r.MaxSlowdown = f
	}
	return r, nil
}

// report prints rep as asked and returns the exit code: 0 equal, 1
// different, 2 when a report could not be written.
func (c *compareFlags) report(e *env, rep *replay.Report, suite string) int {
	var err error
	if c.json {
		err = rep.WriteJSON(e.stdout)
	} else {
		err = rep.WriteText(e.stdout)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "atbridge %s: writing the report: %v\n", suite, err)
		return exitFailure
	}
	if c.junit != "" {
		out, err := createOutput(c.junit, c.force)
		if err == nil {
			err = writeOutput(out, func(w io.Writer) error { return rep.WriteJUnit(w, suite) })
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "atbridge %s: --junit: %v\n", suite, err)
			return exitFailure
		}
	}
	if !rep.Equal {
		return exitProblem
	}
	return exitOK
}

func setupDiff(fs *flag.FlagSet) func(context.Context, *env, []string) int {
	var c compareFlags
	c.register(fs)
	return func(ctx context.Context, e *env, args []string) int {
		pos := args
		if len(pos) != 2 {
			fmt.Fprintf(e.stderr, "atbridge diff: want two captures, A (expected) and B (got); run \"atbridge diff --help\"\n")
			return exitFailure
		}
		rules, err := c.loadRules()
		if err != nil {
			fmt.Fprintf(e.stderr, "atbridge diff: %v\n", err)
			return exitFailure
		}
		if err := refuseExisting(c.junit, c.force); err != nil {
			fmt.Fprintf(e.stderr, "atbridge diff: --junit: %v\n", err)
			return exitFailure
		}
		a, err := replay.Load(pos[0])
		if err != nil {
			fmt.Fprintf(e.stderr, "atbridge diff: %v\n", err)
			return exitFailure
		}
		b, err := replay.Load(pos[1])
		if err != nil {
			fmt.Fprintf(e.stderr, "atbridge diff: %v\n", err)
			return exitFailure
		}
		rep := replay.Compare(a, b, rules)
		rep.Expected, rep.Got = pos[0], pos[1]
		return c.report(e, rep, "diff."+filepath.Base(pos[0]))
	}
}
