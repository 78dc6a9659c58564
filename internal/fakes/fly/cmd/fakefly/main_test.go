package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"
)

// TestServes runs the command on a loopback port, as a shell would, and
// lists the seeded machines with the token it exports; another token is
// refused.
func TestServes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-machines", "3", "-token", "sekret"}, outW, io.Discard)
		outW.Close()
	}()
	line, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil {
		t.Fatalf("no export line: %v (%v)", err, <-done)
	}
	go func() { _, _ = io.Copy(io.Discard, outR) }()
	m := regexp.MustCompile(`^export FLY_API_BASE_URL=(http://127\.0\.0\.1:\d+) FLY_API_TOKEN=sekret FLY_APP_URL=http://127\.0\.0\.1:\d+\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("export line %q", line)
	}
	for _, tc := range []struct {
		auth string
		want int
	}{{"Bearer sekret", 200}, {"FlyV1 sekret", 200}, {"Bearer other", 401}} {
		req, _ := http.NewRequestWithContext(ctx, "GET", m[1]+"/v1/apps/web/machines", nil)
		req.Header.Set("Authorization", tc.auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var list []map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if resp.StatusCode != tc.want || (tc.want == 200 && len(list) != 3) {
			t.Errorf("%s: %d with %d machines, want %d", tc.auth, resp.StatusCode, len(list), tc.want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}
