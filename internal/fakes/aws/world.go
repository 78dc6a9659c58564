// Package aws fakes, at the wire level, the three AWS APIs ramp's ECS
// provider calls, so the real aws-sdk-go-v2 clients talk to it unchanged:
// Amazon ECS over awsJson1_1 (clusters, services, task definitions, task
// sets, tags), Elastic Load Balancing v2 over awsQuery with XML answers
// (load balancers, listeners, rules, target groups and their targets'
// health), and CloudWatch over Smithy RPC v2 CBOR (GetMetricData for
// AWS/ApplicationELB per target group).
//
// One World holds the state of all three, since they depend on each other
// as in AWS: a task set registers targets in its target group, which turn
// healthy after some polls (never, for an image the knobs call
// unhealthy); the listeners' forward weights split a steady synthetic
// load between the target groups, and each group's requests, 5xx answers
// and response times, per minute, follow the images its task sets run;
// CloudWatch shows a minute only Lag after it ended. The fake rejects what
// AWS rejects (weights outside 0..999, scales outside 0..100, task-set calls
// on a service without the EXTERNAL deployment controller, unknown ARNs,
// more than 50 tags or a value over 256 characters) with AWS's error codes.
//
// Handler serves the three APIs on one HTTP endpoint, told apart as the
// SDK sends them (X-Amz-Target, Smithy-Protocol, Action=); the command in
// cmd/fakeaws serves it on loopback for black-box runs with
// AWS_ENDPOINT_URL.
package aws

