package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/socat"
)

func init() {
	register(&command{
		name:    "import",
		summary: "Convert another tool's dump (socat -x) into a capture",
		usage:   "atbridge import --from socat DUMP -o OUT.atcap [--host left|right] [flags]",
		examples: `  # record a serial bridge with socat, then import what it printed
  socat -x -v PTY,link=/tmp/host,raw,echo=0 /dev/ttyUSB0,b115200,raw,echo=0 2> session.socat
  atbridge import --from socat -o session.atcap session.socat
  # the host app was on socat's right-hand address; the dump came from another time zone
  atbridge import --from socat --host right --tz Europe/Berlin -o s.atcap s.socat
  # read the dump from stdin
  socat -x TCP-LISTEN:8080 TCP:esp32.local:80 2>&1 >/dev/null | atbridge import --from socat -o s.atcap -`,
		setup: setupImport,
	})
}

type importFlags struct {
	from, out, host, tz, unit string
	force                     bool
}

func setupImport(fs *flag.FlagSet) func(context.Context, *env, []string) int {
	f := &importFlags{}
	fs.StringVar(&f.from, "from", "", "format of the dump: socat (the output of socat -x or socat -x -v; -v alone loses bytes and is refused)")
	fs.StringVar(&f.out, "o", "", "capture file to write (required)")
	fs.StringVar(&f.host, "host", "left", "which of socat's two addresses is the host app: left or right; the other is the ESP32")
	fs.StringVar(&f.tz, "tz", "Local", "time zone the dump's clock times are in (socat writes local time): Local, UTC or a name like Europe/Berlin")
	fs.StringVar(&f.unit, "time-unit", "auto", "how to read nine-digit fractions of a second: auto, us (socat 1.7) or ns")
	registerForce(fs, &f.force)
	return func(ctx context.Context, e *env, args []string) int {
		return runImport(ctx, e, f, args)
	}
}

func runImport(ctx context.Context, e *env, f *importFlags, args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "atbridge import: "+format+"\n", a...)
		return exitFailure
	}
	switch {
	case f.from == "":
		return fail("--from is required (the only format so far is socat)")
	case f.from != "socat":
		return fail("unknown --from %q: the only format so far is socat", f.from)
	case len(args) != 1:
		return fail("want one DUMP file (or - for stdin), got %d arguments; see atbridge import --help", len(args))
	case f.out == "":
		return fail("-o OUT.atcap is required")
	case f.host != "left" && f.host != "right":
		return fail("--host must be left or right, not %q", f.host)
	}
	loc, err := time.LoadLocation(f.tz)
	if err != nil {
		return fail("--tz %q: %v", f.tz, err)
	}
	var unit socat.Fraction
	switch f.unit {
	case "auto":
	case "us":
		unit = socat.FracMicro
	case "ns":
		unit = socat.FracNano
	default:
		return fail("--time-unit must be auto, us or ns, not %q", f.unit)
	}
	if err := refuseExisting(f.out, f.force); err != nil {
		return fail("%v", err)
	}

	name := args[0]
	var src io.Reader = e.stdin
	var size int64
	if name != "-" {
		file, err := os.Open(name)
		if err != nil {
			return fail("%v", err)
		}
		defer file.Close()
		if st, err := file.Stat(); err == nil {
			size = st.Size()
		}
		src = file
	}
	cr := &countingReader{r: src}
	sr := socat.NewReader(cr)
	sr.Location, sr.Fraction = loc, unit

	first, err := sr.Next()
	if err == io.EOF {
		return fail("%s holds no socat blocks: was it written by socat -x?", name)
	}
	if err != nil {
		return fail("%s: %v", name, err)
	}

	hostLeft := f.host == "left"
	hostName, devName := "socat left address", "socat right address"
	if !hostLeft {
		hostName, devName = devName, hostName
	}
	hdr := capture.Header{
		Tool:  "atbridge " + toolVersion(),
		Start: first.Time.UTC(),
		Ports: []capture.PortInfo{
			capture.PortHost:   {Name: hostName, Role: "host"},
			capture.PortDevice: {Name: devName, Role: "device"},
		},
		Meta: map[string]string{"imported_from": "socat", "source": filepath.Base(name), "socat_host_side": f.host},
	}
	// Write to a temporary name and rename at the end, so OUT is either
	// whole or absent.
	tmp := f.out + ".partial"
	w, err := capture.Create(tmp, hdr, &capture.WriterOptions{FlushInterval: -1})
	if err != nil {
		return fail("%v", err)
	}
	abandon := func() { w.Close(); os.Remove(tmp) }

	bar := newProgress(e, size, "importing")
	var (
		blocks, problems int
		bytes            [2]int64 // to device, to host
		lastT            int64
		parseErr         error
	)
	for b := first; ; {
		dir, port := formats.ToHost, capture.PortDevice
		if b.LeftToRight == hostLeft {
			dir, port = formats.ToDevice, capture.PortHost
		}
		t := int64(b.Time.Sub(first.Time))
		if t < lastT {
			problems++
			fmt.Fprintf(e.stderr, "line %d: time goes back %v; the block is kept in order at the previous time\n", b.Line, time.Duration(lastT-t))
		}
		lastT = max(lastT, t)
		switch {
		case b.Gap > 0:
			problems++
			fmt.Fprintf(e.stderr, "line %d: %d bytes %s are missing before this block (from=%d); recorded as lost bytes\n", b.Line, b.Gap, dir, b.From)
			err = w.Write(&capture.Record{Kind: capture.KindEvent, Time: t, Port: port, Dir: dir,
				Event: capture.Event{Type: capture.EvBytesLost, Count: b.Gap, Text: fmt.Sprintf("socat dump line %d", b.Line)}})
		case b.Gap < 0:
			problems++
			fmt.Fprintf(e.stderr, "line %d: this block repeats %d bytes %s already seen (from=%d); kept as read\n", b.Line, -b.Gap, dir, b.From)
		}
		if err == nil {
			err = w.WriteChunk(t, port, dir, b.Data)
		}
		if err != nil {
			abandon()
			return fail("write %s: %v", f.out, err)
		}
		blocks++
		bytes[dir-formats.ToDevice] += int64(len(b.Data))
		bar.set(cr.n)
		if ctx.Err() != nil {
			abandon()
			bar.finish()
			fmt.Fprintf(e.stderr, "atbridge import: interrupted; %s not written\n", f.out)
			return exitSignal
		}
		b, err = sr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			parseErr = err
			break
		}
	}
	bar.finish()
	if parseErr != nil {
		var se *socat.Error
		if !errors.As(parseErr, &se) {
			abandon()
			return fail("read %s: %v", name, parseErr)
		}
		problems++
		fmt.Fprintf(e.stderr, "%s: %v; the blocks before it are imported, the rest is not\n", name, parseErr)
	}
	if err := w.Close(); err != nil {
		os.Remove(tmp)
		return fail("write %s: %v", f.out, err)
	}
	if err := os.Rename(tmp, f.out); err != nil {
		os.Remove(tmp)
		return fail("%v", err)
	}
	fmt.Fprintf(e.stdout, "imported %d blocks from %s into %s: %d bytes host→dev, %d bytes dev→host over %v\n",
		blocks, name, f.out, bytes[0], bytes[1], time.Duration(lastT).Round(time.Microsecond))
	if problems > 0 {
		fmt.Fprintf(e.stdout, "%d problems found in the dump (listed above on stderr)\n", problems)
		return exitProblem
	}
	return exitOK
}
