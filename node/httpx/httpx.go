// Package httpx holds the small HTTP helpers the API server (node/httpapi),
// the gateway (node/gateway) and node itself share: loopback Host checks,
// one-line error messages and a status-recording ResponseWriter. It imports
// only the standard library.
package httpx

import (
	"net/http"
	"strings"
)

// OneLine folds a message onto one line.
func OneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// StatusWriter records the status of a response. Unwrap lets
// http.ResponseController reach the connection (Flush).
type StatusWriter struct {
	http.ResponseWriter
	status int
	Bytes  int64 // body bytes written (access log)
}

func (s *StatusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *StatusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(p)
	s.Bytes += int64(n)
	return n, err
}

func (s *StatusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// StatusCode is the status sent (200 when the handler sent none).
func (s *StatusWriter) StatusCode() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}
