package fly

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// call sends one request to w and returns the status and the decoded body.
func call(t *testing.T, w *World, method, path, nonce, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://fake"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer tok")
	if nonce != "" {
		req.Header.Set(NonceHeader, nonce)
	}
	resp, _ := Doer{W: w}.Do(req)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out) // lists and empty bodies decode to nil
	return resp.StatusCode, out
}

// TestLifecycleAndRouting walks a machine created without service
// registration through start, checks, uncordon, cordon, stop and destroy,
// checking what the proxy routes at each point.
func TestLifecycleAndRouting(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		w := NewWorld()
		w.CreateApp("web", "acme")
		if _, err := w.Launch("web", "ams", Config("img:v1", "app")); err != nil {
			t.Fatal(err)
		}
		cfg, _ := json.Marshal(map[string]any{"config": Config("img:v2", "app"), "region": "ams", "skip_service_registration": true})
		code, m := call(t, w, "POST", "/v1/apps/web/machines", "", string(cfg))
		if code != 200 || m["state"] != "starting" {
			t.Fatalf("create: %d %v", code, m)
		}
		id := m["id"].(string)
		base := "/v1/apps/web/machines/" + id
		if code, _ := call(t, w, "GET", base+"/wait?state=started&timeout=5", "", ""); code != 200 {
			t.Fatalf("wait started: %d", code)
		}
		steps := []struct {
			name          string
			method, path  string
			sleep         time.Duration
			wantCode      int
			wantRoutable2 int
		}{
			{"started, cordoned by skip_service_registration", "GET", base, 0, 200, 0},
			{"uncordoned, checks not passing yet", "POST", base + "/uncordon", 0, 200, 0},
			{"checks passing", "GET", base, DefaultCheckDelay, 200, 1},
			{"cordoned", "POST", base + "/cordon", 0, 200, 0},
			{"uncordoned again", "POST", base + "/uncordon", 0, 200, 1},
			{"stopped", "POST", base + "/stop", 0, 200, 0},
			{"destroyed", "DELETE", base + "?kill=true", 0, 200, 0},
			{"destroyed again is 404", "DELETE", base + "?kill=true", 0, 404, 0},
		}
		for _, s := range steps {
			time.Sleep(s.sleep)
			if code, body := call(t, w, s.method, s.path, "", ""); code != s.wantCode {
				t.Fatalf("%s: %d %v, want %d", s.name, code, body, s.wantCode)
			}
			if got := w.Routable("web"); got["img:v2"] != s.wantRoutable2 || got["img:v1"] != 1 {
				t.Fatalf("%s: routable %v, want img:v2=%d img:v1=1", s.name, got, s.wantRoutable2)
			}
		}
	})
}

// TestLeasesAndWait checks the lease rules (409 for another nonce, writes
// need the nonce) and the wait endpoint's 408.
func TestLeasesAndWait(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		w := NewWorld()
		w.CreateApp("web", "acme")
		id, _ := w.Launch("web", "ams", Config("img:v1", "app"))
		base := "/v1/apps/web/machines/" + id
		code, l := call(t, w, "POST", base+"/lease?ttl=30", "", "")
		if code != 200 {
			t.Fatalf("acquire: %d %v", code, l)
		}
		nonce := l["data"].(map[string]any)["nonce"].(string)
		cases := []struct {
			name         string
			method, path string
			nonce        string
			want         int
		}{
			{"second acquire", "POST", base + "/lease?ttl=30", "", 409},
			{"cordon without the nonce", "POST", base + "/cordon", "", 409},
			{"metadata with another nonce", "POST", base + "/metadata/k", "other", 409},
			{"metadata with the nonce", "POST", base + "/metadata/k", nonce, 204},
			{"refresh", "POST", base + "/lease?ttl=30", nonce, 200},
			{"release with another nonce", "DELETE", base + "/lease", "other", 409},
			{"release", "DELETE", base + "/lease", nonce, 200},
			{"cordon once released", "POST", base + "/cordon", "", 200},
			{"wait for stopped times out", "GET", base + "/wait?state=stopped&timeout=2", "", 408},
			{"wait for a bad state", "GET", base + "/wait?state=melted", "", 400},
		}
		for _, c := range cases {
			if code, body := call(t, w, c.method, c.path, c.nonce, `{"value":"v"}`); code != c.want {
				t.Errorf("%s: %d %v, want %d", c.name, code, body, c.want)
			}
		}
		if md := w.Machines("web")[0].Metadata; md["k"] != "v" {
			t.Errorf("metadata %v", md)
		}
		start := time.Now()
		call(t, w, "GET", base+"/wait?state=stopped&timeout=2", "", "")
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("408 after %s, want 2s", d)
		}
	})
}
