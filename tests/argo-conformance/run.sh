#!/usr/bin/env bash
# Conformance of canary-judge's Argo Rollouts metric plugin against two host generations:
#   v19: argo-rollouts v1.9.2, go-plugin v1.6.3, hashicorp/yamux v0.1.1 (75 s StreamOpenTimeout)
#   v16: argo-rollouts v1.6.6, go-plugin v1.4.10, hashicorp/yamux 2018
# Usage: tests/argo-conformance/run.sh            (builds the release binary if needed)
#        CANARY_JUDGE_BIN=path run.sh              (use that binary)
#        QUICK=1 run.sh                            (skip the 80 s idle-gap case)
#        CONFORMANCE_BIN_IS_REFERENCE=1 ...        (binary is refplugin: protocol checks only)
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
