package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats/at"
	"github.com/atbridge/atbridge/redact"
)

func init() {
	register(&command{
		name:    "redact",
		summary: "Remove passwords, tokens and key material from a capture before sharing it (lengths kept: it still decodes, mocks and replays)",
		usage:   "atbridge redact [flags] IN.atcap -o OUT.atcap",
		examples: `  atbridge redact session.atcap -o shareable.atcap
  # list what would be redacted (rule, record, offset, length; never the secret), in
  # payloads, command lines (AT+WSHEAD=0,"Authorization: Bearer ...") and their echoes
  atbridge redact --check testdata/secrets.atcap
  # also a device serial number; extra token-like parameter names
  atbridge redact --pattern 'SERIAL-[0-9]+' --param device_secret session.atcap -o out.atcap`,
		setup: setupRedact,
	})
}

type redactFlags struct {
	out      string
	check    bool
	patterns multiFlag
	params   multiFlag
	force    bool
}

// redactOptions turns the --pattern and --param flags into rules.
func redactOptions(patterns, params []string) (*redact.Options, error) {
	o := &redact.Options{}
	for _, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("--pattern %q: %w", p, err)
		}
		o.Rules.Patterns = append(o.Rules.Patterns, re)
	}
	if len(params) > 0 {
		o.Rules.Params = append(append([]string(nil), at.DefaultSecretParams...), params...)
	}
	return o, nil
}

func setupRedact(fs *flag.FlagSet) func(context.Context, *env, []string) int {
	f := &redactFlags{}
	fs.StringVar(&f.out, "o", "", "write the redacted capture here (mode 0600)")
	fs.BoolVar(&f.check, "check", false, "list what would be redacted (rule, record, offset, length) without writing")
	fs.Var(&f.patterns, "pattern", "REGEX: also redact every match, anywhere (repeatable)")
	fs.Var(&f.params, "param", "NAME: also treat this URI/form/JSON parameter name as a secret (repeatable)")
	registerForce(fs, &f.force)
	return func(ctx context.Context, e *env, args []string) int {
		return runRedact(ctx, e, f, args)
	}
}

func runRedact(ctx context.Context, e *env, f *redactFlags, args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "atbridge redact: "+format+"\n", a...)
		if ctx.Err() != nil {
			return exitSignal
		}
		return exitFailure
	}
	if len(args) != 1 {
		return fail("want one capture IN.atcap, got %d arguments; see atbridge redact --help", len(args))
	}
	if f.check == (f.out != "") {
		return fail("give either -o OUT.atcap or --check")
	}
	opts, err := redactOptions(f.patterns, f.params)
	if err != nil {
		return fail("%v", err)
	}
	in := args[0]
	if f.check {
		fmt.Fprintf(e.stdout, "rule\trecord\tfield\toffset\tlength\n")
		opts.OnRedact = func(x redact.Redaction) {
			rec := fmt.Sprint(x.Record)
			if x.Record < 0 {
				rec = "header"
			}
			fmt.Fprintf(e.stdout, "%s\t%s\t%s\t%d\t%d\n", x.Rule, rec, x.Field, x.Offset, x.Length)
		}
		res, err := redact.Check(ctx, in, opts)
		if err != nil {
			return fail("%v", err)
		}
		fmt.Fprintf(e.stderr, "atbridge redact: %s: %d records; would redact %s\n", in, res.Records, describeCounts(res.Counts))
		return exitOK
	}
	if sameFile(in, f.out) {
		return fail("-o must name a new file, not the input")
	}
	if err := refuseExisting(f.out, f.force); err != nil {
		return fail("%v", err)
	}
	res, err := redact.File(ctx, in, f.out, opts)
	if err != nil {
		return fail("%v", err)
	}
	fmt.Fprintf(e.stderr, "atbridge redact: %s -> %s: %d records; redacted %s\n", in, f.out, res.Records, describeCounts(res.Counts))
	if res.Damage > 0 {
		fmt.Fprintf(e.stderr, "atbridge redact: %s has %s; their records are not in the output\n", in, plural(res.Damage, "damaged region"))
		return exitProblem
	}
	return exitOK
}

// describeCounts says "3 secrets (cwjap-password 1, wshead 2)" or "nothing".
func describeCounts(m map[string]int) string {
	n := 0
	for _, v := range m {
		n += v
	}
	if n == 0 {
		return "nothing"
	}
	return fmt.Sprintf("%s (%s)", plural(n, "secret"), strings.ReplaceAll(redact.Summary(m), "=", " "))
}

// sameFile reports whether a and b name the same existing file.
func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// liveRedact is the --redact flag of proxy, sniff, emulate and mock: record
// redacted from the start, with the rules of "atbridge redact".
type liveRedact struct {
	on bool
	w  *redact.Writer
}

func (l *liveRedact) register(fs *flag.FlagSet) {
	fs.BoolVar(&l.on, "redact", false, "record redacted from the start (the rules of atbridge redact; a closing note counts what was redacted)")
}

// meta marks a capture header's metadata as redacted while recording.
func (l *liveRedact) meta(m map[string]string) map[string]string {
	if l.on {
		m["redacted"] = "live (counts in the closing note)"
	}
	return m
}

// wrap returns where records should go: next, or with --redact a
// redacting Writer in front of it (for a capture with header h).
func (l *liveRedact) wrap(next redact.Sink, h capture.Header) redact.Sink {
	if !l.on {
		return next
	}
	l.w = redact.NewWriter(next, &redact.Options{Decoder: h.DecoderOptions()})
	return l.w
}

// close writes what the redacting Writer still holds; call it before
// closing the capture.
func (l *liveRedact) close() error {
	if l.w == nil {
		return nil
	}
	return l.w.Close()
}
