package main

import (
	"os"

	"golang.org/x/term"
)

// isTerminal reports whether v is an *os.File attached to a terminal.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// useColour reports whether output to w may be coloured: only on a terminal
// and never when NO_COLOR is set (https://no-color.org).
func (e *env) useColour(w any) bool {
	if e.getenv("NO_COLOR") != "" {
		return false
	}
	return e.isTerminal != nil && e.isTerminal(w)
}
