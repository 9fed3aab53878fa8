#!/usr/bin/env bash
# Env steps per second of env-core next to the Python reference (banditbench), in one run on
# this machine: UCB on a fresh 10-arm Gaussian bandit (sigma 1, horizon 50) per episode, single
# thread on both sides. Prints both figures and the ratio.
#
#   bash tools/bench-env.sh            # creates .peers/ (a Python venv with banditbench) if missing
#   PEER_PYTHON=/path/to/python bash tools/bench-env.sh
set -euo pipefail
cd "$(dirname "$0")/.."
peer_script=${PEER_SCRIPT:-../shared/peers/banditbench_steps.py}
py=${PEER_PYTHON:-.peers/bin/python}
if [ ! -x "$py" ]; then
  echo "== creating .peers (banditbench; pydantic upgraded as ../shared/peers/README.md says)" >&2
  python3 -m venv .peers
  .peers/bin/pip install -q banditbench
  .peers/bin/pip install -q -U pydantic
  py=.peers/bin/python
fi

echo "== peer: $peer_script (3 runs of 400 episodes, best kept)" >&2
peer=0
for _ in 1 2 3; do
  s=$("$py" "$peer_script" 400 2>/dev/null | sed -n 's/^steps_per_s=//p')
  [ "${s%.*}" -gt "$peer" ] && peer=${s%.*}
done

echo "== env-core: cargo bench -p greedy-tests --bench env_steps (criterion)" >&2
cargo bench -q -p greedy-tests --bench env_steps -- --warm-up-time 2 --measurement-time 5 env/ >&2
est=target/criterion/env/mab10_gaussian_ucb_episode/new/estimates.json
ours=$(python3 -c "import json,sys; e=json.load(open('$est')); print(int(50/(e['mean']['point_estimate']*1e-9)))")

python3 - "$ours" "$peer" <<'PY'
import sys
ours, peer = int(sys.argv[1]), int(sys.argv[2])
print(f"env-core   steps/s: {ours:>14,}")
print(f"banditbench steps/s: {peer:>13,}")
print(f"ratio: {ours / peer:,.0f}x")
PY
