#!/usr/bin/env bash
# Runs one sweep on real cluster engines and checks that what each merges is, byte for byte,
# what `greedy sweep run` writes on this machine (itself checked against unsharded `greedy eval`
# runs by tools/tests/cli_sweep.rs, and here once more):
#   - Ray: a private local Ray cluster (2 CPUs, 2 GPUs declared to Ray, node on 127.0.0.1)
#     started by tools/cluster/ray_sweep.py, one Ray task per shard asking for a GPU;
#   - Slurm: a real single-node Slurm (slurmctld + slurmd, authenticated by a private munged)
#     whose node offers 2 GPUs as generic resources backed by /dev/null and /dev/zero: the job
#     array and the dependent merge job written by `greedy sweep slurm --gpus-per-task 1`,
#     submitted with their submit.sh;
#   - Kubernetes: the manifests of `greedy sweep k8s` parsed as YAML and checked (no cluster).
# Installs what is missing: python3-venv and Ray into the project's .venv (gitignored);
# slurmctld, slurmd, slurm-client and munge through apt-get, as root or with sudo. Everything it
# starts it stops, by pid (also when it fails), and its files live in one temporary directory.
# Usage: bash tools/check-cluster.sh [--keep] (--keep leaves the temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RAY_VERSION=2.60.0
keep=0
for a in "$@"; do
  case "$a" in
    --keep) keep=1 ;;
    *) echo "usage: $0 [--keep]" >&2; exit 2 ;;
  esac
