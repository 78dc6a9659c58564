package sampleapp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/internal/pipenet"
)

func TestOptionsFromEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		env       map[string]string
		want      Options
		wantInput string
	}{
		{name: "defaults", env: nil, want: Options{Version: "dev", Addr: "127.0.0.1:8080"}},
		{
			name: "all set",
			env:  map[string]string{"PORT": "9001", "SAMPLE_VERSION": "v2", "SAMPLE_FAIL_RATE": "0.25", "SAMPLE_LATENCY": "15ms"},
			want: Options{Version: "v2", Addr: "127.0.0.1:9001", FailRate: 0.25, Latency: 15 * time.Millisecond},
		},
		{name: "bad port", env: map[string]string{"PORT": "http"}, wantInput: "PORT"},
		{name: "port zero", env: map[string]string{"PORT": "0"}, wantInput: "PORT"},
		{name: "fail rate above one", env: map[string]string{"SAMPLE_FAIL_RATE": "1.5"}, wantInput: "SAMPLE_FAIL_RATE"},
		{name: "fail rate not a number", env: map[string]string{"SAMPLE_FAIL_RATE": "NaN"}, wantInput: "SAMPLE_FAIL_RATE"},
		{name: "negative latency", env: map[string]string{"SAMPLE_LATENCY": "-1s"}, wantInput: "SAMPLE_LATENCY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := OptionsFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantInput != "" {
				ie, ok := errors.AsType[*input.Error](err)
				if !ok || ie.Input != tt.wantInput {
					t.Fatalf("OptionsFromEnv() error = %v, want an input error naming %q", err, tt.wantInput)
				}
				return
			}
			if err != nil {
				t.Fatalf("OptionsFromEnv() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("OptionsFromEnv() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHandlerFailRate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rate     float64
		wantFail int
	}{{0, 0}, {0.1, 10}, {0.25, 25}, {0.5, 50}, {1, 100}}
	for _, tt := range tests {
		h := Handler(Options{Version: "v9", FailRate: tt.rate})
		fails := 0
		for range 100 {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			if got := rec.Header().Get("X-Ramp-Version"); got != "v9" {
				t.Fatalf("X-Ramp-Version = %q, want v9", got)
			}
			switch rec.Code {
			case http.StatusInternalServerError:
				fails++
			case http.StatusOK:
				if rec.Body.String() != "hello from v9\n" {
					t.Fatalf("body = %q", rec.Body.String())
				}
			default:
				t.Fatalf("status = %d", rec.Code)
			}
		}
		if fails != tt.wantFail {
			t.Errorf("rate %v: %d of 100 requests failed, want %d", tt.rate, fails, tt.wantFail)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		if rec.Code != http.StatusOK {
			t.Errorf("rate %v: /healthz status = %d, want 200", tt.rate, rec.Code)
		}
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/missing", nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("rate %v: /missing status = %d, want 404", tt.rate, rec.Code)
		}
	}
}

// TestServeFinishesInFlight cancels the server's context while a request is
// being handled and checks that the listener closes at once and that the
// request still completes. It runs in a synctest bubble over an in-memory
// listener, so it waits for nothing but the server.
func TestServeFinishesInFlight(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ln := pipenet.Listen("sample.test")
		started, release := make(chan struct{}), make(chan struct{})
		h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			close(started)
			<-release
			io.WriteString(w, "done")
		})
		ctx, cancel := context.WithCancel(t.Context())
		served := make(chan error, 1)
		go func() { served <- serve(ctx, ln, h) }()

		type answer struct {
			body string
			err  error
		}
		answered := make(chan answer, 1)
		tr := &http.Transport{DialContext: ln.Dial}
		defer tr.CloseIdleConnections()
		go func() {
			resp, err := (&http.Client{Transport: tr}).Get("http://sample.test/")
			if err != nil {
				answered <- answer{err: err}
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			answered <- answer{string(b), err}
		}()
		<-started
		cancel()
		synctest.Wait() // the server shuts down as far as it can with the handler held
		if !ln.Closed() {
			t.Fatal("the listener still accepts once the context is cancelled")
		}
		close(release)
		if a := <-answered; a.err != nil || a.body != "done" {
			t.Fatalf("in-flight request = %q, %v; want done", a.body, a.err)
		}
		if err := <-served; err != nil {
			t.Fatalf("serve() = %v, want nil after graceful shutdown", err)
		}
	})
}

func TestRunListenError(t *testing.T) {
	t.Parallel()
	err := Run(t.Context(), Options{Addr: "127.0.0.1:notaport"})
	if err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Fatalf("Run() = %v, want a listen error", err)
	}
}
