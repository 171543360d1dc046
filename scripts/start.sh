#!/usr/bin/env bash
# Installs what is missing, then runs the recorder. Any flags are passed on (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec deno task start "$@"
