package fly

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Headers of the fake fly-proxy.
const (
	// ForceInstanceHeader pins a request to one machine, cordoned or not,
	// as the fly-proxy's fly-force-instance-id request header does.
	ForceInstanceHeader = "fly-force-instance-id"
	// MachineHeader names, on every answer of the fake proxy, the machine
	// that served it (the fake's own header).
	MachineHeader = "X-Fake-Fly-Machine"
	// ImageHeader names the image of the machine that served it.
	ImageHeader = "X-Fake-Fly-Image"
)

// AppHandler is the app's public address as the fly-proxy serves it: a
// request goes to the machine fly-force-instance-id names (404 when the
// app has none of that ID, 503 when it is not started), else round-robin
// to the routable machines (503 when none is). A machine answers 200
// with its image as the body; one whose image contains "failing" answers
// 500, one whose image contains "slow" answers after 800 ms.
func (w *World) AppHandler(appName string) http.Handler {
	var next int
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		id, image, status := w.pick(appName, r.Header.Get(ForceInstanceHeader), &next)
		if status != http.StatusOK {
			http.Error(rw, fmt.Sprintf("fly-proxy: %s", image), status)
			return
		}
		if strings.Contains(image, "slow") {
			select {
			case <-time.After(800 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
		rw.Header().Set(MachineHeader, id)
		rw.Header().Set(ImageHeader, image)
		if strings.Contains(image, "failing") {
			http.Error(rw, "failing: "+image, http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(rw, image)
	})
}

// pick chooses the machine that serves a request: the forced one, or the
// next routable one. On failure, image says why.
func (w *World) pick(appName, forced string, next *int) (id, image string, status int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	a := w.apps[appName]
	if a == nil {
		return "", "no app " + appName, http.StatusNotFound
	}
	now := time.Now()
	if forced != "" {
		m := a.machines[forced]
		if m != nil {
			m.settle(now)
		}
		switch {
		case m == nil || m.state == stateDestroyed:
			return "", "no machine " + forced + " in app " + appName, http.StatusNotFound
		case m.state != stateStarted:
			return "", "machine " + forced + " is " + m.state, http.StatusServiceUnavailable
		}
		return m.id, m.image(), http.StatusOK
	}
	var routable []*machine
	for _, mid := range a.order {
		m := a.machines[mid]
		m.settle(now)
		if m.routable(now, w.checkDelay) {
			routable = append(routable, m)
		}
	}
	if len(routable) == 0 {
		return "", "no routable machine in app " + appName, http.StatusServiceUnavailable
	}
	m := routable[*next%len(routable)]
	*next++
	return m.id, m.image(), http.StatusOK
}
