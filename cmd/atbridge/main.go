// Command atbridge records, emulates, replays and exports the serial traffic
// between a host app and an ESP32 running ESP-AT with its WebSocket commands.
//
// Run "atbridge help" for the list of commands and "atbridge help COMMAND"
// (or "atbridge COMMAND --help") for each one's flags and examples.
//
// It parses flags, wires the packages together and prints; what it
// computes lives in the packages it imports (bridge, replay, redact,
// analysis, capture, formats).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// Exit codes, documented in the README and in "atbridge help".
const (
	exitOK      = 0 // success; for verify/diff/replay: no problem found
	exitProblem = 1 // the command ran and found a problem (damage, differences, misses)
	exitFailure = 2 // the command could not run: bad usage, unreadable file, port error
	exitSignal  = 130
)

// env is what a subcommand sees of the outside world. Tests build one with
// buffers instead of the process's streams.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// getenv reads an environment variable (NO_COLOR, CI, ...).
	getenv func(string) string
	// isTerminal reports whether the given stream is a terminal (colour,
	// progress bars).
	isTerminal func(any) bool
}

// command is one subcommand. Each lives in its own file and registers itself
// from init.
type command struct {
	name     string
	summary  string // one line for "atbridge help"
	usage    string // "atbridge show [flags] FILE"
	examples string // indented example lines with a comment each
	// run executes the command after flags are parsed into fs.
	setup func(fs *flag.FlagSet) func(ctx context.Context, e *env, args []string) int
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("atbridge: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &env{
		stdin:      os.Stdin,
		stdout:     os.Stdout,
		stderr:     os.Stderr,
		getenv:     os.Getenv,
		isTerminal: isTerminal,
	})
	stop()
	os.Exit(code)
}

// run is main without the process: it parses args, runs one subcommand and
// returns the exit code.
func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		printHelp(e.stderr)
		return exitFailure
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				fs := newFlagSet(c, e.stdout)
				c.setup(fs)
				fs.Usage()
				return exitOK
			}
			fmt.Fprintf(e.stderr, "atbridge: unknown command %q; run \"atbridge help\" for the list\n", args[1])
			return exitFailure
		}
		printHelp(e.stdout)
		return exitOK
	case "-version", "--version":
		name = "version"
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(e.stderr, "atbridge: unknown command %q; run \"atbridge help\" for the list\n", name)
		return exitFailure
	}
	fs := newFlagSet(c, e.stderr)
	runFn := c.setup(fs)
	pos, code, err := parseFlags(e, fs, args[1:])
	if err != nil {
		return code
	}
	code = runFn(ctx, e, pos)
	if ctx.Err() != nil && code != exitOK && code != exitProblem {
		return exitSignal
	}
	return code
}

func newFlagSet(c *command, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("atbridge "+c.name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "%s\n\nUsage:\n  %s\n", c.summary, c.usage)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintf(w, "\nFlags:\n")
			fs.PrintDefaults()
		}
		if c.examples != "" {
			fmt.Fprintf(w, "\nExamples:\n%s\n", strings.TrimRight(c.examples, "\n"))
		}
		fmt.Fprintf(w, "\nExit codes: 0 success, 1 problem found, 2 could not run, 130 interrupted.\n")
	}
	return fs
}

func printHelp(w io.Writer) {
	fmt.Fprintf(w, "atbridge: see, record and replay what crosses the wire between a host app and an ESP32 running ESP-AT.\n\nUsage:\n  atbridge COMMAND [flags] [args]\n\nCommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "\nRun \"atbridge COMMAND --help\" for a command's flags and examples.\n")
	fmt.Fprintf(w, "Exit codes: 0 success, 1 problem found (damage, differences, misses), 2 could not run, 130 interrupted.\n")
}
