package replay

import (
	"time"

	"github.com/atbridge/atbridge/formats/at"
)

// Polls. Host libraries wait for data or links by polling: WiFiEspAT asks
// AT+CIPRECVLEN? every few milliseconds until a passive link has bytes,
// Adafruit's asks AT+CIPSTATUS. How many polls a run sends depends on its
// timing, not on what the device did, so in lenient mode the mock lets the
// count differ from the capture's:
//   - a poll sent more often than recorded is answered with the answer the
//     capture gave the last one (the state has not changed yet);
//   - a poll the host skipped (its data came sooner) is passed over when
//     the command the host sent comes after nothing but polls; output the
//     capture printed after the skipped poll without being its answer
//     (+IPD, CONNECT) still goes out.
// Both count in MockStats.Polls. Strict mode, and every other command,
// match one for one.

// maxSkippedPolls bounds how far ahead a command may be found past polls.
const maxSkippedPolls = 64

// isPoll reports whether a command line only reads the device's state: a
// query (AT+X?) or AT+CIPSTATUS, the deprecated status query.
func isPoll(body []byte) bool {
	c, err := at.ParseCommand(body)
	if err != nil {
		return false
	}
	return c.Type == at.CmdQuery || c.Type == at.CmdExec && c.Name == "+CIPSTATUS"
}

// repeatPoll answers a poll the capture holds fewer of: with the response
// of the last one the host was answered. It reports whether it did.
func (r *mockRun) repeatPoll(key string, body []byte, now time.Time) bool {
	if r.m.r.Match != Lenient || !isPoll(body) {
		return false
	}
	s := r.m.s
	for j := r.cur - 1; j >= 0; j-- {
		h := &s.Host[j]
		if !r.consumed[j] || h.Kind != at.EvCommand || r.m.r.CommandKey(trimCRLF(h.Raw)) != key {
			continue
		}
		if h.Tx < 0 || len(s.Txs[h.Tx].Response) == 0 {
			return false
		}
		for _, oi := range s.Txs[h.Tx].Response {
			r.push(now, s.Out[oi].Raw, -1)
		}
		r.countPoll()
		return true
	}
	return false
}

// skipPolls finds the host's command past recorded polls the host did not
// send, consumes those polls and returns the command's index, or -1.
func (r *mockRun) skipPolls(key string, now time.Time) int {
	if r.m.r.Match != Lenient {
		return -1
	}
	s := r.m.s
	var skipped []int
	for j := r.cur; j < len(s.Host) && len(skipped) <= maxSkippedPolls; j++ {
		if r.consumed[j] {
			continue
		}
		h := &s.Host[j]
		if h.Kind != at.EvCommand {
			return -1
		}
		line := trimCRLF(h.Raw)
		if r.m.r.CommandKey(line) == key {
			if len(skipped) == 0 {
				return -1 // not past polls: the caller's own match failed
			}
			for _, p := range skipped {
				r.consumeExcept(p, now, s.Host[p].Tx)
				r.countPoll()
			}
			return j
		}
		if !isPoll(line) {
			return -1
		}
		skipped = append(skipped, j)
	}
	return -1
}

func (r *mockRun) countPoll() {
	r.m.mu.Lock()
	r.m.stats.Polls++
	r.m.mu.Unlock()
}
