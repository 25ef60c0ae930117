package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/internal/web"
)

func init() {
	register(&command{
		name:    "view",
		summary: "Browse a capture in a web browser: the live view's page on a saved file, paged through its index",
		usage:   "atbridge view [--http ADDR] FILE",
		examples: `  atbridge view testdata/seed-tcp.atcap
  # then open the URL it prints; Ctrl-C stops it
  # from another machine (the URL's token still guards it)
  atbridge view --http 0.0.0.0:8080 night.atcap`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) int {
			addr := fs.String("http", "127.0.0.1:0", "address to serve the page at (loopback unless a host is given; port 0 picks one)")
			return func(ctx context.Context, e *env, args []string) int {
				args, code, err := interspersed(e, fs, args)
				if err != nil {
					return code
				}
				return runView(ctx, e, *addr, args)
			}
		},
	})
}

func runView(ctx context.Context, e *env, addr string, args []string) int {
	if len(args) != 1 {
		fmt.Fprintf(e.stderr, "atbridge view: want one capture FILE, got %d arguments; see atbridge view --help\n", len(args))
		return exitFailure
	}
	path := args[0]
	r, err := capture.Open(path, nil)
	if err != nil {
		fmt.Fprintf(e.stderr, "atbridge view: %v\n", err)
		return exitFailure
	}
	hdr := r.Header()
	dur, err := r.LastTime()
	r.Close()
	if err != nil {
		fmt.Fprintf(e.stderr, "atbridge view: %s: %v\n", path, err)
		return exitFailure
	}
	srv, err := web.Start(web.Options{
		Addr: addr, Title: filepath.Base(path), Header: hdr, DurationNS: dur,
		Page: func(ctx context.Context, from int64, n int) ([]web.Row, int64, error) {
			return viewPage(ctx, path, from, n)
		},
		Download: downloadFile(path, path),
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "atbridge view: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(e.stderr, "atbridge view: %s (%s) at %s\nopen that URL in a browser; Ctrl-C stops\n", path, fmtOffset(dur), srv.URL())
	<-ctx.Done()
	srv.Close()
	return exitOK
}

// errPageFull stops a page's show run once it has its rows.
var errPageFull = errors.New("page full")

// pageLookback is how far before a page's time its decoding starts, so
// that the commands answered in the page, and resets waiting for their
// ready, are known to the decoder (the rows before the page's time are
// dropped): the longest an ESP-AT command runs (AT+CWJAP's default 15 s
// timeout, AT+HTTPCLIENT's) and analysis.ReadyWait both fit.
const pageLookback = 30e9

// viewPage returns the rows of path from time from on, as "atbridge show
// --since" decodes them (the reader seeks through the index, starting
// pageLookback before), at least n of them unless the capture ends first,
// and whole at the last time (rows of one nanosecond are not cut apart).
// next is where the following page starts, -1 at the end.
func viewPage(ctx context.Context, path string, from int64, n int) ([]web.Row, int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pc := &pageCollector{n: n, from: from, next: -1, cancel: cancel}
	var errb bytes.Buffer
	code := runShow(ctx, &env{stdout: pc, stderr: &errb, getenv: func(string) string { return "" }},
		&showFlags{json: true, link: -1, since: strconv.FormatInt(max(from-pageLookback, 0), 10) + "ns"}, []string{path})
	if pc.full {
		return pc.rows, pc.next, nil
	}
	if code == exitFailure || code == exitSignal {
		return pc.rows, -1, fmt.Errorf("%s", bytes.TrimSpace(errb.Bytes()))
	}
	return pc.rows, -1, nil
}

// pageCollector is a show run's stdout that keeps its rows and stops it
// when the page is full.
type pageCollector struct {
	n      int
	from   int64 // rows before it are the lookback's
	rows   []web.Row
	part   []byte
	full   bool
	next   int64
	cancel context.CancelFunc
}

func (c *pageCollector) Write(p []byte) (int, error) {
	if c.full {
		return 0, errPageFull
	}
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.part = append(c.part, p...)
			break
		}
		line := append(c.part, p[:i]...)
		c.part, p = c.part[:0], p[i+1:]
		r, ok := jsonRow(line)
		if !ok || r.T < c.from {
			continue
		}
		if len(c.rows) >= c.n && r.T > c.rows[len(c.rows)-1].T {
			c.full, c.next = true, r.T
			c.cancel()
			return n, nil
		}
		c.rows = append(c.rows, r)
	}
	return n, nil
}

var _ io.Writer = (*pageCollector)(nil)
