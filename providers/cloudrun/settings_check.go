package cloudrun

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

// Cloud Run's rules for the service settings, checked before any call.
var (
	// labelKey and labelValue are Google Cloud's label rules (ASCII only).
	labelKey   = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	labelValue = regexp.MustCompile(`^[a-z0-9_-]{0,63}$`)
	// connector is a Serverless VPC Access connector, by name or full name.
	connector = regexp.MustCompile(`^(projects/[a-z0-9-]+/locations/[a-z0-9-]+/connectors/)?[a-z]([-a-z0-9]{0,23}[a-z0-9])?$`)
	network   = regexp.MustCompile(`^(projects/[a-z0-9-]+/global/networks/)?[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)
	subnet    = regexp.MustCompile(`^(projects/[a-z0-9-]+/regions/[a-z0-9-]+/subnetworks/)?[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)
	// cloudSQL is a connection name: [domain:]project:region:instance.
	cloudSQL = regexp.MustCompile(`^([a-z0-9.-]+:)?[a-z][-a-z0-9]{0,29}:[a-z]+-[a-z]+[0-9]+:[a-z][-a-z0-9]{0,97}$`)
)

const (
	maxLabels      = 64
	maxConcurrency = 1000
	maxTimeout     = time.Hour
	// minMemory and maxMemory bound a container's memory, in bytes.
	minMemory = 128 << 20
	maxMemory = 32 << 30
)

// wholeCPUs are the CPU limits above one CPU Cloud Run takes, in millicpu.
var wholeCPUs = []int64{1000, 2000, 4000, 6000, 8000}

// checkSettings checks a's service settings against Cloud Run's rules,
// without calling anything: every problem is an *input.Error naming the
// input the setting came from (see providers.ServiceSettings.InputOf).
func checkSettings(a providers.Artifact) error {
	s := a.Settings
	c := checker{s: s}
	c.labels()
	cpu, mem := c.resources()
	if cpu > 0 && mem > 0 {
		for _, r := range []struct{ over, cpu int64 }{{24 << 30, 8000}, {16 << 30, 6000}, {8 << 30, 4000}, {4 << 30, 2000}} {
			if mem > r.over && cpu < r.cpu {
				c.fail("memory", s.Memory, "more than %s of memory needs at least %d CPUs (cpu is %s)", formatBytes(r.over), r.cpu/1000, s.CPU)
				break
			}
		}
	}
	c.counts()
	if s.Timeout != 0 && (s.Timeout < time.Second || s.Timeout > maxTimeout || s.Timeout%time.Second != 0) {
		c.fail("timeout", s.Timeout.String(), "must be whole seconds from 1s to 60m")
	}
	c.match("vpc-connector", s.VPCConnector, connector, "must be a connector name (lowercase, at most 25 characters) or projects/P/locations/R/connectors/NAME")
	c.match("network", s.Network, network, "must be a network name or projects/P/global/networks/NAME")
	c.match("subnet", s.Subnet, subnet, "must be a subnet name or projects/P/regions/R/subnetworks/NAME")
	for _, inst := range s.CloudSQLInstances {
		c.match("cloudsql-instances", inst, cloudSQL, "must be a connection name, project:region:instance")
	}
	c.oneOf("env-mode", s.EnvMode, "", providers.EnvMerge, providers.EnvReplace)
	c.oneOf("vpc-egress", s.VPCEgress, "", providers.VPCEgressAll, providers.VPCEgressPrivate)
	c.oneOf("ingress", s.Ingress, "", providers.IngressAll, providers.IngressInternal, providers.IngressInternalLB)
	for _, sec := range s.Secrets {
		if (sec.Env == "") == (sec.Path == "") || sec.Name == "" || sec.Version == "" {
			c.fail("secrets", sec.String(), "must be NAME=SECRET:VERSION or /path/file=SECRET:VERSION")
		}
	}
	if s.Port < 0 || s.Port > 65535 {
		c.fail("metadata", strconv.Itoa(s.Port), "containerPort is not a port")
	}
	return errors.Join(c.errs...)
}

// checker collects the problems of one set of settings.
type checker struct {
	s    providers.ServiceSettings
	errs []error
}

func (c *checker) fail(option, value, format string, args ...any) {
	in := c.s.InputOf(option)
	if in != option {
		format = option + ": " + format
	}
	c.errs = append(c.errs, input.Invalid(in, value, format, args...))
}

func (c *checker) match(option, value string, re *regexp.Regexp, problem string) {
	if value != "" && !re.MatchString(value) {
		c.fail(option, value, "%s", problem)
	}
}

func (c *checker) oneOf(option, value string, valid ...string) {
	for _, v := range valid {
		if value == v {
			return
		}
	}
	c.fail(option, value, "must be one of %q", valid[1:])
}

// labels checks the user's labels; ramp's defaults are valid by making.
func (c *checker) labels() {
	for _, k := range slices.Sorted(maps.Keys(c.s.Labels)) {
		switch v := c.s.Labels[k]; {
		case !labelKey.MatchString(k):
			c.fail("labels", k, "label keys are 1 to 63 lowercase letters, digits, _ and -, starting with a letter")
		case !labelValue.MatchString(v):
			c.fail("labels", k+"="+v, "label values are at most 63 lowercase letters, digits, _ and -")
		}
	}
	if n := len(c.s.Labels) + len(c.s.DefaultLabels); n > maxLabels {
		c.fail("labels", strconv.Itoa(len(c.s.Labels)), "Cloud Run takes at most %d labels, with ramp's %d", maxLabels, len(c.s.DefaultLabels))
	}
}

// resources checks cpu and memory, returning them in millicpu and bytes
// (0 when not set or not valid).
func (c *checker) resources() (cpu, mem int64) {
	if c.s.CPU != "" {
		cpu = millicpu(c.s.CPU)
		if cpu < 80 || (cpu > 1000 && !slices.Contains(wholeCPUs, cpu)) {
			c.fail("cpu", c.s.CPU, "Cloud Run takes 0.08 to 1 CPU, or 1, 2, 4, 6 or 8")
			cpu = 0
		}
	}
	if c.s.Memory != "" {
		mem = bytesOf(c.s.Memory)
		if mem < minMemory || mem > maxMemory {
			c.fail("memory", c.s.Memory, "Cloud Run takes 128Mi to 32Gi")
			mem = 0
		}
	}
	return cpu, mem
}

// counts checks the instance counts and the concurrency.
func (c *checker) counts() {
	for _, n := range []struct {
		option string
		v      *int
		least  int
		most   int
	}{{"min-instances", c.s.MinInstances, 0, math.MaxInt32}, {"max-instances", c.s.MaxInstances, 1, math.MaxInt32},
		{"concurrency", c.s.Concurrency, 1, maxConcurrency}} {
		if n.v != nil && (*n.v < n.least || *n.v > n.most) {
			c.fail(n.option, strconv.Itoa(*n.v), "must be from %d to %d", n.least, n.most)
		}
	}
	if lo, hi := c.s.MinInstances, c.s.MaxInstances; lo != nil && hi != nil && *lo > *hi {
		c.fail("min-instances", strconv.Itoa(*lo), "is more than max-instances (%d)", *hi)
	}
}

// millicpu reads "2", "0.5" or "500m"; 0 when it is none of these.
func millicpu(q string) int64 {
	if m, ok := strings.CutSuffix(q, "m"); ok {
		n, err := strconv.ParseInt(m, 10, 64)
		if err != nil {
			return 0
		}
		return n
	}
	f, err := strconv.ParseFloat(q, 64)
	if err != nil || f <= 0 || f > 1e6 {
		return 0
	}
	return int64(math.Round(f * 1000))
}

// bytesOf reads a memory quantity such as 512Mi, 2G or 1073741824; 0 when
// it is not one.
func bytesOf(q string) int64 {
	units := []struct {
		suffix string
		mult   float64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}}
	mult := 1.0
	for _, u := range units {
		if n, ok := strings.CutSuffix(q, u.suffix); ok {
			q, mult = n, u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(q, 64)
	if err != nil || f <= 0 || f*mult > 1<<50 {
		return 0
	}
	return int64(f * mult)
}

func formatBytes(n int64) string { return fmt.Sprintf("%dGi", n>>30) }
