package local

import (
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// reqRecord is one request of a steadyLoad.
type reqRecord struct {
	start, end time.Time
	err        error
	code       int
	ver        string
	local      string
	reused     bool
}

// failed reports whether the request failed or was answered by a version
// not in allowed.
func (r reqRecord) failed(allowed []string) bool {
	return r.err != nil || r.code != http.StatusOK || !slices.Contains(allowed, r.ver)
}

// steadyLoad sends GET requests through the proxy from a fixed set of
// workers, half on keep-alive connections and half on a new connection for
// each request, and records every request.
type steadyLoad struct {
	url      string
	inflight atomic.Int64 // requests sent and not answered yet
	done     atomic.Int64 // requests answered (or failed)
	stop     chan struct{}
	wg       sync.WaitGroup

	mu   sync.Mutex
	reqs []reqRecord
}

// startSteadyLoad starts workers sending requests to url.
func startSteadyLoad(url string, workers int) *steadyLoad {
	l := &steadyLoad{url: url, stop: make(chan struct{})}
	keepAlive := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: time.Minute}
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute}
	for i := range workers {
		c := keepAlive
		if i%2 == 1 {
			c = fresh
		}
		l.wg.Go(func() { l.work(c) })
	}
	return l
}

// work sends requests until the load stops.
func (l *steadyLoad) work(c *http.Client) {
	var mine []reqRecord
	defer func() {
		l.mu.Lock()
		l.reqs = append(l.reqs, mine...)
		l.mu.Unlock()
		c.CloseIdleConnections()
	}()
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		r := reqRecord{start: time.Now()}
		l.inflight.Add(1)
		trace := &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) { r.local, r.reused = ci.Conn.LocalAddr().String(), ci.Reused }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, l.url, nil)
		resp, err := c.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			r.code, r.ver = resp.StatusCode, resp.Header.Get("X-Ramp-Version")
		}
		r.err = err
		r.end = time.Now()
		l.inflight.Add(-1)
		l.done.Add(1)
		mine = append(mine, r)
	}
}

// halt stops the workers and returns every request they sent.
func (l *steadyLoad) halt() []reqRecord {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reqs
}
