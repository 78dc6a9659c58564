package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestServes starts the command on a loopback port and reads the seeded
// flag with the token it printed; a request without it is refused.
func TestServes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	addr := make(chan string, 1)
	var out, errs bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-token", "api-test"}, &out, &errs, func(a string) { addr <- a }) }()
	base := "http://" + <-addr
	get := func(token string) int {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/api/v2/flags/shop/checkout?env=production", nil)
		req.Header.Set("Authorization", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := get("api-test"); c != http.StatusOK {
		t.Errorf("GET with the token: %d", c)
	}
	if c := get(""); c != http.StatusUnauthorized {
		t.Errorf("GET without a token: %d", c)
	}
	if !strings.Contains(out.String(), "RAMP_FLAG_URL="+base) || !strings.Contains(out.String(), "RAMP_FLAG_TOKEN=api-test") {
		t.Errorf("stdout %q", out.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	if err := run(t.Context(), []string{"-listen", "0.0.0.0:0"}, &out, &errs, nil); err == nil {
		t.Error("a non-loopback address was taken")
	}
}
