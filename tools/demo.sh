#!/usr/bin/env bash
# The main job on a fresh machine: installs a Vulkan driver if there is none (tools/setup.sh:
# Mesa's software driver lavapipe, through apt-get), then builds and runs `greedy demo` with the
# arguments given (default: --out runs/demo). A killed or failed demo resumes when run again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
exec cargo run --release -p greedy -- demo "$@"
