package cloudrun

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"
)

// How the fake's revisions answer, after their images: one containing
// "failing" answers every request with a 500, one containing "slow" takes
// SlowLatency; the others answer 200 in HealthyLatency. (An image
// containing "broken" never gets ready, see rules.go, so it serves
// nothing.)
const (
	HealthyLatency = 40.0   // ms
	SlowLatency    = 1500.0 // ms
)

// loadTick spaces the batches of Load's synthetic requests.
const loadTick = 100 * time.Millisecond

// answer is how a revision running image answers a request: the HTTP
// status, its response_code_class and the latency Cloud Run would report.
func answer(image string) (code int, class string, latency float64) {
	latency = HealthyLatency
	if strings.Contains(image, "slow") {
		latency = SlowLatency
	}
	if strings.Contains(image, "failing") {
		return http.StatusInternalServerError, "5xx", latency
	}
	return http.StatusOK, "2xx", latency
}

// route is a revision serving a share of its service's traffic.
type route struct {
	res     Resource
	image   string
	percent int32
	tagURL  string // the revision's tag URL, if tagged
}

// routes lists the revisions svc's traffic statuses name, with their
// shares and tag URLs.
func (s *Server) routes(svc *runpb.Service) []route {
	res := resourceOf(svc.GetName())
	var out []route
	for _, st := range svc.GetTrafficStatuses() {
		if st.GetRevision() == "" {
			continue
		}
		r := route{res: res, percent: st.GetPercent(), tagURL: st.GetUri()}
		r.res.Revision = st.GetRevision()
		if rev := s.Admin.Revision(svc.GetName() + "/revisions/" + st.GetRevision()); rev != nil {
			r.image = servingContainer(&runpb.RevisionTemplate{Containers: rev.GetContainers()}).GetImage()
		}
		out = append(out, r)
	}
	return out
}

// resourceOf is the monitored resource of the service called name
// (projects/P/locations/R/services/S), without a revision.
func resourceOf(name string) Resource {
	parts := strings.Split(name, "/")
	if len(parts) != 6 {
		return Resource{Service: path.Base(name)}
	}
	return Resource{Project: parts[1], Location: parts[3], Service: parts[5]}
}

// Load sends rps requests a second to every service until ctx is done,
// split between its revisions as its traffic is, and records them in
// Monitoring as Cloud Run would (see Monitoring.Record and answer), at
// Monitoring's clock. Shares of a request carry over to the next batch, so
// a revision at 10% of 20 requests a second gets exactly 2.
func (s *Server) Load(ctx context.Context, rps float64) {
	t := time.NewTicker(loadTick)
	defer t.Stop()
	carry := map[Resource]float64{}
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.load(carry, rps*now.Sub(last).Seconds())
			last = now
		}
	}
}

// load sends requests, a number that may be fractional, to every service.
func (s *Server) load(carry map[Resource]float64, requests float64) {
	at := s.Monitoring.Now()
	for _, svc := range s.Admin.Services() {
		for _, r := range s.routes(svc) {
			carry[r.res] += requests * float64(r.percent) / 100
			n := int(carry[r.res])
			carry[r.res] -= float64(n)
			_, class, latency := answer(r.image)
			s.Monitoring.Record(r.res, class, at, n, latency)
		}
	}
}

// Frontend serves every service's URLs over plain HTTP, chosen by the
// request's Host: the service URL's host (web-abc123-uc.a.run.app) picks a
// revision at random as the traffic split says; a tag URL's host
// (candidate---web-abc123-uc.a.run.app) reaches that revision. Each answer
// (see answer; the body names the revision) is recorded in Monitoring, as
// Cloud Run would report it.
func (s *Server) Frontend() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		host := req.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		r, ok := s.pick(host)
		if !ok {
			http.Error(w, "no Cloud Run revision serves host "+host, http.StatusNotFound)
			return
		}
		code, class, latency := answer(r.image)
		s.Monitoring.Record(r.res, class, s.Monitoring.Now(), 1, latency)
		w.WriteHeader(code)
		fmt.Fprintf(w, "revision %s of service %s\n", r.res.Revision, r.res.Service)
	})
}

// pick finds the revision a request for host reaches.
func (s *Server) pick(host string) (route, bool) {
	for _, svc := range s.Admin.Services() {
		routes := s.routes(svc)
		for _, r := range routes {
			if r.tagURL != "" && hostOf(r.tagURL) == host {
				return r, true
			}
		}
		if hostOf(svc.GetUri()) != host {
			continue
		}
		n := rand.Int32N(100)
		for _, r := range routes {
			if n < r.percent {
				return r, true
			}
			n -= r.percent
		}
	}
	return route{}, false
}

// hostOf is the host name of the URL u.
func hostOf(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return parsed.Hostname()
}
