#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine: installs what is missing (tools/setup.sh
# --tests: a Vulkan driver for the GPU tests, the thumbv7em-none-eabihf target), builds env-core
# for a Cortex-M4 (no_std, no allocator), runs env-core's C ABI and Cortex-M checks
# (tools/check-firmware.sh installs its own QEMU, cbindgen and targets), runs a sharded sweep on
# a local Ray cluster and a single-node Slurm (tools/check-cluster.sh installs Ray into .venv and
# Slurm with munge through apt-get), then all unit, integration, property, golden, CLI and GPU
# tests.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/setup.sh --tests

echo "== env-core builds for thumbv7em-none-eabihf (no_std, no allocator)"
cargo build -p env-core --target thumbv7em-none-eabihf

echo "== env-core in firmware: the C ABI, the C example, the Cortex-M goldens in QEMU (tools/check-firmware.sh)"
bash tools/check-firmware.sh

echo "== sweeps on real cluster engines: Ray and a single-node Slurm (tools/check-cluster.sh installs and stops its own)"
bash tools/check-cluster.sh

echo "== cargo test --workspace"
cargo test --workspace
