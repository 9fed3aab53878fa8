//! Running a sweep's tasks and merges in this process: `greedy sweep run` (all of them, with a
//! progress bar, resuming), `task` (one, for a cluster task), `merge`, and `plan`.

use anyhow::{Context, Result, bail};
use clap::Parser;

use gpu_trainer::progress::Progress;

use super::plan::{Plan, PlannedRun, Task};
use crate::cli::merge::MergeArgs;
use crate::cli::{Cli, run as run_command};

/// Runs `greedy <argv>` here; returns what it prints.
fn execute(argv: &[String]) -> Result<String> {
    let cli = Cli::try_parse_from(std::iter::once("greedy".to_string()).chain(argv.iter().cloned()))
        .map_err(|e| anyhow::anyhow!("{}", e.to_string().trim_end()))?;
    run_command(cli.command)
}

/// Runs task `t`'s shard; `quiet` hides its progress bar and table (`--json`).
fn run_shard(t: &Task, quiet: bool) -> Result<String> {
    let mut argv = t.run.task_argv(t.shard);
    if quiet {
        argv.push("--json".into());
    }
    execute(&argv).with_context(|| format!("task {} (run {}, shard {})", t.index, t.run.name, t.shard))
}

/// Merges `run`'s shards into its directory.
fn merge_run(run: &PlannedRun) -> Result<()> {
    let args = MergeArgs { shards: run.shard_dirs(), out: run.dir(), json: true };
    crate::cli::merge::run(&args).with_context(|| format!("merging run {}", run.name))?;
    Ok(())
}

/// `greedy sweep run`: every task not yet done, then each run's merge, with a progress bar over
/// the shards.
pub fn run_all(plan: &Plan, quiet: bool) -> Result<String> {
    let tasks = plan.tasks();
    let bar = crate::progress::Bar::on_terminal(quiet);
    bar.start(tasks.len() as u64, "shards");
    let (mut ran, mut resumed, mut merged, mut kept) = (0usize, 0usize, 0usize, 0usize);
    let mut lines = Vec::new();
    for run in &plan.runs {
        if run.merged_done() {
            kept += 1;
            bar.inc(run.shards as u64);
            lines.push(format!("  {:<40} already done   {}", run.name, run.dir().display()));
            continue;
        }
        for t in tasks.iter().filter(|t| std::ptr::eq(t.run, run)) {
            bar.message(&format!("{} shard {}", run.name, t.shard));
            if run.shard_done(t.shard) {
                resumed += 1;
            } else {
                run_shard(t, true)?;
                ran += 1;
            }
            bar.inc(1);
        }
        merge_run(run)?;
        merged += 1;
        lines.push(format!("  {:<40} merged         {}", run.name, run.dir().display()));
    }
    bar.finish();
    Ok(format!(
        "sweep {}: {} runs ({merged} merged now, {kept} already done); {ran} shards run, {resumed} found done\n{}\n",
        plan.file.path.display(),
        plan.runs.len(),
        lines.join("\n")
    ))
}

/// `greedy sweep task FILE K`.
pub fn run_task(plan: &Plan, index: usize, force: bool) -> Result<String> {
    let t = plan.task(index)?;
    let head = format!(
        "task {index}: run {} shard {} -> {}\n",
        t.run.name,
        t.shard,
        t.run.shard_dir(t.shard).display()
    );
    if !force && t.run.shard_done(t.shard) {
        return Ok(format!(
            "{head}already done (same settings, files whole): skipped (--force runs it again)\n"
        ));
    }
    Ok(head + &run_shard(&t, false)?)
}

/// `greedy sweep merge FILE`: merges every run whose shards are done; fails, after merging the
/// others, naming the shards still missing.
pub fn merge_all(plan: &Plan) -> Result<String> {
    let tasks = plan.tasks();
    let mut missing = Vec::new();
    let mut lines = Vec::new();
    for run in &plan.runs {
        if run.merged_done() {
            lines.push(format!("  {:<40} already done   {}", run.name, run.dir().display()));
            continue;
        }
        let todo: Vec<String> = tasks
            .iter()
            .filter(|t| std::ptr::eq(t.run, run) && !run.shard_done(t.shard))
            .map(|t| format!("run {} shard {} (task {})", run.name, t.shard, t.index))
            .collect();
        if todo.is_empty() {
            merge_run(run)?;
            lines.push(format!("  {:<40} merged         {}", run.name, run.dir().display()));
        } else {
            missing.extend(todo);
        }
    }
    if !missing.is_empty() {
        bail!(
            "{} shard(s) not done, their runs not merged: {} (run them with `greedy sweep task {} K`)",
            missing.len(),
            missing.join(", "),
            plan.file.path.display()
        );
    }
    Ok(format!("sweep {}: {} runs\n{}\n", plan.file.path.display(), plan.runs.len(), lines.join("\n")))
}

/// `greedy sweep plan FILE [--json]`.
pub fn print_plan(plan: &Plan, json: bool) -> Result<String> {
    if json {
        return Ok(serde_json::to_string_pretty(&plan.to_json())? + "\n");
    }
    let tasks = plan.tasks();
    let mut out = format!(
        "sweep {}: greedy {}, {} runs, {} tasks, into {}\n\n",
        plan.file.path.display(),
        plan.file.command,
        plan.runs.len(),
        tasks.len(),
        plan.file.out.display()
    );
    for run in &plan.runs {
        let unit = if run.kind == gpu_trainer::eval::merge::KIND { "episodes" } else { "contexts" };
        out.push_str(&format!(
            "  {:<40} {:>7} {unit} in {} shard(s) -> {}\n",
            run.name,
            run.total,
            run.shards,
            run.dir().display()
        ));
    }
    out.push_str("\ntasks (`greedy sweep task FILE K` runs task K):\n");
    for t in &tasks {
        out.push_str(&format!(
            "  {:>4}  greedy {}\n",
            t.index,
            crate::cmdline::join(t.run.task_argv(t.shard))
        ));
    }
    Ok(out)
}
