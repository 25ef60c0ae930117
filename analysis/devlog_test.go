package analysis

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// readScript reads a testdata/devlog script: "+SECONDS at|log TEXT" lines,
// each TEXT sent with "\r\n" ("\e" is ESC); AT lines starting with "AT"
// go to the device, the others come from it.
func readScript(t *testing.T, path string) []capture.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []capture.Record
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		when, rest, _ := strings.Cut(line, " ")
		stream, text, _ := strings.Cut(rest, " ")
		sec, err := strconv.ParseFloat(strings.TrimPrefix(when, "+"), 64)
		if err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		r := capture.Record{Kind: capture.KindChunk, Time: int64(sec * 1e9), Dir: formats.ToHost,
			Data: []byte(strings.ReplaceAll(text, `\e`, "\x1b") + "\r\n")}
		switch {
		case stream == "log":
			r.Port = capture.PortLog
		case strings.HasPrefix(text, "AT"):
			r.Dir, r.Port = formats.ToDevice, capture.PortHost
		default:
			r.Port = capture.PortDevice
			r.Data = append([]byte("\r\n"), r.Data...)
		}
		recs = append(recs, r)
	}
	return recs
}

// TestDeviceLogGolden decodes log UART sessions in the formats of
// ESP-IDF's documentation beside their AT traffic, and compares the lines
// and resets found with the golden files (go test -update rewrites them).
func TestDeviceLogGolden(t *testing.T) {
	paths, _ := filepath.Glob("testdata/devlog/*.txt")
	if len(paths) == 0 {
		t.Fatal("no testdata/devlog/*.txt")
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			var out bytes.Buffer
			dl, dec := NewDeviceLog(), at.NewDecoder(nil)
			show := func(lines []LogLine, resets []Reset) {
				for _, l := range lines {
					fmt.Fprintf(&out, "%8.3f line  %-9s %q", float64(l.Time)/1e9, l.Kind, l.Text)
					if l.Level != 0 {
						fmt.Fprintf(&out, " level=%c tag=%q stamp=%d", l.Level, l.Tag, l.Stamp)
					}
					out.WriteByte('\n')
				}
				for _, r := range resets {
					fmt.Fprintf(&out, "%8.3f RESET code=0x%x %s\n", float64(r.Time)/1e9, r.Code, r.String())
				}
			}
			for _, r := range readScript(t, path) {
				if r.Port == capture.PortLog {
					show(dl.Log(&r))
					continue
				}
				show(nil, dl.AT(dec.Feed(r.Time, r.Dir, r.Data)))
			}
			show(nil, dl.AT(dec.Flush()))
			show(dl.Flush())
			golden := strings.TrimSuffix(path, ".txt") + ".golden"
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("decoded differently from %s:\n%s", golden, out.String())
			}
		})
	}
}

// TestDeviceLogReadyWait: a reset with no "ready" is reported once
// ReadyWait has passed on either stream, with ReadyNS -1.
func TestDeviceLogReadyWait(t *testing.T) {
	dl := NewDeviceLog()
	_, rs := dl.Log(&capture.Record{Kind: capture.KindChunk, Port: capture.PortLog, Time: 1e9, Data: []byte("rst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n")})
	if len(rs) != 0 {
		t.Fatalf("reset reported before its ready could come: %+v", rs)
	}
	rs = dl.AT([]at.Event{{Kind: at.EvResult, Name: "OK", Dir: formats.ToHost, Time: 1e9 + ReadyWait + 1}})
	if len(rs) != 1 || rs[0].ReadyNS != -1 || rs[0].Reason != "SW_CPU_RESET" {
		t.Fatalf("after ReadyWait: %+v, want one SW_CPU_RESET with no ready", rs)
	}
	if _, rs := dl.Flush(); len(rs) != 0 {
		t.Fatalf("reported twice: %+v", rs)
	}
}

// FuzzDeviceLog: any bytes on the log UART, in any pieces, beside any AT
// events, never panic, and each boot line yields exactly one reset.
func FuzzDeviceLog(f *testing.F) {
	paths, _ := filepath.Glob("testdata/devlog/*.txt")
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		f.Add(b, uint8(7))
	}
	f.Add([]byte("rst:0x1 (POWERON_RESET),boot:0x13 (x)\nGuru Meditation Error: Core 0 panic'ed (\n"), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, cut uint8) {
		dl := NewDeviceLog()
		step := int(cut%64) + 1
		resets, boots := 0, 0
		for i := 0; i < len(data); i += step {
			piece := data[i:min(i+step, len(data))]
			lines, rs := dl.Log(&capture.Record{Kind: capture.KindChunk, Port: capture.PortLog, Time: int64(i) * 1e6, Data: piece})
			resets += len(rs)
			for _, l := range lines {
				if l.Kind.String() == "boot" {
					boots++
				}
			}
			resets += len(dl.AT([]at.Event{{Kind: at.EvURC, Name: "ready", Dir: formats.ToHost, Time: int64(i) * 1e6}}))
		}
		lines, rs := dl.Flush()
		for _, l := range lines {
			if l.Kind.String() == "boot" {
				boots++
			}
		}
		resets += len(rs)
		for _, r := range rs {
			_ = r.String()
		}
		if resets != boots {
			t.Fatalf("%d boot lines but %d resets", boots, resets)
		}
	})
}
