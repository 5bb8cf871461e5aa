#!/usr/bin/env bash
# Conformance of canary-judge's Argo Rollouts metric plugin against two host generations:
#   v19: argo-rollouts v1.9.2, go-plugin v1.6.3, hashicorp/yamux v0.1.1 (75 s StreamOpenTimeout)
#   v16: argo-rollouts v1.6.6, go-plugin v1.4.10, hashicorp/yamux 2018
# Usage: tests/argo-conformance/run.sh            (builds the release binary if needed)
#        CANARY_JUDGE_BIN=path run.sh              (use that binary)
#        QUICK=1 run.sh                            (skip the 80 s idle-gap case)
#        CONFORMANCE_BIN_IS_REFERENCE=1 ...        (binary is refplugin: protocol checks only)
#        NO_PROMETHEUS=1 run.sh                    (skip starting the test Prometheus)
# Starts a test Prometheus (scripts/prometheus-testenv) for the Prometheus cases and stops it
# on exit; CANARY_JUDGE_PROM_DIR reuses a running one.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [[ -z "${CANARY_JUDGE_BIN:-}" ]]; then
  (cd "$root" && cargo build --release --quiet) || { echo "cargo build --release failed" >&2; exit 2; }
  for cand in "$root/target/x86_64-unknown-linux-gnu/release/canary-judge" "$root/target/release/canary-judge"; do
    if [[ -x "$cand" ]]; then CANARY_JUDGE_BIN="$cand"; break; fi
  done
fi
if [[ -z "${CANARY_JUDGE_BIN:-}" || ! -x "$CANARY_JUDGE_BIN" ]]; then
  echo "no plugin binary found (set CANARY_JUDGE_BIN)" >&2
  exit 2
fi
export CANARY_JUDGE_BIN
if [[ "${CONFORMANCE_BIN_IS_REFERENCE:-}" == 1 ]]; then export CONFORMANCE_REFERENCE=1; fi
echo "plugin binary: $CANARY_JUDGE_BIN"
file "$CANARY_JUDGE_BIN" 2>/dev/null || true

# A real Prometheus with the synthetic scenarios for the Prometheus cases (prometheus_test.go);
# reuse one given by CANARY_JUDGE_PROM_DIR (made by `scripts/prometheus-testenv start DIR`).
# NO_PROMETHEUS=1 skips them (the Go cases skip when CANARY_JUDGE_PROM_URL is unset).
prom_dir=""
if [[ "${NO_PROMETHEUS:-0}" != 1 ]]; then
  testenv="$root/scripts/prometheus-testenv"
  if [[ -n "${CANARY_JUDGE_PROM_DIR:-}" ]]; then
    dir="$CANARY_JUDGE_PROM_DIR"
  else
    "$testenv" install >/dev/null || { echo "prometheus-testenv install failed" >&2; exit 2; }
    prom_dir="$(mktemp -d)/prom"
    trap '"$testenv" stop "$prom_dir" >/dev/null 2>&1 || true' EXIT
    PROMETHEUS_TESTENV_MAX_SECONDS=2400 "$testenv" start "$prom_dir" >/dev/null \
      || { echo "prometheus-testenv start failed" >&2; exit 2; }
    dir="$prom_dir"
  fi
  CANARY_JUDGE_PROM_URL="$(cat "$dir/url")"
  read -r CANARY_JUDGE_PROM_START CANARY_JUDGE_PROM_END < <(python3 -c \
    'import json,sys; d=json.load(open(sys.argv[1])); print(d["analysis_start"], d["analysis_end"])' \
    "$dir/expected.json")
  export CANARY_JUDGE_PROM_URL CANARY_JUDGE_PROM_START CANARY_JUDGE_PROM_END
  echo "test prometheus: $CANARY_JUDGE_PROM_URL (window $CANARY_JUDGE_PROM_START..$CANARY_JUDGE_PROM_END)"
fi

status=0
summary=""
for module in v19 v16; do
  idle=0
  # The idle gap matters only where yamux has the 75 s StreamOpenTimeout (>= v1.7 hosts).
  if [[ "$module" == v19 && "${QUICK:-0}" != 1 ]]; then idle=1; fi
  log="$(mktemp)"
  echo "=== $module (CONFORMANCE_IDLE=$idle)"
  (cd "$here/$module" && CONFORMANCE_IDLE=$idle go test -v -count=1 -timeout 15m ./...) 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  pass=$(grep -c -- '--- PASS: TestConformance/' "$log")
  fail=$(grep -c -- '--- FAIL: TestConformance/' "$log")
  skip=$(grep -c -- '--- SKIP: TestConformance/' "$log")
  summary+="$module: $pass passed, $fail failed, $skip skipped (go test exit $rc)"$'\n'
  if [[ $rc -ne 0 ]]; then
    status=1
    summary+="$(grep -- '--- FAIL: TestConformance/' "$log" | sed 's/^/    /')"$'\n'
  fi
  rm -f "$log"
done
echo "=== summary"
printf '%s' "$summary"
exit $status
