package emulator

import (
	"net"
	"net/http"
	"sync"
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

// DefaultMaxConnections is how many connections a server of the CLI and the
// kit holds at once by default: each may hold a request being read (up to
// its body limit), so this bounds that memory. Further connections wait in
// the kernel's accept queue until one closes.
const DefaultMaxConnections = 1024

// LimitListener returns a listener that holds at most n connections open at
// once: Accept waits while n are open.
func LimitListener(ln net.Listener, n int) net.Listener {
	return &limitListener{Listener: ln, slots: make(chan struct{}, n)}
}

type limitListener struct {
	net.Listener
	slots chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	l.slots <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.slots }}, nil
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
