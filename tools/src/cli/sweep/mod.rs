//! `greedy sweep`: a grid of settings (a sweep file, see [`gpu_trainer::sweep`]) expanded into
//! named runs, each split into shards, run here (`run`) or by a cluster engine whose tasks each
//! run one shard (`task`) and whose last job merges (`merge`): Slurm (`slurm` writes the sbatch
//! scripts), Kubernetes (`k8s` writes an Indexed Job), Ray (`tools/cluster/ray_sweep.py` reads
//! `plan --json`).

mod launch;
mod local;
mod plan;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

pub use plan::{Plan, PlannedRun, Task};

/// `greedy sweep` arguments.
#[derive(Debug, Args)]
#[command(after_help = SWEEP_EXAMPLES)]
pub struct SweepArgs {
    /// What to do with the sweep file.
    #[command(subcommand)]
    pub command: SweepCommand,
}

/// The sweep subcommands.
#[derive(Debug, Subcommand)]
pub enum SweepCommand {
    /// Run every shard of every run here, one after another, and merge each run; shards and
    /// runs already done (same settings, files whole) are skipped, so an interrupted sweep
    /// resumes.
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Print the runs, their shards and the command of every task (`--json`: for launchers).
    #[command(after_help = PLAN_EXAMPLES)]
    Plan(PlanArgs),
    /// Run task K of the sweep (shard I of one run): what a cluster task runs. Skips a shard
    /// that is already done unless --force.
    #[command(after_help = TASK_EXAMPLES)]
    Task(TaskArgs),
    /// Merge every run whose shards are all done; fails naming the shards still missing.
    #[command(after_help = MERGE_EXAMPLES)]
    Merge(FileArgs),
    /// Write Slurm scripts: an sbatch job array (one index per shard, a GPU each), the merge job
    /// that depends on it, and submit.sh.
    #[command(after_help = SLURM_EXAMPLES)]
    Slurm(launch::SlurmArgs),
    /// Write Kubernetes manifests: an Indexed Job (one completion index per shard), the merge
    /// Job, and submit.sh.
    #[command(after_help = K8S_EXAMPLES)]
    K8s(launch::K8sArgs),
}

/// The sweep file.
#[derive(Debug, Clone, Args)]
pub struct FileArgs {
    /// The sweep file (TOML; JSON when it ends in .json).
    #[arg(value_name = "SWEEP_FILE")]
    pub file: PathBuf,
}

/// `greedy sweep run` arguments.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub file: FileArgs,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// `greedy sweep plan` arguments.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub file: FileArgs,
    /// Print the plan as one JSON object (runs, tasks and their command lines).
    #[arg(long)]
    pub json: bool,
}

/// `greedy sweep task` arguments.
#[derive(Debug, Clone, Args)]
pub struct TaskArgs {
    #[command(flatten)]
    pub file: FileArgs,
    /// The task's number, 0..tasks (a Slurm array index, a Kubernetes completion index).
    #[arg(value_name = "K")]
    pub index: usize,
    /// Run the shard again even when it is done.
    #[arg(long)]
    pub force: bool,
}

/// Runs `greedy sweep`; returns what to print.
pub fn run(args: &SweepArgs) -> Result<String> {
    match &args.command {
        SweepCommand::Run(a) => local::run_all(&Plan::load(&a.file.file)?, a.quiet),
        SweepCommand::Plan(a) => local::print_plan(&Plan::load(&a.file.file)?, a.json),
        SweepCommand::Task(a) => local::run_task(&Plan::load(&a.file.file)?, a.index, a.force),
        SweepCommand::Merge(a) => local::merge_all(&Plan::load(&a.file)?),
        SweepCommand::Slurm(a) => launch::slurm(a),
        SweepCommand::K8s(a) => launch::k8s(a),
    }
}

const SWEEP_EXAMPLES: &str = "\
A sweep file (TOML):
  command = \"eval\"          # eval | frequency-bias | knowing-doing
  out = \"runs/grid\"         # run R merged into runs/grid/R, shards in runs/grid/shards/R/I-of-N
  shards = 4                # shards per run (at most its episodes or contexts)
  [base]                    # flags of every run (no dashes; a list repeats the flag)
  env = \"mab\"
  episodes = 64
  agent = [\"ucb\", \"greedy\"]
  [grid]                    # one run per combination: arms-5_sigma-0.1, arms-5_sigma-1.0, ...
  arms = [5, 10]
  sigma = [0.1, 1.0]

Examples:
  greedy sweep plan grid.toml                # the runs, their shards, every task's command
  greedy sweep run grid.toml                 # all of it here, resuming what is done
  greedy sweep slurm grid.toml --gpus-per-task 1 && bash runs/grid/slurm/submit.sh
  greedy sweep k8s grid.toml --image registry/greedy:latest --claim greedy-work
  .venv/bin/python tools/cluster/ray_sweep.py grid.toml --address auto

Every launcher runs `greedy sweep task grid.toml K` for each task K and then `greedy sweep merge
grid.toml`; a merged run is byte for byte the run one `greedy eval` (or `greedy diagnose`) writes.";

const RUN_EXAMPLES: &str = "\
Examples:
  greedy sweep run grid.toml
  greedy sweep run grid.toml --quiet     # no progress bar (logs)";

const PLAN_EXAMPLES: &str = "\
Examples:
  greedy sweep plan grid.toml
  greedy sweep plan grid.toml --json     # {\"runs\": [...], \"tasks\": [{\"index\", \"run\", \"shard\", \"argv\"}, ...]}";

const TASK_EXAMPLES: &str = "\
Examples:
  greedy sweep task grid.toml 0                        # the first shard of the first run
  greedy sweep task grid.toml \"$SLURM_ARRAY_TASK_ID\"   # in a Slurm array job
  greedy sweep task grid.toml \"$JOB_COMPLETION_INDEX\"  # in a Kubernetes Indexed Job";

const MERGE_EXAMPLES: &str = "\
Examples:
  greedy sweep merge grid.toml     # after every task: runs/grid/<run> for each run";

const SLURM_EXAMPLES: &str = "\
Examples:
  greedy sweep slurm grid.toml --gpus-per-task 1 --cpus-per-task 8 --partition gpu --time 04:00:00
  bash runs/grid/slurm/submit.sh           # the array, then the merge (afterok)
  greedy sweep slurm grid.toml --gpus-per-task 0 --max-parallel 16 --sbatch-arg=--account=lab

Writes OUT/slurm/{shards.sbatch, merge.sbatch, submit.sh} (OUT: the sweep's out); logs go to
OUT/slurm/logs. The tasks run from this directory (--chdir), which must be on a file system
every node sees, as must the greedy binary.";

const K8S_EXAMPLES: &str = "\
Examples:
  greedy sweep k8s grid.toml --image registry/greedy:latest --claim greedy-work --workdir /work
  sh runs/grid/k8s/submit.sh               # apply the shards' Job, wait, apply the merge Job

Writes OUT/k8s/{shards.yaml, merge.yaml, submit.sh}. The claim is mounted at --workdir, which
plays the role of this directory: the sweep file and its paths are taken relative to it.";
