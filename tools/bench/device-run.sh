#!/usr/bin/env bash
# What one call on a lent GPU machine runs (the device tool of this workplace; see docs/gpu.md):
# the GPU test suites of gpu-trainer, the measured ceilings (tools/bench/torch_peaks.py), and
# `greedy bench` next to PyTorch (inference, training, one RL update, matmul) on a random 35.7M
# Gemma2 made there.
#
# The machine has no Rust toolchain and no network: the binaries are built here and carried as
# .dev/bins.tar.xz (greedy, the adapters example, the gpu-trainer test binaries, stripped), the
# Vulkan loader as .gl/*.deb, the peers as .dev/peers/*.py. Results go to $OUT (or ./out).
#   tools/bench/pack-device.sh && device run: bash tools/bench/device-run.sh   (carry .gl .dev)
set -uo pipefail
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
log() { echo "== $* ($(date +%T))" | tee -a "$OUT/summary.txt"; }
if ! ldconfig -p | grep libvulkan.so.1 >/dev/null; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
if ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
# the test binaries find their fixtures under the path they were built in
mkdir -p /work && { [ -e /work/main ] || ln -s "$PWD" /work/main; }
B=/tmp/greedy-bins
mkdir -p $B && tar xJf .dev/bins.tar.xz -C $B
export RUST_BACKTRACE=1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.limit --format=csv | tee -a "$OUT/summary.txt"
log adapters
timeout 60 $B/adapters 2>&1 | tee -a "$OUT/summary.txt"

log "GPU tests (gpu-trainer)"
for t in $B/t/*; do
  name=$(basename "$t")
  start=$(date +%s%N)
  timeout 240 "$t" --test-threads 4 >"$OUT/test_$name.log" 2>&1
  rc=$?
  res=$(grep -E '^test result' "$OUT/test_$name.log" | tail -1)
  printf '%-28s rc=%s %6d ms %s\n' "$name" "$rc" "$(( ($(date +%s%N) - start) / 1000000 ))" "$res" | tee -a "$OUT/summary.txt"
done
tar czf "$OUT/test_logs.tgz" -C "$OUT" $(cd "$OUT" && ls test_*.log) && rm -f "$OUT"/test_*.log

log "ceilings (PyTorch)"
timeout 120 python3 tools/bench/torch_peaks.py 2>&1 | tail -3 | tee -a "$OUT/summary.txt"

log "random Gemma2 35.7M"
M=/tmp/gemma2_random_512
timeout 120 python3 tools/bench/make_random_gemma2.py $M 2>&1 | tail -1 | tee -a "$OUT/summary.txt"
G=$B/greedy
P=.dev/peers/hf_generate_bench.py
run() {
  local tag=$1; shift
  log "$tag: greedy $*"
  timeout 300 "$G" "$@" --json >/tmp/run.json 2>/tmp/run.err
  local rc=$?
  echo "{\"tag\": \"$tag\", \"rc\": $rc, \"report\": $([ -s /tmp/run.json ] && cat /tmp/run.json || echo null)}" >>"$OUT/bench.jsonl"
  echo "rc=$rc $(head -c 1500 /tmp/run.json)" | tee -a "$OUT/summary.txt"
  { echo "== $tag"; cat /tmp/run.err; } >>"$OUT/bench.err"
  tail -3 /tmp/run.err | tee -a "$OUT/summary.txt"
}
run mm_default bench --matmul-only
run mm_4096_f32 bench --matmul-only --matmul 4096,4096,4096
run mm_4096_bf16 bench --matmul-only --matmul 4096,4096,4096 --dtype bf16
run infer_b1 bench --model $M --prompt-len 128 --new-tokens 32 --peer python3 --peer-script $P
run infer_b1_bf16 bench --model $M --prompt-len 128 --new-tokens 32 --dtype bf16 --peer python3 --peer-script $P
run infer_b16 bench --model $M --prompt-len 128 --new-tokens 64 --batch 16 --peer python3 --peer-script $P
run train_b1 bench --train --model $M --seq-len 128 --batch 1 --steps 5 --peer python3
run train_b8 bench --train --model $M --seq-len 512 --batch 8 --steps 5 --peer python3
run train_b8_af bench --train --model $M --seq-len 512 --batch 8 --steps 5 --optimizer adafactor --peer python3
run rl_b8 bench --rl --model $M --batch 8 --prompt-len 128 --new-tokens 64 --steps 3 --peer python3
log done
