package fly

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAppHandler checks the fake fly-proxy over a real socket: requests
// without fly-force-instance-id go round-robin to the routable machines
// only; with it they reach the machine named, cordoned or not; an
// unknown machine is a 404; a failing image answers 500.
func TestAppHandler(t *testing.T) {
	t.Parallel()
	w := NewWorld()
	w.CreateApp("web", "acme")
	var ids []string
	for _, img := range []string{"img:v1", "img:v1", "img:failing"} {
		id, err := w.Launch("web", "ams", Config(img, "app"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	w.SetCordoned("web", ids[2], true) // the candidate takes no traffic
	srv := httptest.NewServer(w.AppHandler("web"))
	defer srv.Close()
	get := func(force string) (int, string, string) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/healthz", nil)
		if err != nil {
			t.Fatal(err)
		}
		if force != "" {
			req.Header.Set(ForceInstanceHeader, force)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get(MachineHeader), strings.TrimSpace(string(body))
	}
	seen := map[string]int{}
	for range 6 {
		code, id, body := get("")
		if code != http.StatusOK || body != "img:v1" {
			t.Errorf("unpinned: %d %s %q", code, id, body)
		}
		seen[id]++
	}
	if seen[ids[0]] != 3 || seen[ids[1]] != 3 {
		t.Errorf("round-robin over the routable machines: %v", seen)
	}
	if code, id, _ := get(ids[2]); code != http.StatusInternalServerError || id != ids[2] {
		t.Errorf("pinned to the cordoned failing machine: %d from %s", code, id)
	}
	if code, id, body := get(ids[1]); code != http.StatusOK || id != ids[1] || body != "img:v1" {
		t.Errorf("pinned to %s: %d from %s %q", ids[1], code, id, body)
	}
	if code, _, _ := get("nosuchmachine"); code != http.StatusNotFound {
		t.Errorf("pinned to an unknown machine: %d", code)
	}
}
