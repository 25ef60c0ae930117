package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/formats"
)

const killWriterEnv = "ATCAP_TEST_KILL_WRITER"

// runKillWriter is the child process of TestSIGKILL: it records chunks into
// the file named by the env var, printing "seq unix-nanos" after each
// Write (the time taken just before the Write), until it is killed.
func runKillWriter() {
	w, err := Create(os.Getenv(killWriterEnv), Header{Tool: "kill test"}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	deadline := time.Now().Add(30 * time.Second) // in case the parent dies
	for seq := uint64(0); time.Now().Before(deadline); seq++ {
		now := time.Now()
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], seq)
		if err := w.WriteChunk(w.Now(), 0, formats.ToHost, b[:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Fprintf(out, "%d %d\n", seq, now.UnixNano())
		out.Flush()
		time.Sleep(time.Millisecond)
	}
	os.Exit(3)
}

// TestSIGKILL kills a recording process with SIGKILL mid-stream and checks
// that every record written more than FlushInterval before the kill is in
// the file. The allowance for the timer firing and the write syscall being
// scheduled on a loaded machine is killSlack.
func TestSIGKILL(t *testing.T) {
	const killSlack = 50 * time.Millisecond
	path := filepath.Join(t.TempDir(), "killed.atcap")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), killWriterEnv+"="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type written struct {
		seq uint64
		at  time.Time
	}
	lines := make(chan written, 1<<16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			seq, _ := strconv.ParseUint(f[0], 10, 64)
			ns, _ := strconv.ParseInt(f[1], 10, 64)
			lines <- written{seq, time.Unix(0, ns)}
		}
		close(lines)
	}()
	var got []written
	for len(got) < 400 {
		w, ok := <-lines
		if !ok {
			t.Fatal("writer exited early")
		}
		got = append(got, w)
	}
	killed := time.Now()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	<-done
	for w := range lines {
		got = append(got, w)
	}

	r, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var have uint64
	var torn bool
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if !errors.Is(err, ErrTruncated) {
				t.Fatalf("after %d records: %v", have, err)
			}
			torn = true
			continue
		}
		if seq := binary.BigEndian.Uint64(rec.Data); seq != have {
			t.Fatalf("record %d holds seq %d", have, seq)
		}
		have++
	}
	if !torn {
		t.Error("a killed writer's file did not report a torn tail (ErrTruncated)")
	}
	cutoff := killed.Add(-DefaultFlushInterval - killSlack)
	var must uint64
	for _, w := range got {
		if w.at.Before(cutoff) {
			must = w.seq + 1
		}
	}
	t.Logf("%d records written, %d in the file, %d written more than %v before the kill", len(got), have, must, DefaultFlushInterval+killSlack)
	if have < must {
		t.Errorf("file holds %d records; the %d written before %v must be there", have, must, cutoff)
	}
	if must < 100 {
		t.Errorf("only %d records qualified; the test did not exercise anything", must)
	}
}
