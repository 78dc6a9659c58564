// Package verdict is the comparative judge's verdict benchmark: simulated
// per-window traffic (requests, errors and latency buckets of both versions)
// for healthy canaries, shared incidents, per-version rate noise, error and
// latency regressions, driven through the real engine and gate code under
// testing/synctest, 1000 runs per case. It prints, for the judge and for
// absolute thresholds alone, the false-rollback rate, the share caught
// before 100%, windows to rollback and the blast radius. It runs on demand:
//
//	go test ./bench/verdict -run Verdict -verdict [-verdict.runs 1000] [-verdict.only 'x3']
package verdict
