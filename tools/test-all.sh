#!/usr/bin/env bash
# Runs every test of the workspace: the no_std build of env-core for a Cortex-M4 target, then
# all unit, integration, property and golden tests. Needs the thumbv7em-none-eabihf target and,
# for the GPU tests, a Vulkan driver (.ci/run installs both).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== env-core builds for thumbv7em-none-eabihf (no_std, no allocator)"
cargo build -p env-core --target thumbv7em-none-eabihf

echo "== cargo test --workspace"
cargo test --workspace
