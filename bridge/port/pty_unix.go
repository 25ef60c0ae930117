//go:build linux || darwin

package port

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/atbridge/atbridge/capture"
)

// ptyPort is a pseudo-terminal made for a host app: we read and write the
// master side; the host app opens the slave through a symlink.
//
// We keep our own descriptor of the slave open for the port's lifetime, so
// the host app closing and reopening the link never hangs the pty up: our
// reads just wait for the next open. Bytes we write while no host app has
// the slave open stay queued in the slave's input, as with a UART's FIFO,
// and once that queue is full (tens of KiB) Write blocks until a host app
// reads or the port is closed.
//
// The host app's termios changes are found by reading the slave's termios
// every Options.LinePoll. Packet mode with EXTPROC would report them as
// they happen, but EXTPROC makes the line discipline skip the host app's
// input processing (ICRNL and the like), so a cooked-mode host app would
// see other bytes than on a real port.
type ptyPort struct {
	name     string
	link     string // the symlink the host app opens
	slaveDev string // /dev/pts/N
	master   *directFD
	slave    *os.File
	readOnly bool

	mu       sync.Mutex
	line     capture.LineSettings // in force, as set or as the host app set it
	observed capture.LineSettings // last read back from the slave's termios

	changes chan capture.LineSettings
	stop    chan struct{}
	done    chan struct{}

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var (
	_ Port         = (*ptyPort)(nil)
	_ LineNotifier = (*ptyPort)(nil)
)

// openPty implements Open for "pty:PATH".
func openPty(spec, link string, o Options) (_ Port, err error) {
	if err := checkLinkPath(spec, link); err != nil {
		return nil, err
	}
	m, s, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open %s: create pseudo-terminal: %w", spec, err)
	}
	defer func() {
		if err != nil {
			m.Close()
			s.Close()
		}
	}()
	slaveDev := s.Name()
	if s, err = unpolled(s); err != nil {
		return nil, fmt.Errorf("open %s: %w", spec, err)
	}
	master, err := directMaster(m)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", spec, err)
	}
	defer func() {
		if err != nil {
			master.close()
		}
	}()
	var observed capture.LineSettings
	err = withFd(s, func(fd int) error {
		if err := setLine(fd, o.Line); err != nil {
			return err
		}
		observed, err = getLine(fd, true)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: set raw mode on %s: %w", spec, slaveDev, err)
	}
	if err := placeLink(link, slaveDev); err != nil {
		return nil, fmt.Errorf("open %s: %w", spec, err)
	}
	p := &ptyPort{
		name: spec, link: link, slaveDev: slaveDev,
		master: master, slave: s, readOnly: o.ReadOnly,
		line: o.Line, observed: observed,
		changes: make(chan capture.LineSettings, 16),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go p.watchLine(o.LinePoll)
	return p, nil
}

// directMaster moves creack/pty's master (blocking on macOS, in the runtime
// poller on Linux) to a directFD of its own and closes m.
func directMaster(m *os.File) (*directFD, error) {
	var nfd int
	err := withFd(m, func(fd int) (err error) {
		nfd, err = unix.Dup(fd)
		return err
	})
	name := m.Name()
	m.Close()
	if err != nil {
		return nil, err
	}
	return openDirect(nfd, name)
}

// unpolled moves f to a blocking descriptor outside the runtime poller
// and closes f. We only keep the slave open and read its termios; in the
// poller, every byte written to the master would wake the netpoller
// through it.
func unpolled(f *os.File) (*os.File, error) {
	var nfd int
	err := withFd(f, func(fd int) (err error) {
		nfd, err = unix.Dup(fd)
		return err
	})
	name := f.Name()
	f.Close()
	if err == nil {
		if err = unix.SetNonblock(nfd, false); err != nil {
			unix.Close(nfd)
		}
	}
	if err != nil {
		return nil, err
	}
	unix.CloseOnExec(nfd)
	return os.NewFile(uintptr(nfd), name), nil
}

// checkLinkPath refuses to put the link where something other than a
// symlink lives: a regular file there is probably the user's data.
func checkLinkPath(spec, link string) error {
	fi, err := os.Lstat(link)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("open %s: %w", spec, err)
	case fi.Mode()&os.ModeSymlink != 0:
		return nil // a link left by an earlier run: replaced
	}
	what := "a regular file"
	if fi.IsDir() {
		what = "a directory"
	} else if !fi.Mode().IsRegular() {
		what = "not a symlink"
	}
	return permanentError{fmt.Errorf("open %s: %s exists and is %s; refusing to replace it (remove it or pick another path)", spec, link, what)}
}

