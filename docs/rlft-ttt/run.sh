#!/usr/bin/env bash
# The tic-tac-toe RLFT experiment of docs/rlft.md ("RLFT on tic-tac-toe"), at this machine's
# scale: a tiny start, RLFT against the random opponent with and without the legal moves in the
# prompt, evaluated before and after next to random, minimax and MCTS on the same games.
#   GREEDY=target/debug/greedy bash docs/rlft-ttt/run.sh runs/rlft-ttt
set -euo pipefail
G=${GREEDY:-greedy}
OUT=${1:-runs/rlft-ttt}
mkdir -p "$OUT"
# 1. the start: the 2-layer, hidden-32 model the RL tests use (behaviour-cloned on a 2-armed
#    bandit: after "ACTION=" it writes a digit; it knows nothing about tic-tac-toe)
[ -f "$OUT/sft/checkpoint/config.json" ] || "$G" train sft --init tiny --hidden 32 --layers 2 --heads 2 \
    --kv-heads 1 --head-dim 16 --ffn 64 --window 16 --context 512 --vocab 384 --data greedy \
    --mode behaviour --arms 2 --horizon 3 --labels numeric --expert-episodes 64 --batch 4 --lr 1e-2 \
    --warmup 5 --steps 40 --seed 3 --quiet --out "$OUT/sft"
# 2. RLFT against the random opponent: 64 agent moves per rollout (waves of 8 games), 2 epochs,
#    batches of 16 (8 updates per rollout), 24 updates, value head (vf_coef 0.1, value lr 10x),
#    GAE gamma 1 lambda 0.95, answers "ACTION=" + one token, 32 held-out games at the start and end
for legal in legal nolegal; do
  flag=(); [ "$legal" = nolegal ] && flag=(--no-legal-moves)
  [ -f "$OUT/$legal/checkpoint-24/trainer_state.json" ] || "$G" train rl --model "$OUT/sft/checkpoint" \
      --env ttt --opponent random "${flag[@]}" --no-cot --answer-prefix ACTION= --max-new-tokens 1 \
      --envs 8 --rollout-steps 64 --batch 16 --updates 24 --lr 1e-2 --warmup 2 --eval-every 0 \
      --eval-episodes 32 --seed 1 --quiet --out "$OUT/$legal" | tee "$OUT/$legal.txt"
done
