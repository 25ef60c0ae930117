package main

import (
	"bytes"
	"errors"
	"flag"
)

// errUsageShown is returned by interspersed when the flag package has
// already told the user what is wrong (or printed the help they asked for).
var errUsageShown = errors.New("usage shown")

// parseFlags parses a subcommand's arguments into fs, flags before and after
// positional arguments alike, and returns the positional ones. Help (-h,
// --help) goes to stdout once; a bad flag's message and usage go to stderr
// once. On either it returns errUsageShown with the exit code to return.
func parseFlags(e *env, fs *flag.FlagSet, args []string) (pos []string, code int, err error) {
	var msg bytes.Buffer
	fs.SetOutput(&msg)
	err = fs.Parse(args)
	fs.SetOutput(e.stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(e.stdout)
			fs.Usage()
			fs.SetOutput(e.stderr)
			return nil, exitOK, errUsageShown
		}
		e.stderr.Write(msg.Bytes())
		return nil, exitFailure, errUsageShown
	}
	rest := fs.Args()
	if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
		return rest, 0, nil
	}
	return interspersed(e, fs, rest)
}

// interspersed parses flags that follow positional arguments, so both
// "atbridge repair -o OUT FILE" and "atbridge repair FILE -o OUT" work (the
// flag package alone stops at the first positional argument). run has
// already parsed the flags before the first positional; args are the rest.
// Everything after "--" is positional. On a parse error it returns
// errUsageShown with code set to the exit code to return.
func interspersed(e *env, fs *flag.FlagSet, args []string) (pos []string, code int, err error) {
	// The flag package prints usage on any error, -h included; hold that
	// back so help goes to stdout and errors to stderr, each once.
	var msg bytes.Buffer
	fs.SetOutput(&msg)
	defer fs.SetOutput(e.stderr)
	for len(args) > 0 {
		if args[0] == "--" {
			return append(pos, args[1:]...), 0, nil
		}
		pos = append(pos, args[0])
		rest := args[1:]
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(e.stdout)
				fs.Usage()
				return nil, exitOK, errUsageShown
			}
			e.stderr.Write(msg.Bytes())
			return nil, exitFailure, errUsageShown
		}
		args = fs.Args()
		if n := len(rest) - len(args); n > 0 && rest[n-1] == "--" {
			return append(pos, args...), 0, nil
		}
	}
	return pos, 0, nil
}
