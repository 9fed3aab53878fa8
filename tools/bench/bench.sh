#!/usr/bin/env bash
# Inference, training and environment benchmarks next to their Python peers, in one run each.
# Usage: tools/bench/bench.sh MODEL_DIR [PYTHON_WITH_TORCH] [PYTHON_WITH_BANDITBENCH]
# (peers: ../shared/peers/*.py and tools/bench/hf_train_bench.py; see ../shared/peers/README.md
# for their venv)
set -euo pipefail
cd "$(dirname "$0")/../.."
model=${1:?model dir}
py=${2:-python3}
bb=${3:-$py}
cargo build -q --release -p greedy
./target/release/greedy bench --model "$model" --prompt-len 128 --new-tokens 32 --peer "$py"
./target/release/greedy bench --train --model "$model" --seq-len 128 --batch 1 --steps 3 --peer "$py"
./target/release/greedy bench --env --peer "$bb"
