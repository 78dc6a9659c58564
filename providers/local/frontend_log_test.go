package local

import (
	"bufio"
	"log"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestFrontendLogsMalformedRequestsSparingly sends malformed requests
// carrying a credential: each is answered 400, the log gets at most a line
// a second (saying how many it held back), and never the request's bytes.
func TestFrontendLogsMalformedRequestsSparingly(t *testing.T) {
	t.Parallel()
	var logged syncBuffer
	var rt router
	base, _ := serveFrontend(t, &rt, log.New(&logged, "", 0))
	addr := strings.TrimPrefix(base, "http://")
	const sent = 50
	for i := range sent {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		bad := "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret-token-" + strings.Repeat("x", i) +
			"\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab" // two lengths: refused
		if _, err := c.Write([]byte(bad)); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		resp.Body.Close()
		c.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("request %d: %d, want 400", i, resp.StatusCode)
		}
	}
	out := logged.String()
	lines := strings.Count(out, "\n")
	if lines == 0 || lines > sent/2 {
		t.Errorf("%d log lines for %d malformed requests, want at most one a second:\n%s", lines, sent, out)
	}
	if strings.Contains(out, "secret-token") {
		t.Errorf("the log shows a malformed request's bytes:\n%s", out)
	}
}
