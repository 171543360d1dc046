#!/usr/bin/env bash
# Installs what is missing, then runs the gate: fmt check, lint, type check, all tests.
# Ends with the summary line "N passed, N failed" (CI reads it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
export NO_COLOR=1
deno fmt --check
deno lint
deno task check
# The app on the Pi's architecture: aarch64 Deno under qemu-user (installs what it needs).
bash scripts/test-aarch64.sh
# The Node bundle on 32-bit Pis: Debian's armel Node (Pi Zero, -cpu arm1176) and armhf Node
# (-cpu cortex-a7) under qemu-user, the runtime self-check and the app's smoke test (~30 s).
bash scripts/test-arm32.sh
# The end-to-end tests against the Node bundle on the host's node (~20 s).
deno task test:node
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
deno task test 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -n 1 || true)
passed=$(sed -E 's/.*\| ([0-9]+) passed.*/\1/' <<<"$summary")
failed=$(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$summary")
if [ -z "$summary" ]; then
  echo "0 passed, 1 failed (no test summary: deno test exited with $status)"
  exit 1
fi
echo "${passed} passed, ${failed} failed"
exit "$status"
