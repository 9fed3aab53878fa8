#!/usr/bin/env bash
# The RLFT experiment of docs/rlft.md at this machine's scale (2 CPU cores, lavapipe), every
# setting fixed here before the first run and not tuned afterwards:
#   1. a greedy starting policy: a small Gemma2 trained from scratch by thought cloning on the
#      greedy agent's rationales (it writes the greedy reasoning, then ACTION=X);
#   2. RLFT from it on 5-armed Gaussian bandits in three runs: plain, --explore-bonus, --explore try-all;
#   3. every model (start and the three ends) evaluated on the same held-out bandits next to UCB,
#      greedy and random, and one report;
#   4. the thinking-budget ablation at G = 16, 32, 64 (plain RLFT).
# Usage: docs/rlft/run.sh [OUT]   (default runs/rlft; GREEDY=path/to/greedy to use a built binary)
# Every step resumes: run the same command again after a kill.
set -euo pipefail
OUT=${1:-runs/rlft}
GREEDY=${GREEDY:-"cargo run --release -q -p greedy --"}
g() { $GREEDY "$@"; }
mkdir -p "$OUT"

# The bandits (SFT data, RL training pool, evaluation): 5 arms, N(mu, 1), mu ~ U(0, 1), arms
# numbered 0..4, 10 steps, the per-arm summary in the prompt.
BANDIT=(--arms 5 --sigma 1 --labels numeric --horizon 10 --summary)

# 1. The greedy start (the demo's model shape and SFT recipe, on the greedy expert).
if [ ! -f "$OUT/sft/checkpoint/model.safetensors" ]; then
  RESUME=(); [ -d "$OUT/sft" ] && RESUME=(--resume)
  g train sft --init tiny --hidden 96 --layers 2 --heads 2 --kv-heads 1 --head-dim 48 --ffn 256 \
    --window 64 --context 512 --vocab 1024 --data greedy --mode thought "${BANDIT[@]}" \
    --expert-episodes 2048 --steps 300 --batch 4 --lr 5e-3 --warmup 30 --seed 1 \
    --save-every 30 "${RESUME[@]}" --out "$OUT/sft"
fi
START="$OUT/sft/checkpoint"

# 2. RLFT: 8 parallel bandits x 10 steps = 80 samples per rollout, 16 per update (5 updates
# per rollout, 1 epoch), 40 updates; AdaFactor, lr 3e-3 (10 warm-up updates, cosine to 3e-5),
# clip 1, eps 0.2, beta 0.05 (k3), G 64, temperature 1; evaluation every 10 updates on 32
# held-out bandits, greedy decoding.
RL=(--model "$START" --env mab "${BANDIT[@]}" --envs 8 --batch 16 --updates 40 --lr 3e-3
    --warmup 10 --min-lr 3e-5 --max-new-tokens 64 --eval-every 10 --eval-episodes 32 --seed 1 --quiet)
rl() { # NAME FLAGS...
  local name=$1; shift
  local resume=(); [ -f "$OUT/$name/settings.json" ] && resume=(--resume)
  g train rl "${RL[@]}" "$@" "${resume[@]}" --out "$OUT/$name"
}
rl rl-plain
rl rl-bonus --explore-bonus
rl rl-tryall --explore try-all

# 3. Before and after on the same 64 held-out bandits (the evaluation seed differs from the
# training pool's), greedy decoding.
EVAL=(--env mab --dist gaussian "${BANDIT[@]}" --episodes 64 --seed 7 --max-new-tokens 64 --temperature 0 --cot)
last() { ls -d "$OUT/$1"/checkpoint-* | sort -t- -k2 -n | tail -1; }
ev() { # NAME MODEL [AGENTS...]
  local name=$1 model=$2; shift 2
  [ -f "$OUT/eval/$name/summary.json" ] || g eval "${EVAL[@]}" --agent llm "$@" --model "$model" --out "$OUT/eval/$name"
}
ev start "$START" --agent ucb --agent greedy --agent random
ev plain "$(last rl-plain)"
ev bonus "$(last rl-bonus)"
ev tryall "$(last rl-tryall)"
g report "$OUT/eval/start" "$OUT/eval/plain" "$OUT/eval/bonus" "$OUT/eval/tryall" \
  --out "$OUT/report" --title "RLFT from a greedy start (5 arms, horizon 10)" --force

# 4. The thinking-budget ablation (plain RLFT) at G = 16, 32, 64.
RESUME=(); [ -d "$OUT/ablation" ] && RESUME=(--resume)
RL_NO_G=()
skip=0
for a in "${RL[@]}"; do
  if [ "$skip" = 1 ]; then skip=0; continue; fi
  if [ "$a" = --max-new-tokens ]; then skip=1; continue; fi
  RL_NO_G+=("$a")
done
g train rl "${RL_NO_G[@]}" --budget-ablation 16,32,64 "${RESUME[@]}" --out "$OUT/ablation"
