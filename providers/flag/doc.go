// Package flag rolls a feature flag out the way the other providers roll
// out a service: the candidate's weight is the flag's percentage rollout
// in one environment of a flag service, moved through the plan's steps and
// gates, and put back where it was (0%, or the percentage it had before
// the rollout) when a gate fails.
//
// A flag has no revisions of its own, so the provider names them: the
// stable revision is "<flag>-at-<N>", the flag at the percentage N it had
// when the rollout began (the baseline), and the candidate is the deploy's
// revision (derived from the commit), which reaches 100% on promotion. A
// weight below the baseline leaves the flag at the baseline: ramp never
// takes users the feature was already on for away from it until a
// rollback, which puts the baseline back.
//
// The rollout record lives with the flag in the flag service (Backend),
// written compare-and-set against the record read, and transitions follow
// providers.ApplyStepwise's intent, act, outcome; Status derives the
// revisions from the record and the percentage the flag service reports,
// so every reader reconciles the two. The backends are Unleash (the
// flexible-rollout strategy's rollout parameter, the record in a parameter
// of that strategy, written under a lock Unleash keeps for ramp),
// LaunchDarkly (a semantic patch of the flag's default rule, the record
// in a custom property, compare-and-set by a JSON Patch test) and a
// generic JSON webhook (see Webhook for what it must answer).
package flag
