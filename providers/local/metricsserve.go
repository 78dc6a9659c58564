package local

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ramp-deploy/ramp/providers"
)

// The agent serves its Prometheus metrics on a listener of their own, on
// the metrics-listen address, and only when that is set: the proxy's
// listener carries the service's traffic, and the control API stays on
// loopback behind the agent's token, which would let whoever holds it
// deploy or stop the service. The metrics listener serves GET /metrics and
// nothing else, without authentication, as Prometheus exporters do. Under a
// supervisor it is held and handed over like the other two, so a restarted
// or upgraded agent serves it on the same address.

// metricsPath is where the metrics listener serves the metrics.
const metricsPath = "/metrics"

// listenMetrics opens the metrics listener on cfg.MetricsListen; nil when
// the metrics are off.
func listenMetrics(ctx context.Context, cfg providers.Config) (net.Listener, error) {
	if cfg.MetricsListen == "" {
		return nil, nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.MetricsListen)
	if err != nil {
		return nil, fmt.Errorf("listen for the metrics: %w", err)
	}
	return ln, nil
}

// newMetricsServer returns the server of a's metrics.
func (a *Agent) newMetricsServer() (*http.Server, error) {
	h, err := metricsHandler(newPromCollector(a.cfg.Service, &a.metrics, &a.router), a.log)
	if err != nil {
		return nil, err
	}
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: a.log}, nil
}

// metricsHandler serves GET /metrics from c and the Go runtime's and the
// process's collectors, and answers anything else 404 (or 405).
func metricsHandler(c prometheus.Collector, errLog *log.Logger) (http.Handler, error) {
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		c,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register the metrics: %w", err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+metricsPath, promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: errLog, Timeout: 10 * time.Second}))
	return mux, nil
}

// MetricsURL returns the URL of the agent's Prometheus metrics; empty when
// it serves none.
func (a *Agent) MetricsURL() string {
	if a.metricsLn == nil {
		return ""
	}
	return serviceURL(a.metricsLn.Addr()) + metricsPath
}
