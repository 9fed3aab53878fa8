#!/usr/bin/env python3
"""Run a greedy sweep on a Ray cluster: one Ray task per shard, then the merge.

    python tools/cluster/ray_sweep.py SWEEP_FILE [--address auto] [--greedy PATH]

Reads the sweep's tasks from `greedy sweep plan SWEEP_FILE --json`, submits one Ray task per
shard, each of which runs `greedy sweep task SWEEP_FILE K` in this directory, asking Ray for
`--gpus-per-task` GPUs (1 by default) when the cluster has GPUs and for `--cpus-per-task` CPUs
otherwise, waits for all of them (a failed task is tried again up to `--retries` times; a shard
already done is skipped by greedy itself, so a rerun of this script resumes), and finally runs
`greedy sweep merge SWEEP_FILE` here. Nothing is scheduled by greedy: Ray places the tasks.

Every node must see this directory and the greedy binary at the same paths (a shared file
system), as the merged runs are written under the sweep's `out`. On a node with NVIDIA GPUs the
task's GPU is passed to greedy as GREEDY_ADAPTER=pci:<bus id> (nvidia-smi), so that the Vulkan
adapter greedy opens is the GPU Ray assigned, whatever order Vulkan lists them in.

Without --address, Ray's own rule applies (RAY_ADDRESS, else a cluster started on this machine
with `ray start`, else a new local one); `--address local --num-cpus 2 --num-gpus 2` starts a
private local cluster that ends with this script.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time

import ray


def find_greedy(given):
    """The greedy binary: --greedy, $GREEDY, greedy on PATH, or this checkout's build."""
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    candidates = [given, os.environ.get("GREEDY"), shutil.which("greedy"),
                  os.path.join(root, "target", "release", "greedy"),
                  os.path.join(root, "target", "debug", "greedy")]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.abspath(c)
    sys.exit("error: no greedy binary: pass --greedy PATH or build it (cargo build --release -p greedy)")


def plan(greedy, sweep):
    """`greedy sweep plan SWEEP --json`: the runs and the tasks."""
    p = subprocess.run([greedy, "sweep", "plan", sweep, "--json"], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(p.stderr.strip() or f"greedy sweep plan {sweep} failed")
    return json.loads(p.stdout)


def adapter_for(gpu_id):
    """GREEDY_ADAPTER for the GPU Ray assigned: its PCI bus id, or None without nvidia-smi."""
    if shutil.which("nvidia-smi") is None:
        return None
    q = subprocess.run(["nvidia-smi", "--query-gpu=pci.bus_id", "--format=csv,noheader", "-i", str(gpu_id)],
                       capture_output=True, text=True)
    bus = q.stdout.strip().splitlines()[0].strip() if q.returncode == 0 and q.stdout.strip() else ""
    return f"pci:{bus}" if bus else None


@ray.remote
def run_task(greedy, sweep, index, cwd):
    """Runs `greedy sweep task SWEEP INDEX` in `cwd` on the GPU (if any) Ray gave this task."""
    env = dict(os.environ)
    gpus = [str(g) for g in ray.get_gpu_ids()]
    if gpus and not env.get("GREEDY_ADAPTER"):
        adapter = adapter_for(gpus[0])
        if adapter:
            env["GREEDY_ADAPTER"] = adapter
    start = time.time()
    p = subprocess.run([greedy, "sweep", "task", sweep, str(index)], cwd=cwd, env=env,
                       capture_output=True, text=True)
    return {"index": index, "rc": p.returncode, "host": socket.gethostname(), "gpus": gpus,
            "adapter": env.get("GREEDY_ADAPTER", "default"), "seconds": time.time() - start,
            "stdout": p.stdout[-4000:], "stderr": p.stderr[-4000:]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Example:\n  python tools/cluster/ray_sweep.py grid.toml --address auto")
    ap.add_argument("sweep", help="the sweep file (TOML or JSON)")
    ap.add_argument("--address", default=None, help="Ray cluster address ('auto', 'local', host:port)")
    ap.add_argument("--greedy", default=None, help="the greedy binary (same path on every node)")
    ap.add_argument("--gpus-per-task", type=float, default=1, help="GPUs per shard when the cluster has GPUs")
    ap.add_argument("--cpus-per-task", type=float, default=1, help="CPUs per shard")
    ap.add_argument("--retries", type=int, default=1, help="tries again of a failed shard")
    ap.add_argument("--num-cpus", type=int, default=None, help="with --address local: the cluster's CPUs")
    ap.add_argument("--num-gpus", type=int, default=None, help="with --address local: the cluster's GPUs")
    ap.add_argument("--node-ip", default=None, help="with --address local: the node address (e.g. 127.0.0.1)")
    ap.add_argument("--temp-dir", default=None, help="with --address local: Ray's session files (default /tmp/ray)")
    args = ap.parse_args()

    greedy = find_greedy(args.greedy)
    cwd = os.getcwd()
    sweep = os.path.abspath(args.sweep)
    tasks = plan(greedy, sweep)["tasks"]
    init = {"address": args.address, "log_to_driver": False}
    if args.address == "local":
        init.update(num_cpus=args.num_cpus, num_gpus=args.num_gpus, include_dashboard=False)
        if args.node_ip:
            init["_node_ip_address"] = args.node_ip
        if args.temp_dir:
            init["_temp_dir"] = os.path.abspath(args.temp_dir)
    ray.init(**init)
    gpus = ray.cluster_resources().get("GPU", 0)
    if args.gpus_per_task > 0 and gpus >= args.gpus_per_task:
        options = {"num_gpus": args.gpus_per_task, "num_cpus": args.cpus_per_task}
        what = f"{args.gpus_per_task:g} GPU each ({gpus:g} in the cluster)"
    else:
        options = {"num_gpus": 0, "num_cpus": args.cpus_per_task}
        what = f"{args.cpus_per_task:g} CPU each (no GPU in the cluster)"
    print(f"ray_sweep: {len(tasks)} shard tasks of {args.sweep}, {what}", flush=True)

    tries = {t["index"]: 0 for t in tasks}
    pending = {run_task.options(**options).remote(greedy, sweep, t["index"], cwd): t for t in tasks}
    failed, done = [], 0
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        ref = ready[0]
        task = pending.pop(ref)
        r = ray.get(ref)
        if r["rc"] != 0 and tries[task["index"]] < args.retries:
            tries[task["index"]] += 1
            print(f"  task {task['index']} ({task['run']} {task['shard']}) failed on {r['host']}: trying again",
                  flush=True)
            pending[run_task.options(**options).remote(greedy, sweep, task["index"], cwd)] = task
            continue
        done += 1
        state = "ok" if r["rc"] == 0 else f"FAILED (exit {r['rc']})"
        print(f"  [{done}/{len(tasks)}] task {task['index']}: {task['run']} shard {task['shard']} on {r['host']}"
              f" gpu {','.join(r['gpus']) or '-'} adapter {r['adapter']}, {r['seconds']:.1f} s: {state}", flush=True)
        if r["rc"] != 0:
            failed.append((task, r))
    ray.shutdown()
    if failed:
        for task, r in failed:
            print(f"\n== task {task['index']} ({task['run']} shard {task['shard']}) stderr:\n{r['stderr']}",
                  file=sys.stderr)
        sys.exit(f"error: {len(failed)} of {len(tasks)} shard tasks failed: nothing merged")
    merge = subprocess.run([greedy, "sweep", "merge", sweep], cwd=cwd)
    sys.exit(merge.returncode)


if __name__ == "__main__":
    main()