done
t0=$(date +%s)
say() { echo "== $* ($(( $(date +%s) - t0 )) s)"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else
    echo "error: installing packages needs root: run as root, install sudo, or install them yourself: $*" >&2
    exit 1
  fi
}
apt_updated=0
apt_install() {
  [ "$apt_updated" = 1 ] || { as_root apt-get update -qq; apt_updated=1; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

work=$(mktemp -d /tmp/greedy-cluster.XXXXXX)
chmod 755 "$work" # munged wants every directory above its socket searchable
# Stops a daemon this script started (by the pid it wrote) and waits, 10 s at most, until it is
# gone (a zombie waiting for its reaper counts as gone).
stop_pid_file() {
  local f=$1 pid
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do
    [ -e "/proc/$pid" ] || return 0
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && return 0
    sleep 0.1
  done
}
cleanup() {
  local rc=$?
  if [ -n "${SLURM_CONF:-}" ] && command -v scancel >/dev/null 2>&1; then
    scancel --quiet --user "$(id -un)" 2>/dev/null || true
  fi
  for f in "$work"/slurm/slurmd.pid "$work"/slurm/slurmctld.pid "$work"/munge/munged.pid; do
    stop_pid_file "$f"
  done
  if [ "$rc" != 0 ]; then
    echo "check-cluster: FAILED; logs:" >&2
    for f in "$work"/slurm/*.log "$work"/runs/slurm/slurm/logs/*.out; do
      [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
    done
  fi
  if [ "$keep" = 1 ]; then echo "kept $work"; else rm -rf "$work" 2>/dev/null || { sleep 1; rm -rf "$work" || true; }; fi
  exit "$rc"
}
trap cleanup EXIT

say "building greedy"
cargo build -q -p greedy
G=$ROOT/target/debug/greedy

# The sweep: 2 x 2 runs of 2 shards each; the three copies differ only in where they write.
sweep() {
  cat <<EOF
command = "eval"
out = "runs/$1"
shards = 2
[base]
env = "mab"
episodes = 8
horizon = 20
agent = ["ucb", "thompson", "try-all:greedy"]
seed = 11
[grid]
arms = [3, 6]
sigma = [0.1, 1.0]
EOF
}
cd "$work"
for w in local ray slurm k8s; do sweep "$w" > "$w.toml"; done

say "local: greedy sweep run"
"$G" sweep run local.toml --quiet
runs=$(cd runs/local && ls -d */ | tr -d / | grep -vx shards)
[ "$(echo "$runs" | wc -l)" = 4 ] || { echo "expected 4 runs, got: $runs" >&2; exit 1; }

# Every merged run of runs/$1 is byte for byte the local one.
same_as_local() {
  local r
  for r in $runs; do
    diff -r "runs/local/$r" "runs/$1/$r" >/dev/null || { echo "error: $1: run $r differs from the local sweep" >&2; diff -r "runs/local/$r" "runs/$1/$r" | head >&2; exit 1; }
  done
  echo "$1: the 4 merged runs are byte for byte the local sweep's"
}

# and the local sweep is the unsharded runs
say "local sweep against unsharded greedy eval"
for r in $runs; do
  arms=${r#arms-}; arms=${arms%%_*}; sigma=${r##*sigma-}
  "$G" eval --env mab --episodes 8 --horizon 20 --agent ucb --agent thompson --agent try-all:greedy --seed 11 \
    --arms "$arms" --sigma "$sigma" --out "unsharded/$r" >/dev/null
  diff -r "unsharded/$r" "runs/local/$r" >/dev/null || { echo "error: run $r differs from its unsharded greedy eval" >&2; exit 1; }
done
echo "local: the 4 merged runs are byte for byte their unsharded greedy eval"

say "Ray: python venv and ray $RAY_VERSION"
PY=$ROOT/.venv/bin/python
if [ ! -x "$PY" ]; then
  if ! python3 -m venv "$ROOT/.venv" >/dev/null 2>&1; then
    rm -rf "$ROOT/.venv"
    apt_install python3-venv
    python3 -m venv "$ROOT/.venv"
  fi
fi
if ! "$PY" -c "import ray, sys; sys.exit(ray.__version__ != '$RAY_VERSION')" 2>/dev/null; then
  "$PY" -m pip install -q --disable-pip-version-check "ray==$RAY_VERSION"
fi
say "Ray: tools/cluster/ray_sweep.py on a local cluster"
RAY_USAGE_STATS_ENABLED=0 "$PY" "$ROOT/tools/cluster/ray_sweep.py" ray.toml --greedy "$G" \
  --address local --num-cpus 2 --num-gpus 2 --node-ip 127.0.0.1 --temp-dir "$work/ray" | tee ray.log
grep -q "gpu 1 " ray.log || { echo "error: no Ray task ran on GPU 1: the GPU request was not honoured" >&2; exit 1; }
same_as_local ray

say "Slurm: slurmctld, slurmd, munge"
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v slurmd >/dev/null 2>&1 \
  || ! command -v sbatch >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  apt_install slurmctld slurmd slurm-client munge
fi
MUNGED=$(command -v munged || echo /usr/sbin/munged)
mkdir -p munge slurm/state slurm/spool && chmod 700 munge
dd if=/dev/urandom of=munge/munge.key bs=1024 count=1 status=none && chmod 400 munge/munge.key
"$MUNGED" --key-file "$work/munge/munge.key" --socket "$work/munge.socket" --pid-file "$work/munge/munged.pid" \
  --log-file "$work/munge/munged.log" --seed-file "$work/munge/munged.seed"
ports=$("$PY" -c "import socket
s=[socket.socket() for _ in range(2)]
[x.bind(('127.0.0.1', 0)) for x in s]
print(' '.join(str(x.getsockname()[1]) for x in s))")
read -r ctld_port d_port <<<"$ports"
cat > slurm/slurm.conf <<EOF
ClusterName=greedyci
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=$(id -un)
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$work/munge.socket
CredType=cred/munge
StateSaveLocation=$work/slurm/state
SlurmdSpoolDir=$work/slurm/spool
SlurmctldPidFile=$work/slurm/slurmctld.pid
SlurmdPidFile=$work/slurm/slurmd.pid
SlurmctldLogFile=$work/slurm/slurmctld.log
SlurmdLogFile=$work/slurm/slurmd.log
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=1000 Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
# two "GPUs": character devices Slurm can hand out (greedy itself needs none for these runs)
echo "NodeName=localhost Name=gpu File=/dev/null,/dev/zero" > slurm/gres.conf
export SLURM_CONF=$work/slurm/slurm.conf
slurmctld
slurmd -N localhost
for _ in $(seq 60); do
  state=$(sinfo -h -n localhost -o %t 2>/dev/null || true)
  case "$state" in idle*|mix*|alloc*) break ;; esac
  sleep 1
done
case "$state" in idle*|mix*|alloc*) ;; *) echo "error: the Slurm node did not come up (state '$state')" >&2; exit 1 ;; esac
echo "Slurm $(sinfo -V | awk '{print $2}'): node localhost $state, gres $(sinfo -h -n localhost -o %G)"

say "Slurm: greedy sweep slurm, then submit.sh"
"$G" sweep slurm slurm.toml --gpus-per-task 1 --cpus-per-task 1
bash runs/slurm/slurm/submit.sh
read -r array merge < runs/slurm/slurm/jobs.txt
for _ in $(seq 300); do
  [ -z "$(squeue -h -j "$array,$merge" 2>/dev/null)" ] && break
  sleep 1
done
[ -z "$(squeue -h -j "$array,$merge" 2>/dev/null)" ] || { echo "error: Slurm jobs still queued after 300 s" >&2; squeue >&2; exit 1; }
merge_state=$(scontrol show job "$merge" 2>/dev/null | grep -o 'JobState=[A-Z_]*' || echo "JobState=?")
[ "$merge_state" = JobState=COMPLETED ] || { echo "error: the merge job ended $merge_state" >&2; exit 1; }
for g in 0 1; do
  grep -l "GPU $g," runs/slurm/slurm/logs/shard-*.out >/dev/null \
    || { echo "error: no array task was given GPU $g" >&2; exit 1; }
done
echo "Slurm: 8 array tasks on GPUs 0 and 1 (--gres=gpu:1), then the afterok merge job: COMPLETED"
same_as_local slurm

say "Kubernetes: greedy sweep k8s, manifests parsed"
"$G" sweep k8s k8s.toml --image greedy:ci --claim greedy-work --gpus-per-task 1 >/dev/null
"$PY" - <<'EOF'
import yaml
job = yaml.safe_load(open("runs/k8s/k8s/shards.yaml"))
merge = yaml.safe_load(open("runs/k8s/k8s/merge.yaml"))
spec = job["spec"]
assert job["kind"] == "Job" and spec["completionMode"] == "Indexed" and spec["completions"] == 8, spec
c = spec["template"]["spec"]["containers"][0]
assert c["resources"]["limits"]["nvidia.com/gpu"] == 1 and "JOB_COMPLETION_INDEX" in c["command"][2], c
assert merge["spec"]["template"]["spec"]["containers"][0]["command"][1:3] == ["sweep", "merge"], merge
print("k8s: Indexed Job of 8 completions with a GPU each, and the merge Job: valid YAML")
EOF

say "check-cluster: the merged runs of Ray and of a real Slurm (jobs run, not sbatch --test-only) equal the local sweep; all passed"
