#!/usr/bin/env bash
# On a GPU machine: does a sharded LLM evaluation equal the unsharded one there, and does
# GREEDY_ADAPTER=pci:<bus id> pick the GPU? (docs/scaling.md, "On a GPU".)
#
# The machine needs no Rust: build here, carry the binary and the Vulkan loader:
#   cargo build --release -p greedy && mkdir -p target/devscale && strip -o target/devscale/greedy target/release/greedy
#   (.gl/*.deb: Debian's libvulkan1, as tools/bench/pack-device.sh downloads it)
#   then, on the GPU machine (carry target/devscale and .gl): bash tools/cluster/gpu-shard-check.sh
set -uo pipefail
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
log() { echo "== $* ($(date +%T))" | tee -a "$OUT/summary.txt"; }
if ! ldconfig -p | grep libvulkan.so.1 >/dev/null; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
if ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1 \
  && [ -e /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
G=${GREEDY:-$PWD/target/devscale/greedy}
M=tools/tests/fixtures/golden_model
nvidia-smi -L | tee -a "$OUT/summary.txt"

log "GREEDY_ADAPTER=pci:<bus id of GPU 0>"
bus=$(nvidia-smi --query-gpu=pci.bus_id --format=csv,noheader -i 0 | head -n 1)
GREEDY_ADAPTER="pci:$bus" timeout 120 "$G" diagnose frequency-bias --model "$M" --arms 3 --contexts 1 --repeats 0 \
  --max-history 2 --json 2>&1 | grep -o '"adapter":"[^"]*"' | tee -a "$OUT/summary.txt"
GREEDY_ADAPTER="pci:0000:ff:1f.7" timeout 120 "$G" diagnose frequency-bias --model "$M" --arms 3 --contexts 1 \
  --repeats 0 --max-history 2 --json 2>&1 | head -n 6 | tee -a "$OUT/summary.txt"

# One LLM evaluation unsharded (16 episodes in one batch: the tiled matmul kernel) and in 4 and
# 16 shards (4 or 1 sequences per batch: the matrix-vector kernel), sampled and greedy.
check() {
  local tag=$1; shift
  local args=(eval --env mab --arms 5 --labels numeric --horizon 10 --agent llm --agent try-all:llm --model "$M"
    --summary --max-new-tokens "${TOKENS:-96}" --episodes "${EPISODES:-16}" --seed 7 "$@")
  log "$tag: unsharded"
  mkdir -p "$OUT/$tag"
  timeout 300 "$G" "${args[@]}" --out "$OUT/$tag/whole" --json >"$OUT/$tag/whole.json" 2>>"$OUT/$tag.err"
  for n in ${SPLITS:-4 16}; do
    log "$tag: $n shards"
    local dirs=()
    for ((i = 0; i < n; i++)); do
      timeout 300 "$G" "${args[@]}" --shard "$i/$n" --out "/tmp/$tag-$n-$i" --json >/dev/null 2>>"$OUT/$tag.err"
      dirs+=("/tmp/$tag-$n-$i")
    done
    "$G" merge "${dirs[@]}" --out "$OUT/$tag/merged$n" --json >"$OUT/$tag/merged$n.json" 2>>"$OUT/$tag.err"
    if [ ! -s "$OUT/$tag/whole/episodes.jsonl" ] || [ ! -s "$OUT/$tag/merged$n/episodes.jsonl" ]; then
      echo "$tag, $n shards: FAILED (see $tag.err)" | tee -a "$OUT/summary.txt"
    elif cmp -s "$OUT/$tag/whole/episodes.jsonl" "$OUT/$tag/merged$n/episodes.jsonl" \
      && cmp -s "$OUT/$tag/whole.json" "$OUT/$tag/merged$n.json"; then
      echo "$tag, $n shards: identical to the unsharded run" | tee -a "$OUT/summary.txt"
    else
      local d
      d=$(diff <(cut -c1-100000 "$OUT/$tag/whole/episodes.jsonl") <(cut -c1-100000 "$OUT/$tag/merged$n/episodes.jsonl") | grep -c '^<')
      echo "$tag, $n shards: $d of $((2 * ${EPISODES:-16})) episode records differ from the unsharded run" | tee -a "$OUT/summary.txt"
    fi
  done
}
check sampled --temperature 1
check greedy --temperature 0
log done
