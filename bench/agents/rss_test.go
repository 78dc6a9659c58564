//go:build linux

package agents

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/internal/sampleapp"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/providers/local"
)

// TestMain lets the test binary run the sample app as a version.
func TestMain(m *testing.M) {
	if os.Getenv("RAMP_BENCH_APP") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		opts, err := sampleapp.OptionsFromEnv(os.Getenv)
		if err == nil {
			err = sampleapp.Run(ctx, opts)
		}
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// BenchmarkAgentsRSS starts RAMP_BENCH_SERVICES services (default 50),
// each with a stable and a candidate version, once with an agent per
// service and once with one shared agent, and reports the agents' total
// RSS (every agent, supervisor and spare process of the ramp binary; not
// the versions) and their CPU while idle.
func BenchmarkAgentsRSS(b *testing.B) {
	n := 50
	if v, err := strconv.Atoi(os.Getenv("RAMP_BENCH_SERVICES")); err == nil && v > 0 {
		n = v
	}
	ramp := buildRamp(b)
	for _, shared := range []bool{false, true} {
		name := "agent-per-service"
		if shared {
			name = "shared-agent"
		}
		b.Run(fmt.Sprintf("%s/services=%d", name, n), func(b *testing.B) {
			root := b.TempDir()
			provs := startServices(b, root, ramp, n, shared)
			defer stopServices(provs)
			time.Sleep(2 * time.Second) // let the starts settle
			procs := agentProcs(b, root)
			rss, pss, cpu0 := total(b, procs)
			const idle = 10 * time.Second
			time.Sleep(idle)
			_, _, cpu1 := total(b, procs)
			cpuPct := 100 * (cpu1 - cpu0).Seconds() / idle.Seconds()
			b.Logf("%s: %d services with 2 versions each: %d agent processes, %.1f MB RSS in total (%.2f MB a service; "+
				"PSS, which counts a page shared by several processes once, %.1f MB), idle CPU %.2f%% of a core",
				name, n, len(procs), rss, rss/float64(n), pss, cpuPct)
			for b.Loop() { // the measurement is the setup's: run with -benchtime 1x
			}
			b.ReportMetric(rss, "agent-MB")
			b.ReportMetric(rss/float64(n), "agent-MB/service")
			b.ReportMetric(pss, "agent-PSS-MB")
			b.ReportMetric(cpuPct, "idle-cpu-%")
		})
	}
}

// buildRamp builds the ramp binary, which runs the agents as it does for
// a user; the versions are this test binary's sample app.
func buildRamp(b *testing.B) string {
	out := filepath.Join(b.TempDir(), "ramp")
	cmd := exec.Command("go", "build", "-o", out, "github.com/ramp-deploy/ramp")
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Skipf("cannot build ramp to run its agents (%v): %s", err, msg)
	}
	return out
}

// startServices deploys v1 of n services, promotes it and deploys v2 as
// their candidate, a few services at a time.
func startServices(b *testing.B, root, ramp string, n int, shared bool) []*local.Provider {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	provs := make([]*local.Provider, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range n {
		cfg := providers.Config{Service: fmt.Sprintf("svc%02d", i), StateDir: filepath.Join(root, fmt.Sprintf("svc%02d", i)),
			Listen: "127.0.0.1:0", ReadyTimeout: time.Minute, SharedAgent: shared, Executable: ramp}
		p, err := local.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		provs[i] = p.(*local.Provider)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = twoVersions(b.Context(), provs[i], exe)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			stopServices(provs)
			b.Fatalf("service %d: %v", i, err)
		}
	}
	return provs
}

// twoVersions deploys v1, promotes it, and deploys v2 beside it.
func twoVersions(ctx context.Context, p *local.Provider, exe string) error {
	art := func(v string) providers.Artifact {
		return providers.Artifact{Image: "'" + exe + "'", Revision: v, Env: []string{"RAMP_BENCH_APP=1", "SAMPLE_VERSION=" + v}}
	}
	if _, err := p.Deploy(ctx, art("v1")); err != nil {
		return err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return err
	}
	if _, err := p.Apply(ctx, providers.Transition{Action: providers.ActionPromote, Revision: "v1", Record: st.Rollout}); err != nil {
		return err
	}
	_, err = p.Deploy(ctx, art("v2"))
	return err
}

// stopServices stops every service's agent (ramp down).
func stopServices(provs []*local.Provider) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for _, p := range provs {
		if p != nil {
			wg.Go(func() { p.Shutdown(ctx) })
		}
	}
	wg.Wait()
}

// agentProcs lists the processes running an agent, a supervisor or a
// shared agent for a state directory under root.
func agentProcs(b *testing.B, root string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		b.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00")
		if len(args) < 3 || (args[1] != local.AgentCommand && args[1] != local.HostCommand) {
			continue
		}
		for _, a := range args[2:] {
			if strings.HasPrefix(a, "--state-dir="+root) {
				pids = append(pids, pid)
				break
			}
		}
	}
	if len(pids) == 0 {
		b.Fatal("no agent process found")
	}
	return pids
}

// total is the processes' RSS and PSS in MB and their CPU time so far.
func total(b *testing.B, pids []int) (rss, pss float64, cpu time.Duration) {
	var rssKB, pssKB, ticks int64
	for _, pid := range pids {
		rssKB += kbField(b, fmt.Sprintf("/proc/%d/status", pid), "VmRSS:")
		pssKB += kbField(b, fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss:")
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			b.Fatalf("pid %d: %v", pid, err)
		}
		// Fields after the command name (in parentheses): utime and stime
		// are the 12th and 13th.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + s
	}
	return float64(rssKB) / 1024, float64(pssKB) / 1024, time.Duration(ticks) * time.Second / 100 // USER_HZ is 100 on Linux
}

// kbField reads the "<name> <n> kB" line of a /proc file.
func kbField(b *testing.B, path, name string) int64 {
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	for line := range bytes.Lines(raw) {
		if v, ok := bytes.CutPrefix(line, []byte(name)); ok {
			n, _ := strconv.ParseInt(strings.Fields(string(v))[0], 10, 64)
			return n
		}
	}
	b.Fatalf("%s: no %s line", path, name)
	return 0
}
