package local

import (
	"net"
	"testing"
	"time"
)

// scriptedConn answers reads with its chunks, one per Read, and records
// the read deadlines set on it.
type scriptedConn struct {
	net.Conn
	chunks    []string
	deadlines []time.Time
}

func (c *scriptedConn) Write(p []byte) (int, error) { return len(p), nil }

func (c *scriptedConn) Read(p []byte) (int, error) {
	n := copy(p, c.chunks[0])
	c.chunks = c.chunks[1:]
	return n, nil
}

func (c *scriptedConn) SetReadDeadline(t time.Time) error {
	c.deadlines = append(c.deadlines, t)
	return nil
}

// TestHeaderDeadlineLiftedAtTheFinalHeader reads scripted answers and
// checks after which chunk the response-header deadline is lifted: at the
// end of the final header, wherever "\r\n\r\n" is split, and never at the
// end of an interim 1xx header.
func TestHeaderDeadlineLiftedAtTheFinalHeader(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		chunks []string
		liftAt int // index of the chunk after which the deadline is lifted; -1: never
	}{
		{"one read", []string{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"}, 0},
		{"split end", []string{"HTTP/1.1 200 OK\r\nA: b\r", "\n\r", "\nbody"}, 2},
		{"header not ended", []string{"HTTP/1.1 200 OK\r\nA: b\r\n", "C: d\r\n"}, -1},
		{"100 Continue first", []string{"HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n"}, 1},
		{"100 Continue, final header late", []string{"HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 2"}, -1},
		{"103 then 200 in one read", []string{"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"}, 0},
		{"status split across reads", []string{"HTTP/1.1 1", "00 Continue\r\n\r\n", "HTTP/1.1 204 No Content\r\n\r\n"}, 2},
		{"a 5xx is final", []string{"HTTP/1.1 503 Service Unavailable\r\n\r\n"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sc := &scriptedConn{chunks: tc.chunks}
			c := &revisionConn{Conn: sc, timeout: time.Minute}
			wrote := time.Now()
			if _, err := c.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 256)
			lifted := -1
			for i := range tc.chunks {
				if _, err := c.Read(buf); err != nil {
					t.Fatal(err)
				}
				if last := sc.deadlines[len(sc.deadlines)-1]; last.IsZero() && lifted < 0 {
					lifted = i
				}
			}
			if lifted != tc.liftAt {
				t.Errorf("deadline lifted after chunk %d, want %d (deadlines set: %v)", lifted, tc.liftAt, sc.deadlines)
			}
			for _, d := range sc.deadlines {
				if !d.IsZero() && (d.Before(wrote.Add(c.timeout)) || d.After(time.Now().Add(c.timeout))) {
					t.Errorf("deadline %v set, want the timeout from a read after the request's write at %v", d, wrote)
				}
			}
		})
	}
}
