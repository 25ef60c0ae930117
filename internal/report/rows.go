package report

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/atbridge/atbridge/formats/view"
)

// MaxRowText bounds the text of one transcript row in a page.
const MaxRowText = 400

// RowText is what a transcript row says for a "show --json" event, and
// its problem flags (FlagError, FlagLost).
func RowText(j *view.JSONEvent) (string, int) {
	flags := 0
	if j.Error != "" {
		flags |= FlagError
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	data := func() string {
		if j.Data != nil {
			return view.QuoteText([]byte(*j.Data))
		}
		if j.DataB64 != nil {
			b, _ := base64.StdEncoding.DecodeString(*j.DataB64)
			if utf8.Valid(b) {
				return view.QuoteText(b)
			}
			return fmt.Sprintf("%d bytes of binary data", len(b))
		}
		return ""
	}
	var t string
	switch j.Kind {
	case "transaction":
		if tx := j.Tx; tx != nil {
			res := tx.Result
			if res == "" {
				res = "no result"
			}
			t = fmt.Sprintf("%s → %s in %s", tx.Line, res, view.RelTime(tx.LatencyNS))
			if tx.Busy {
				t += " (typed while busy)"
			}
			switch tx.Result {
			case "OK", "SEND OK", "SET OK", "SEND Canceled":
			default:
				flags |= FlagError
			}
		}
	case "result":
		t = j.Name
		if j.Name == "ERROR" || j.Name == "SEND FAIL" || j.Name == "busy p..." {
			flags |= FlagError
		}
	case "prompt":
		t = ">"
	case "payload", "ws_message":
		t = data()
		if j.WS != nil && j.WS.Result != "" {
			t += " → " + j.WS.Result
		}
	case "frame":
		op := 1
		if j.WS != nil && j.WS.Opcode != nil {
			op = *j.WS.Opcode
		}
		t = view.OpcodeName(op) + " " + data()
	case "link_state":
		t = "now " + j.State
	case "event":
		t = j.Event
		if j.Text != "" {
			t += ": " + j.Text
		}
		if j.Count != 0 {
			t += " (" + strconv.FormatInt(j.Count, 10) + ")"
		}
		if j.Event == "bytes_lost" {
			flags |= FlagLost
		}
		if j.Event == "damage" { // a hole a repair left
			flags |= FlagError | FlagLost
		}
		if j.Event == "port_lost" || j.Event == "not_delivered" || j.Event == "break" || j.Event == "line_errors" {
			flags |= FlagError
		}
	case "damage":
		flags |= FlagError | FlagLost
		t = j.Error
		if j.Lost != nil {
			t = fmt.Sprintf("%d bytes unreadable at file offset %d: %s", j.Lost.Bytes, j.Lost.FileOffset, j.Error)
		}
	case "unparsed":
		flags |= FlagError
		raw := ""
		if j.RawB64 != nil {
			b, _ := base64.StdEncoding.DecodeString(*j.RawB64)
			raw = view.QuoteText(b)
		}
		t = j.Error + " " + raw
	default: // command, echo, info, urc
		t = str(j.Line)
		if t == "" {
			t = data()
		} else if d := data(); d != "" && j.Kind == "urc" {
			t += " " + d
		}
	}
	if j.Error != "" && j.Kind != "unparsed" && j.Kind != "damage" {
		t += " [" + j.Error + "]"
	}
	if len(t) > MaxRowText {
		t = t[:MaxRowText] + "…"
	}
	return t, flags
}
