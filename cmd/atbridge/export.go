package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats/pcapng"
)

func init() {
	register(&command{
		name:    "export",
		summary: "Export a capture to pcapng (or pcap) that Wireshark decodes with no plugin",
		usage:   "atbridge export [flags] FILE -o OUT.pcapng|OUT.pcapng.gz|OUT.pcapng.zst|-",
		examples: `  # everything: raw serial reads, decoded AT units, WebSocket flows, markers
  atbridge export session.atcap -o session.pcapng
  wireshark session.pcapng      # filter e.g. frame.interface_name == "uart-at", websocket.payload.text
  # compressed by extension; Wireshark opens both directly
  atbridge export session.atcap -o session.pcapng.zst
  # to stdout, straight into tshark
  atbridge export session.atcap -o - | tshark -r - -Y websocket
  # classic pcap holds one view: the WebSocket flows only
  atbridge export --format pcap --view ws session.atcap -o ws.pcap
  # link 1 only, from 90 s to 100 s after the start
  atbridge export --link 1 --since 90s --until 100s session.atcap -o part.pcapng`,
		setup: setupExport,
	})
}

type exportFlags struct {
	out, format, view, frames string
	since, until              string
	links                     linkList
	force                     bool
}

// linkList collects repeated --link flags.
type linkList []int

func (l *linkList) String() string {
	s := make([]string, len(*l))
	for i, n := range *l {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func (l *linkList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 || n > 255 {
			return fmt.Errorf("want a link number 0..255, got %q", p)
		}
		*l = append(*l, n)
	}
	return nil
}

func setupExport(fs *flag.FlagSet) func(context.Context, *env, []string) int {
	f := &exportFlags{}
	fs.StringVar(&f.out, "o", "", "output file (\"-\" for stdout); .gz and .zst compress")
	fs.StringVar(&f.format, "format", "pcapng", "pcapng (all views, comments) or pcap (one --view, no comments)")
	fs.StringVar(&f.view, "view", "", "what to write: raw (serial reads), at (decoded AT units), ws (WebSocket flows), net (TCP/UDP link and MQTT flows), log (the ESP32 log UART as text) or all; default all, and required with --format pcap")
	fs.StringVar(&f.frames, "frames", "auto", "WebSocket frames: auto (recorded ones where the capture has them, else rebuilt from AT traffic), recorded or reconstructed")
	fs.Var(&f.links, "link", "only this WebSocket link (repeat or comma-separate for several); drops the raw view")
	fs.StringVar(&f.since, "since", "", "leave out packets before this time: a duration from the start (1.5s, 2m) or an RFC 3339 time")
	fs.StringVar(&f.until, "until", "", "leave out packets after this time: a duration from the start or an RFC 3339 time")
	registerForce(fs, &f.force)
	return func(ctx context.Context, e *env, args []string) int {
		return runExport(ctx, e, f, args)
	}
}

// exportOptions turns the shared flags into exporter options.
func exportOptions(format, view, frames string) (pcapng.Options, error) {
	var o pcapng.Options
	switch strings.ToLower(format) {
	case "pcapng", "":
	case "pcap":
		o.Classic = true
	default:
		return o, fmt.Errorf("--format must be pcapng or pcap, not %q", format)
	}
	if view == "" && o.Classic {
		return o, errors.New("--format pcap holds one view: add --view raw, at, ws, net or log")
	}
	v, err := pcapng.ParseView(view)
	if err != nil {
		return o, fmt.Errorf("--view: %v", err)
	}
	if o.Classic && v == pcapng.ViewAll {
		return o, errors.New("--format pcap holds one view: --view raw, at, ws, net or log, not all")
	}
	o.Views = v
	switch strings.ToLower(frames) {
	case "auto", "":
	case "recorded":
		o.Frames = pcapng.FramesRecorded
	case "reconstructed":
		o.Frames = pcapng.FramesReconstructed
	default:
		return o, fmt.Errorf("--frames must be auto, recorded or reconstructed, not %q", frames)
	}
	return o, nil
}

func runExport(ctx context.Context, e *env, f *exportFlags, args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "atbridge export: "+format+"\n", a...)
		return exitFailure
	}
	if len(args) != 1 {
		return fail("want one capture FILE, got %d arguments; see atbridge export --help", len(args))
	}
	if f.out == "" {
		return fail("-o OUT is required (a .pcapng file, or - for stdout)")
	}
	opts, err := exportOptions(f.format, f.view, f.frames)
	if err != nil {
		return fail("%v", err)
	}
	opts.Links = f.links
	if err := refuseExisting(f.out, f.force); err != nil {
		return fail("%v", err)
	}
	onBlock, bar := fileProgress(e, args[0], "exporting")
	r, err := capture.Open(args[0], &capture.ReaderOptions{Progress: onBlock})
	if err != nil {
		if errors.Is(err, capture.ErrNotCapture) {
			return fail("%v (a socat dump? convert it with atbridge import --from socat)", err)
		}
		return fail("%v", err)
	}
	defer r.Close()
	hdr := r.Header()
	if f.since != "" {
		if opts.Since, err = parseWhen(f.since, hdr.Start); err != nil {
			return fail("--since: %v", err)
		}
	}
	if f.until != "" {
		if opts.Until, err = parseWhen(f.until, hdr.Start); err != nil {
			return fail("--until: %v", err)
		}
		if opts.Until <= 0 {
			opts.Until = 1 // "until 0s": only what happened at the start
		}
	}

	var out io.Writer
	var file *capture.ExportFile
	if f.out == "-" {
		out = e.stdout
	} else {
		if file, err = capture.CreateExportFile(f.out); err != nil {
			return fail("%v", err)
		}
		out = file
	}
	bw := bufio.NewWriterSize(out, 256<<10)
	st, err := capture.Export(ctx, r, bw, &opts)
	bar.finish()
	if err == nil {
		err = bw.Flush()
	}
	if err == nil && file != nil {
		err = file.Close()
	}
	if err != nil {
		if file != nil {
			file.Abort()
		}
		return fail("%v", err)
	}
	if f.out != "-" {
		fmt.Fprintf(e.stderr, "atbridge export: %d records -> %d packets (%s) in %s\n", st.Records, st.Pcap.Packets, countsText(st.Pcap.ByIface), f.out)
	}
	if st.Damaged > 0 {
		fmt.Fprintf(e.stderr, "atbridge export: %s is damaged: %d stretches (%d bytes) skipped; each is a \"damage\" event in the export\n", args[0], st.Damaged, st.Lost)
		return exitProblem
	}
	return exitOK
}
