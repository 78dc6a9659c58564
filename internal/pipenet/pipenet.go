// Package pipenet is an in-memory network for tests that run an HTTP server
// inside a testing/synctest bubble: its connections are net.Pipes, so a
// handler's time.Sleep advances the bubble's fake clock instead of real
// time, and nothing leaves the process.
package pipenet

import (
	"context"
	"errors"
	"net"
	"sync"
)

// Listener is a net.Listener whose connections come from its Dial.
type Listener struct {
	name   string
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

// Listen returns a listener whose address reads name.
func Listen(name string) *Listener {
	return &Listener{name: name, conns: make(chan net.Conn), closed: make(chan struct{})}
}

// Accept waits for the next connection made by Dial.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// Close stops Accept and Dial; it may be called more than once.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

// Closed reports whether Close was called.
func (l *Listener) Closed() bool {
	select {
	case <-l.closed:
		return true
	default:
		return false
	}
}

// Addr is the listener's name on the "pipe" network.
func (l *Listener) Addr() net.Addr { return addr(l.name) }

// Dial connects to the listener's server whatever the address asked for;
// use it as an http.Transport's DialContext.
func (l *Listener) Dial(ctx context.Context, _, _ string) (net.Conn, error) {
	server, client := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
	case <-ctx.Done():
	}
	_ = server.Close()
	_ = client.Close()
	return nil, errors.New("connection refused")
}

type addr string

func (addr) Network() string  { return "pipe" }
func (a addr) String() string { return string(a) }
