package rig

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// HTTPBody is what /imitate serves: bytes that look like the result lines
// and URCs a host library scans for, to prove a reader counts.
const HTTPBody = "\r\nOK\r\n\r\nERROR\r\n+IPD,0,5:x\r\nSEND OK\r\n"

// BigBody is /big's body: n bytes of a repeating pattern.
func BigBody(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = "0123456789abcdefghijklmnopqrstuvwxyz\r\n"[i%38]
	}
	return b
}

// StartHTTP runs a real HTTP server (HTTPS with tls) on loopback until the
// test ends and returns its base URL. Routes: /get ("hello"), /imitate
// (HTTPBody), /big (100000 bytes of BigBody), /chunked (three flushed
// pieces, no Content-Length), /redirect (302 to /get), /missing (404,
// "not here"), /echo (the method, Content-Type, X-Test, Authorization and
// User-Agent headers, one per line, then the request body).
func StartHTTP(t testing.TB, tls bool) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/get", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hello") })
	mux.HandleFunc("/imitate", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, HTTPBody) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(BigBody(100000)) })
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, _ *http.Request) {
		for _, s := range []string{"one,", "two,", "three"} {
			_, _ = io.WriteString(w, s)
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/get", http.StatusFound) })
	mux.HandleFunc("/missing", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "not here")
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s\n%s\n%s\n%s\n%s\n%s", r.Method, r.Header.Get("Content-Type"), r.Header.Get("X-Test"),
			r.Header.Get("Authorization"), r.Header.Get("User-Agent"), body)
	})
	var s *httptest.Server
	if tls {
		s = httptest.NewTLSServer(mux)
	} else {
		s = httptest.NewServer(mux)
	}
	t.Cleanup(s.Close)
	return s.URL
}