import (
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults of the knobs.
const (
	// DefaultRegion and DefaultAccount appear in every ARN the fake makes.
	DefaultRegion  = "us-east-1"
	DefaultAccount = "123456789012"
	// DefaultLag is how long after its minute ends a datapoint shows.
	DefaultLag = time.Minute
	// DefaultRPS is the synthetic load each forwarding listener rule takes.
	DefaultRPS = 10.0
	// DefaultStabilizePolls is how many describes of a task set pass
	// before it reaches STEADY_STATE.
	DefaultStabilizePolls = 2
	// DefaultHealthyPolls is how many DescribeTargetHealth calls on a
	// target group pass before a new task set's targets are healthy.
	DefaultHealthyPolls = 2
)

// Behaviour is how the tasks of an image answer: the share of requests
// answered 5xx, the response time, and whether they ever pass the target
// group's health check.
type Behaviour struct {
	ErrorRatio float64
	Latency    time.Duration
	Healthy    bool
}

// DefaultBehaviour is the behaviour of an image by its name: "failing"
// answers every request 5xx, "slow" answers in 800 ms, "unhealthy" never
// passes its health check; any other image answers in 20 ms without error.
func DefaultBehaviour(image string) Behaviour {
	b := Behaviour{Latency: 20 * time.Millisecond, Healthy: true}
	if strings.Contains(image, "failing") {
		b.ErrorRatio = 1
	}
	if strings.Contains(image, "slow") {
		b.Latency = 800 * time.Millisecond
	}
	if strings.Contains(image, "unhealthy") {
		b.Healthy = false
	}
	return b
}

// World is the state of the fake ECS, ELBv2 and CloudWatch. Its methods
// are safe for concurrent use.
type World struct {
	mu      sync.Mutex
	now     func() time.Time
	region  string
	account string
	seq     int

	clusters map[string]*cluster // by name
	taskDefs map[string]*taskDef // by ARN
	families map[string]int      // the last revision of each family
	tags     map[string][]tag    // by resource ARN

	deployments map[string]*svcDeployment // by ARN

	lbs       map[string]*loadBalancer // by ARN
	listeners map[string]*listener     // by ARN
	rules     map[string]*rule         // by ARN, default rules included
	tgs       map[string]*targetGroup  // by ARN

	timeline []segment // the load each target group took, since the start

	lag            time.Duration
	rps            float64
	stabilizePolls int
	healthyPolls   int
	behave         func(image string) Behaviour
	deny           map[string]bool // "service:Operation" or "service:*"
	onWrite        func(op string)
	calls          map[string]int // by "service:Operation"
}

// NewWorld returns an empty world with the default knobs, on the clock now
// (time.Now when nil, the bubble's clock under testing/synctest).
func NewWorld(now func() time.Time) *World {
	if now == nil {
		now = time.Now
	}
	return &World{
		now: now, region: DefaultRegion, account: DefaultAccount,
		clusters: map[string]*cluster{}, taskDefs: map[string]*taskDef{}, families: map[string]int{}, tags: map[string][]tag{},
		deployments: map[string]*svcDeployment{},
		lbs:         map[string]*loadBalancer{}, listeners: map[string]*listener{}, rules: map[string]*rule{}, tgs: map[string]*targetGroup{},
		lag: DefaultLag, rps: DefaultRPS, stabilizePolls: DefaultStabilizePolls, healthyPolls: DefaultHealthyPolls,
		behave: DefaultBehaviour, deny: map[string]bool{}, calls: map[string]int{},
	}
}

// SetLag sets how long after its minute ends a datapoint shows.
func (w *World) SetLag(d time.Duration) { w.locked(func() { w.lag = d }) }

// SetRPS sets the synthetic requests a second each forwarding rule takes.
func (w *World) SetRPS(rps float64) { w.locked(func() { w.rps = rps; w.sample() }) }

// SetPolls sets how many describes a task set takes to reach STEADY_STATE
// and how many DescribeTargetHealth calls its targets take to be healthy.
func (w *World) SetPolls(stabilize, healthy int) {
	w.locked(func() { w.stabilizePolls, w.healthyPolls = stabilize, healthy })
}

// SetBehaviour replaces DefaultBehaviour.
func (w *World) SetBehaviour(f func(image string) Behaviour) {
	w.locked(func() { w.behave = f; w.sample() })
}

// Deny makes every call of operation op of service ("ecs",
// "elasticloadbalancing" or "monitoring") fail with AccessDenied; op "*"
// denies every operation of the service.
func (w *World) Deny(service, op string) { w.locked(func() { w.deny[service+":"+op] = true }) }

// Allow lifts a Deny of the operation: a process stopped by the denial
// (a crash between two calls) is followed by one whose calls succeed.
func (w *World) Allow(service, op string) { w.locked(func() { delete(w.deny, service+":"+op) }) }

// OnWrite installs tap, called with "service:Operation" before each call
// that changes something, from the goroutine serving it and with no lock
// held (the crash-point suite stops a process there).
func (w *World) OnWrite(tap func(op string)) { w.locked(func() { w.onWrite = tap }) }

// tapWrite calls the OnWrite tap if op changes something.
func (w *World) tapWrite(service, op string) {
	w.mu.Lock()
	tap := w.onWrite
	w.mu.Unlock()
	if tap != nil && writes[op] {
		tap(service + ":" + op)
	}
}

// writes are the operations that change something.
var writes = map[string]bool{
	"RegisterTaskDefinition": true, "CreateTaskSet": true, "UpdateTaskSet": true, "DeleteTaskSet": true,
	"UpdateServicePrimaryTaskSet": true, "TagResource": true, "UpdateService": true, "ContinueServiceDeployment": true,
	"StopServiceDeployment": true, "UntagResource": true, "ModifyListener": true, "ModifyRule": true,
	"CreateRule": true, "DeleteRule": true,
}

// Calls returns how many calls each "service:Operation" got so far.
func (w *World) Calls() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]int, len(w.calls))
	for k, v := range w.calls {
		out[k] = v
	}
	return out
}

// denied counts the call and reports whether it is denied.
func (w *World) denied(service, op string) bool {
	w.calls[service+":"+op]++
	return w.deny[service+":"+op] || w.deny[service+":*"]
}

func (w *World) locked(f func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f()
}

// id is a new unique decimal ID.
func (w *World) id() string {
	w.seq++
	return fmt.Sprintf("%016d", 4200000000000000+w.seq)
}

// hexID is a new unique 16-hex-digit ID, as ELB's ARNs end.
func (w *World) hexID() string {
	w.seq++
	return fmt.Sprintf("%016x", 0x50dc6c495c0c9188+w.seq)
}

func (w *World) arn(service, resource string) string {
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, w.region, w.account, resource)
}

// apiError is an error as AWS answers it: its code, whether the sender is
// to blame (4xx) or the server (5xx), and the message.
type apiError struct {
	Code    string
	Message string
	Server  bool
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func fail(code, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...)}
}

func mapKeys[V any](m map[string]V) iter.Seq[string] { return maps.Keys(m) }

// sortedValues are m's values in the order of their keys.
func sortedValues[V any](m map[string]V) []V {
	var out []V
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}
