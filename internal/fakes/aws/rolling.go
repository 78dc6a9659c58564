package aws

import (
	"fmt"
	"math"
)

// rollingRun is a service deployment on the ROLLING strategy, as ECS runs
// one: new tasks start in batches bounded by maximumPercent, old tasks
// stop as far as minimumHealthyPercent lets them once new ones are
// healthy, and the deployment circuit breaker, when enabled, stops a
// deployment whose new tasks keep failing to start (rolling it back when
// its rollback is set).
type rollingRun struct {
	n, minTasks, maxTasks int
	old, healthy, pending int
	age                   int // describes since the pending batch started
	failed, threshold     int // threshold 0: the circuit breaker is off
	rollback              bool
	breaker               string // MONITORING, TRIGGERED or DISABLED
}

// rollingMin and rollingMax are ECS's defaults for a service's deployment
// percentages.
const (
	rollingMin = 100
	rollingMax = 200
)

// newRolling plans a rolling deployment of n tasks under c.
func newRolling(c depConfig, n int) *rollingRun {
	minPct, maxPct := rollingMin, rollingMax
	if c.MinPercent != nil {
		minPct = *c.MinPercent
	}
	if c.MaxPercent != nil {
		maxPct = *c.MaxPercent
	}
	r := &rollingRun{n: n, old: n, breaker: "DISABLED",
		minTasks: int(math.Ceil(float64(n*minPct)/100 - 1e-9)), maxTasks: int(math.Floor(float64(n*maxPct)/100 + 1e-9))}
	if b := c.Breaker; b != nil && b.Enable {
		// ECS trips after half the desired count of failed tasks, at least
		// 3 and at most 200.
		r.threshold, r.rollback, r.breaker = min(max(3, (n+1)/2), 200), b.Rollback, "MONITORING"
	}
	return r
}

// stepRolling moves a rolling deployment by one describe: the pending
// batch turns healthy (or fails, for an image that never passes its
// health check) after healthyPolls describes, old tasks stop down to the
// minimum healthy count, the next batch starts up to the maximum, and the
// deployment succeeds once every task is new.
func (w *World) stepRolling(d *svcDeployment) {
	r := d.roll
	d.status = sdInProgress
	if r.pending > 0 {
		r.age++
		if r.age >= w.healthyPolls {
			if w.behave(w.image(d.target)).Healthy {
				r.healthy += r.pending
			} else {
				r.failed += r.pending
			}
			r.pending, r.age = 0, 0
		}
	}
	if r.threshold > 0 && r.failed >= r.threshold {
		r.breaker = "TRIGGERED"
		why := fmt.Sprintf("Circuit breaker: %d tasks of service deployment %s failed to start (threshold %d).", r.failed, d.arn, r.threshold)
		if r.rollback {
			w.rollBack(d, why)
		} else {
			w.removeSet(d.svc, d.target)
			d.status, d.reason, d.finished = sdStopped, why, w.now()
			d.svc.taskDefinition = d.source.taskDefinition
			d.source.scale = 100
		}
		return
	}
	r.old = min(r.old, max(r.minTasks-r.healthy, 0))
	if r.healthy >= r.n {
		w.removeSet(d.svc, d.source)
		d.target.status, d.target.scale, d.target.stability = statusPrimary, 100, steadyState
		d.svc.taskDefinition = d.target.taskDefinition
		d.status, d.finished = sdSuccessful, w.now()
		return
	}
	if r.pending == 0 {
		r.pending = max(min(r.maxTasks-r.old-r.healthy, r.n-r.healthy), 0)
	}
	w.scaleRolling(d)
}

// scaleRolling sets the two task sets' scales to the tasks that serve:
// the old ones, and the new ones that passed their health checks.
func (w *World) scaleRolling(d *svcDeployment) {
	r := d.roll
	d.source.scale = float64(100*r.old) / float64(r.n)
	d.target.scale = float64(100*r.healthy) / float64(r.n)
	if r.healthy > 0 {
		d.target.stability, d.target.healthPolls = steadyState, w.healthyPolls
	}
}

// rollingCounts are the running and pending task counts of the
// deployment's source (old) or target (new) revision.
func (d *svcDeployment) rollingCounts(target bool) (running, pending int) {
	r := d.roll
	switch {
	case d.status == sdSuccessful && target, (d.status == sdRollbackDone || d.status == sdStopped) && !target:
		return r.n, 0
	case d.final():
		return 0, 0
	case target:
		return r.healthy, r.pending
	}
	return r.old, 0
}

// breakerJSON is the deployment circuit breaker as
// DescribeServiceDeployments reports it.
func (r *rollingRun) breakerJSON() obj {
	return obj{"status": r.breaker, "failureCount": r.failed, "threshold": r.threshold}
}

// rollingDeploymentsJSON adds the task counts and the rollout state to the
// PRIMARY (new) and ACTIVE (old) deployments DescribeServices lists while
// a rolling deployment runs: FAILED once the circuit breaker tripped.
func (w *World) rollingDeploymentsJSON(d *svcDeployment, deps []obj) {
	running, pending := d.rollingCounts(true)
	deps[0]["runningCount"], deps[0]["pendingCount"], deps[0]["failedTasks"] = running, pending, d.roll.failed
	if d.status == sdRollbackRunning {
		deps[0]["rolloutState"], deps[0]["rolloutStateReason"] = "FAILED", d.rollback
	}
	if len(deps) > 1 {
		running, _ = d.rollingCounts(false)
		deps[1]["runningCount"], deps[1]["pendingCount"] = running, 0
	}
}
