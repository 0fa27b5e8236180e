package emulator

import (
	"net/http"
	"time"
)

// Server timeouts and limits used by NewHTTPServer.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 2 * time.Minute // leaves room for scripted delays
	IdleTimeout       = 2 * time.Minute
	// ServerMaxHeaderBytes is net/http's hard limit, answered with its own
	// plain-text 431. Up to it the emulator reads the headers and answers a
	// 431 in the vendor's shape beyond Config.MaxHeaderBytes (64 KiB).
	ServerMaxHeaderBytes = 1 << 20
)

// NewHTTPServer wraps h in an http.Server with the emulator's timeouts and header
// limit, so that slow or oversized clients cannot hold the server.
func NewHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    ServerMaxHeaderBytes,
	}
}
