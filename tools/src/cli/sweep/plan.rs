//! A sweep file resolved into what runs: each run's command line checked by the command's own
//! parser and validation (before anything runs), its number of episodes or contexts, its
//! shards (tasks, numbered across the whole sweep) and where their files go.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Parser;
use serde_json::{Value, json};

use gpu_trainer::shard::manifest::settings_digest;
use gpu_trainer::shard::{Shard, ShardManifest};
use gpu_trainer::sweep::{self, SweepFile};

use crate::cli::{Cli, Command};

/// One run of the sweep, resolved.
#[derive(Debug, Clone)]
pub struct PlannedRun {
    /// The run's name (its directory under the sweep's `out`).
    pub name: String,
    /// The command line after `greedy`, without `--shard` and `--out`.
    pub argv: Vec<String>,
    /// `eval`, `frequency-bias` or `knowing-doing`.
    pub kind: &'static str,
    /// Episodes (eval) or contexts (diagnose) of the run.
    pub total: usize,
    /// Its shards: the sweep's `shards`, at most `total`.
    pub shards: usize,
    /// The settings its shards record.
    pub settings: Value,
    /// Where the sweep's runs go.
    pub out: PathBuf,
}

/// One shard of one run: what a cluster task runs.
#[derive(Debug, Clone, Copy)]
pub struct Task<'a> {
    /// Its number in the sweep, `0..tasks`.
    pub index: usize,
    /// Its run.
    pub run: &'a PlannedRun,
    /// Which shard.
    pub shard: Shard,
}

/// A resolved sweep.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The file.
    pub file: SweepFile,
    /// Its runs, in grid order.
    pub runs: Vec<PlannedRun>,
}

impl Plan {
    /// Reads `path` and resolves every run; an error names the run and the flag.
    pub fn load(path: &Path) -> Result<Plan> {
        let file = SweepFile::read(path)?;
        let runs = file
            .runs()?
            .into_iter()
            .map(|r| resolve(&file, r).with_context(|| format!("sweep file {}", path.display())))
            .collect::<Result<Vec<_>>>()?;
        Ok(Plan { file, runs })
    }

    /// Every task: each run's shards in turn.
    pub fn tasks(&self) -> Vec<Task<'_>> {
        let mut out = Vec::new();
        for run in &self.runs {
            for i in 0..run.shards {
                let shard = Shard { index: i, count: run.shards };
                out.push(Task { index: out.len(), run, shard });
            }
        }
        out
    }

    /// Task `index`, with an error saying how many there are.
    pub fn task(&self, index: usize) -> Result<Task<'_>> {
        let tasks = self.tasks();
        let n = tasks.len();
        tasks.into_iter().nth(index).with_context(|| {
            format!("task {index}: {} has {n} tasks (0..={})", self.file.path.display(), n.saturating_sub(1))
        })
    }

    /// The plan as JSON (`greedy sweep plan --json`, what `tools/cluster/ray_sweep.py` reads).
    pub fn to_json(&self) -> Value {
        let runs: Vec<Value> = self
            .runs
            .iter()
            .map(|r| {
                json!({
                    "name": r.name, "kind": r.kind, "total": r.total, "shards": r.shards,
                    "dir": r.dir().display().to_string(), "argv": r.argv,
                })
            })
            .collect();
        let tasks: Vec<Value> = self
            .tasks()
            .iter()
            .map(|t| {
                json!({
                    "index": t.index, "run": t.run.name, "shard": t.shard.to_string(),
                    "dir": t.run.shard_dir(t.shard).display().to_string(), "argv": t.run.task_argv(t.shard),
                })
            })
            .collect();
        json!({
            "sweep": self.file.path.display().to_string(),
            "command": self.file.command.to_string(),
            "out": self.file.out.display().to_string(),
            "runs": runs,
            "tasks": tasks,
        })
    }
}

/// Checks one run's command line with the command's own parser and validation.
fn resolve(file: &SweepFile, run: sweep::SweepRun) -> Result<PlannedRun> {
    let mut argv: Vec<String> = file.command.words().iter().map(|w| w.to_string()).collect();
    argv.extend(run.args());
    let cli = Cli::try_parse_from(std::iter::once("greedy".to_string()).chain(argv.iter().cloned()))
        .map_err(|e| anyhow::anyhow!("run {}: {}", run.name, e.to_string().trim_end()))?;
    let (kind, total, settings) = match cli.command {
        Command::Eval(args) => {
            let s = args.settings().with_context(|| format!("run {}", run.name))?;
            (gpu_trainer::eval::merge::KIND, s.episodes, s.to_json())
        }
        Command::Diagnose(args) => {
            crate::cli::diagnose::shard_plan(&args).with_context(|| format!("run {}", run.name))?
        }
        _ => bail!("run {}: not an eval or diagnose command", run.name),
    };
    Ok(PlannedRun {
        name: run.name,
        argv,
        kind,
        total,
        shards: file.shards.min(total),
        settings,
        out: file.out.clone(),
    })
}

impl PlannedRun {
    /// Where the run is merged.
    pub fn dir(&self) -> PathBuf {
        sweep::run_dir(&self.out, &self.name)
    }

    /// Where shard `shard` goes.
    pub fn shard_dir(&self, shard: Shard) -> PathBuf {
        sweep::shard_dir(&self.out, &self.name, shard)
    }

    /// Every shard's directory, in shard order.
    pub fn shard_dirs(&self) -> Vec<PathBuf> {
        (0..self.shards).map(|i| self.shard_dir(Shard { index: i, count: self.shards })).collect()
    }

    /// The command line of shard `shard` (after `greedy`).
    pub fn task_argv(&self, shard: Shard) -> Vec<String> {
        let mut argv = self.argv.clone();
        argv.extend([
            "--shard".into(),
            shard.to_string(),
            "--out".into(),
            self.shard_dir(shard).display().to_string(),
        ]);
        argv
    }

    /// Is shard `shard` written, whole, with this run's settings?
    pub fn shard_done(&self, shard: Shard) -> bool {
        let dir = self.shard_dir(shard);
        let Ok(m) = ShardManifest::read(&dir) else { return false };
        m.kind == self.kind
            && m.shard == shard.index
            && m.shards == shard.count
            && m.settings_digest == settings_digest(&self.settings)
            && m.files.keys().all(|f| m.read_file(&dir, f).is_ok())
    }

    /// Is the merged run in place, with this run's settings?
    pub fn merged_done(&self) -> bool {
        let eval = self.kind == gpu_trainer::eval::merge::KIND;
        let file =
            if eval { "summary.json".to_string() } else { crate::cli::diagnose::study_file(self.kind) };
        let Ok(text) = std::fs::read_to_string(self.dir().join(file)) else { return false };
        let Ok(v) = serde_json::from_str::<Value>(&text) else { return false };
        if eval {
            v["settings"] == self.settings && v.get("shard").is_none()
        } else {
            crate::cli::diagnose::is_study_of(&v, &self.settings)
        }
    }
}
