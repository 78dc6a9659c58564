#!/usr/bin/env bash
# End-to-end test of the GitHub Action (action.yml + the JavaScript shim + the
# ramp binary) under nektos/act in host mode: no Docker, the steps run on this
# machine with its node and go. The workflow it runs:
#
#   1. actions/checkout (act copies this repository into its workspace);
#   2. uses: ./ — a first deploy of the local sample app (v1 becomes stable);
#   3. uses: ./ — a canary to v2 with the local provider; then a step checks
#      the outputs (result, stable, candidate, weight, url, summary);
#   4. uses: ./ — a canary to v3 with long holds, killed mid-rollout by a
#      step timeout: its post step must run `ramp post`, which rolls back;
#   5. uses: ./ — status, then `ramp down` (always).
#
# It passes only if every check holds and the post steps ran: the normal
# one ("nothing to do") and the one after the kill (rolled back to v2).
#
# Usage: scripts/act-e2e.sh            (about 2 minutes; the kill waits 1 minute)
#   RAMP_ACT_SKIP_KILL=1  skip step 4 (a minute shorter)
#   RAMP_ACT_KEEP=1       keep the temporary directory and act's log
#   ACT=/path/to/act      use this act instead of building one
set -euo pipefail
cd "$(dirname "$0")/.."

act_version=v0.2.89 # served by the Go module proxy; verified in host mode
work=$(mktemp -d "${TMPDIR:-/tmp}/ramp-act.XXXXXX")
port=${RAMP_ACT_PORT:-$((20000 + RANDOM % 20000))}
log="$work/act.log"

# Go's caches stay where they are though act gets its own HOME below.
export GOCACHE GOMODCACHE GOPATH
GOCACHE=$(go env GOCACHE)
GOMODCACHE=$(go env GOMODCACHE)
GOPATH=$(go env GOPATH)

cleanup() {
  # Stops the local provider's agent and versions if the workflow did not.
  if [ -x "$work/ramp" ]; then
    "$work/ramp" down --provider local --service acte2e \
      --state-dir "$work/state" --listen "127.0.0.1:$port" >/dev/null 2>&1 || true
  fi
  if [ "${RAMP_ACT_KEEP:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

act=${ACT:-}
if [ -z "$act" ]; then
  bin="${XDG_CACHE_HOME:-$HOME/.cache}/ramp-act/$act_version"
  if [ ! -x "$bin/act" ]; then
    echo "--- building nektos/act $act_version from the Go module proxy"
    GOBIN="$bin" GOFLAGS="" go install "github.com/nektos/act@$act_version"
  fi
  act="$bin/act"
fi

echo "--- building ramp (the sample app's binary) into $work"
go build -o "$work/ramp" .

# act asks which default image to use when it finds no .actrc: give it an
# empty one in a HOME of its own (its action cache lands there too).
mkdir -p "$work/home" "$work/wf"
: >"$work/home/.actrc"

common="          provider: local
          service: acte2e
          state-dir: $work/state
          listen: 127.0.0.1:$port
          github-token: \"\"
          environment: \"\""
deploy="$common
          image: \"'$work/ramp' sample-app\"
          interval: 1s
          max-error-rate: \"0\"
          probe-path: /healthz
          probe-count: \"2\""

kill_step=""
if [ "${RAMP_ACT_SKIP_KILL:-}" != 1 ]; then
  kill_step="
      - name: v3 killed mid-rollout
        id: killed
        timeout-minutes: 1
        continue-on-error: true
        uses: ./
        with:
$deploy
          revision: v3
          env: SAMPLE_VERSION=v3
          steps: 10,50,100
          hold: 10m
          progress-deadline: 20m"
fi

cat >"$work/wf/e2e.yml" <<EOF
name: act-e2e
on: push
jobs:
  e2e:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4

      - name: v1 first deploy
        uses: ./
        with:
$deploy
          revision: v1
          env: SAMPLE_VERSION=v1

      - name: v2 canary
        id: ramp
        uses: ./
        with:
$deploy
          revision: v2
          env: SAMPLE_VERSION=v2
          steps: 50,100
          hold: 1s

      - name: check outputs
        continue-on-error: true # the script reports it; the later steps still run
        env:
          RESULT: \${{ steps.ramp.outputs.result }}
          STABLE: \${{ steps.ramp.outputs.stable }}
          CANDIDATE: \${{ steps.ramp.outputs.candidate }}
          WEIGHT: \${{ steps.ramp.outputs.weight }}
          URL: \${{ steps.ramp.outputs.url }}
          SUMMARY: \${{ steps.ramp.outputs.summary }}
        run: |
          echo "E2E-OUTPUTS result=\$RESULT stable=\$STABLE candidate=\$CANDIDATE weight=\$WEIGHT url=\$URL summary=\$SUMMARY"
          bad=0
          want() { if [ "\$2" != "\$3" ]; then echo "E2E-BAD output \$1 is '\$2', want \$4"; bad=1; fi; }
          want result "\$RESULT" promoted promoted
          want weight "\$WEIGHT" 100 100
          want stable "\$STABLE" v2 v2
          want candidate "\$CANDIDATE" v2 "v2 (the revision rolled out)"
          case "\$URL" in http://127.0.0.1:*) ;; *) echo "E2E-BAD output url is '\$URL'"; bad=1 ;; esac
          case "\$SUMMARY" in promoted*) ;; *) echo "E2E-BAD output summary is '\$SUMMARY'"; bad=1 ;; esac
          if [ \$bad = 0 ]; then echo E2E-OUTPUTS-OK; else exit 1; fi
$kill_step

  # Post steps run when their job ends, so the rollout is looked at, and the
  # local provider stopped, in a job of its own.
  after:
    needs: e2e
    if: always()
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: status
        uses: ./
        with:
$common
          command: status
      - name: down
        if: always()
        uses: ./
        with:
$common
          command: down
EOF

echo "--- act $act_version, host mode (-P ubuntu-latest=-self-hosted), log in $log"
set +e
HOME="$work/home" XDG_CACHE_HOME="$work/home/.cache" "$act" push \
  -W "$work/wf/e2e.yml" -P ubuntu-latest=-self-hosted --action-offline-mode >"$log" 2>&1
rc=$?
set -e
grep -E "E2E-|ramp post:|Run (Main|Post) |Success - |Failure - |::error|::warning|verdict|weight  " "$log" | cut -c1-220 || true

fail=0
check() { # check DESCRIPTION PATTERN
  if grep -qE "$2" "$log"; then echo "ok:   $1"; else echo "FAIL: $1 (no line matching /$2/)"; fail=1; fi
}
echo "--- checks"
if [ $rc -eq 0 ]; then echo "ok:   act exited 0"; else echo "FAIL: act exited $rc"; fail=1; fi
check "outputs set and promoted" "E2E-OUTPUTS-OK"
check "post step ran after a normal end" "ramp post: the main step finished \(exit 0\); nothing to do"
if [ -n "$kill_step" ]; then
  check "post step ran ramp post after the kill" "ramp post: the main step (was killed|ended with).*; running ramp post"
  check "ramp post rolled the killed rollout back (status: weight 0%)" "\[act-e2e/after\].*weight +0% to the candidate"
fi
if [ $fail -ne 0 ]; then
  echo "--- act-e2e FAILED; last 80 lines of $log:"
  tail -80 "$log" | cut -c1-300
  RAMP_ACT_KEEP=1
  exit 1
fi
echo "--- act-e2e passed"