// placeLink points link at target, replacing an existing symlink
// atomically (a host app polling for the path never sees it missing).
func placeLink(link, target string) error {
	tmp := filepath.Join(filepath.Dir(link), fmt.Sprintf(".%s.%d.tmp", filepath.Base(link), os.Getpid()))
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("create link: %w", err)
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("create link: %w", err)
	}
	return nil
}

// watchLine polls the slave's termios and reports changes the host app
// makes. It owns p.changes and closes it on the way out.
func (p *ptyPort) watchLine(every time.Duration) {
	defer close(p.done)
	defer close(p.changes)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		var l capture.LineSettings
		err := withFd(p.slave, func(fd int) (err error) {
			l, err = getLine(fd, true)
			return err
		})
		if err != nil {
			continue // closing; the stop channel ends the loop
		}
		p.mu.Lock()
		changed := l != p.observed
		if changed {
			p.observed, p.line = l, l
		}
		p.mu.Unlock()
		if changed {
			p.notify(l)
		}
	}
}

// notify queues l, dropping the oldest pending value if the reader is
// behind. Only watchLine calls it, so the channel cannot be closed under it.
func (p *ptyPort) notify(l capture.LineSettings) { sendLatest(p.changes, l) }

// Name returns the spec as the user wrote it, e.g. "pty:/tmp/esp".
func (p *ptyPort) Name() string { return p.name }

// Line returns the settings in force: those set by Open or SetLine, or
// the host app's latest termios, whichever came last. On Linux the data bits
// of the host app's settings always read as 8 (see framingFromTermios).
func (p *ptyPort) Line() capture.LineSettings {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.line
}

// SetLine sets the slave's termios (raw mode, speed, framing), so a host app
// reading them back sees l. It is not reported on LineChanges.
func (p *ptyPort) SetLine(l capture.LineSettings) error {
	l = LineDefaults(l)
	if err := CheckLine(l); err != nil {
		return fmt.Errorf("set line %s: %w", p.name, err)
	}
	if p.closed.Load() {
		return fmt.Errorf("set line %s: %w", p.name, ErrClosed)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	err := withFd(p.slave, func(fd int) error {
		if err := setLine(fd, l); err != nil {
			return err
		}
		obs, err := getLine(fd, true)
		p.observed = obs
		return err
	})
	if err != nil {
		return fmt.Errorf("set line %s: %w", p.name, err)
	}
	p.line = l
	return nil
}

// LineChanges implements LineNotifier: it reports the host app's termios
// changes, polled every Options.LinePoll.
func (p *ptyPort) LineChanges() <-chan capture.LineSettings { return p.changes }

// Read reads what the host app wrote. It waits across the host app closing
// and reopening the link; Close unblocks it.
func (p *ptyPort) Read(b []byte) (int, error) {
	n, err := p.master.read(b)
	if err != nil {
		return n, ioError("read", p.name, err, p.closed.Load())
	}
	return n, nil
}

// Write sends b to the host app. It fails with ErrReadOnly on a read-only
// port; Close unblocks it.
func (p *ptyPort) Write(b []byte) (int, error) {
	if p.readOnly {
		return 0, fmt.Errorf("write %s: %w", p.name, ErrReadOnly)
	}
	n, err := p.master.write(b)
	if err != nil {
		return n, ioError("write", p.name, err, p.closed.Load())
	}
	return n, nil
}

// HoldFD implements Descriptor.
func (p *ptyPort) HoldFD(fn func(fd, wake int)) error { return p.master.hold(fn) }

// FDError implements Descriptor.
func (p *ptyPort) FDError(op string, err error) error {
	return ioError(op, p.name, err, p.closed.Load())
}

// Close removes the link (if it still points at our pty), closes both
// sides and waits for the termios watcher. It is idempotent.
func (p *ptyPort) Close() error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		close(p.stop)
		<-p.done
		if target, err := os.Readlink(p.link); err == nil && target == p.slaveDev {
			if err := os.Remove(p.link); err != nil && !errors.Is(err, os.ErrNotExist) {
				p.closeErr = fmt.Errorf("close %s: remove link: %w", p.name, err)
			}
		}
		p.master.close()
		p.slave.Close()
	})
	return p.closeErr
}
