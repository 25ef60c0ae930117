package rig

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Mosquitto is a running Debian mosquitto broker on loopback, started by
// StartMosquitto with a generated configuration. Every address is
// "127.0.0.1:<port>"; the TLS ones are empty when no PKI was given.
type Mosquitto struct {
	Addr        string // MQTT over plain TCP
	WSAddr      string // MQTT over WebSocket (protocol websockets)
	TLSAddr     string // MQTT over TLS, require_certificate true (client CA of the PKI)
	TLSAnonAddr string // MQTT over TLS, no client certificate asked
	WSSAddr     string // MQTT over WebSocket Secure, no client certificate asked

	cmd    *exec.Cmd
	cancel context.CancelFunc
	mu     sync.Mutex
	log    bytes.Buffer
	once   sync.Once
}

// StartMosquitto runs /usr/sbin/mosquitto (or mosquitto on PATH) on free
// loopback ports: a plain TCP listener and a websockets one always; with
// pki, also TLS listeners whose server certificate is pki.ServerCert (one
// requiring a client certificate signed by the PKI's client CA, one not)
// and a WSS one. Anonymous clients are allowed. It skips the test when
// mosquitto is missing, unless CI=true (then it fails). The broker is
// stopped when the test ends (or by Stop) and killed after 2 minutes
// whatever happens.
func StartMosquitto(t *testing.T, pki *PKI) *Mosquitto {
	t.Helper()
	bin := "/usr/sbin/mosquitto"
	if _, err := os.Stat(bin); err != nil {
		bin = NeedProgram(t, "mosquitto")
	}
	m := &Mosquitto{}
	var conf strings.Builder
	// Running as root, mosquitto 2 drops to the user "mosquitto", which
	// could not read the test's key files: "user root" keeps root.
	conf.WriteString("user root\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type all\n")
	listener := func(extra string) string {
		addr := fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t))
		_, port, _ := net.SplitHostPort(addr)
		fmt.Fprintf(&conf, "listener %s 127.0.0.1\n%s", port, extra)
		return addr
	}
	m.Addr = listener("")
	m.WSAddr = listener("protocol websockets\n")
	if pki != nil {
		tlsFiles := fmt.Sprintf("certfile %s\nkeyfile %s\ntls_version tlsv1.2\n", pki.ServerCert, pki.ServerKey)
		m.TLSAddr = listener(tlsFiles + "cafile " + pki.ClientCAFile + "\nrequire_certificate true\n")
		m.TLSAnonAddr = listener(tlsFiles)
		m.WSSAddr = listener("protocol websockets\n" + tlsFiles)
	}
	path := filepath.Join(t.TempDir(), "mosquitto.conf")
	Must(t, os.WriteFile(path, []byte(conf.String()), 0o600))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	m.cancel = cancel
	m.cmd = exec.CommandContext(ctx, bin, "-c", path)
	m.cmd.Stderr = m
	m.cmd.Stdout = m
	if err := m.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting mosquitto: %v", err)
	}
	t.Cleanup(func() {
		m.Stop()
		if t.Failed() {
			t.Logf("mosquitto log:\n%s", m.Log())
		}
	})
	addrs := []string{m.Addr, m.WSAddr, m.TLSAddr, m.TLSAnonAddr, m.WSSAddr}
	deadline := time.Now().Add(10 * time.Second)
	for _, a := range addrs {
		if a == "" {
			continue
		}
		for {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				t.Fatalf("mosquitto did not listen on %s: %v\n%s", a, err, m.Log())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return m
}

// Write collects the broker's log (its stdout and stderr).
func (m *Mosquitto) Write(b []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.log.Write(b)
}

// Log returns what the broker logged so far.
func (m *Mosquitto) Log() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.log.String()
}

// Stop ends the broker (the "broker gone" case of a test); it is
// idempotent.
func (m *Mosquitto) Stop() {
	m.once.Do(func() {
		_ = m.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = m.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = m.cmd.Process.Kill()
			<-done
		}
		m.cancel()
	})
}

// freeTCPPort returns a loopback port that was free a moment ago.
func freeTCPPort(t *testing.T) int {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	Must(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
