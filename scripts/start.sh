#!/usr/bin/env bash
# Installs what is missing, then runs the recorder. Any flags are passed on (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# `deno run` itself, not `deno task start`: Ctrl-C in a terminal signals the whole foreground
# process group, and `deno task` forwards SIGINT to its child as well, so the recorder got two
# and took the second for "stop now" before the clip was closed. Same flags as the start task.
# Room for the HTTP connection cap (src/server/listen.ts sizes it to the open-files limit).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec deno run --allow-all --v8-flags=--max-semi-space-size=1 mod.ts "$@"
