#!/usr/bin/env bash
# Checks models/gemma-3-270m (from tools/get-gemma3-270m.sh, run first if the model is missing)
# against HuggingFace transformers loading the same GGUF itself
# (gpu-trainer/tests/fixtures/gguf/gemma3_270m_refs.json, made by tools/gen_gemma3_270m_refs.py):
# identical token ids, merges and vocabulary; every f32 tensor bit-identical to transformers'
# dequantized weights; top-20 logits at 48 positions of 4 prompts within 1e-3.
# The logits run through the GPU model (lavapipe where there is no GPU: a few minutes).
#
#   bash tools/check-gemma3-270m.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f models/gemma-3-270m/config.json ]; then
  bash tools/get-gemma3-270m.sh
fi
start=$(date +%s)
cargo test --release -q -p gpu-trainer --test gguf_gemma3_270m -- --nocapture --test-threads 1
echo "check-gemma3-270m: $(( $(date +%s) - start )) s (build included)"
