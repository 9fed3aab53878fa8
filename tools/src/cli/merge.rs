//! `greedy merge SHARD_DIR... --out DIR`: the shards of one `greedy eval` or `greedy diagnose`
//! run (written with `--shard I/N`), given in any order, joined into the run one process would
//! have written: the same files, byte for byte, and the same `--json` output.
//!
//! Every check runs before anything is written: shards of different settings, a missing or
//! duplicated shard, or a file truncated or changed since its shard wrote it are refused with
//! an error naming the directory, the file or the setting, and `--out` is left as it was.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::Args;
use gpu_trainer::diagnose::merge::{FREQUENCY_KIND, KNOWING_KIND};
use gpu_trainer::eval::merge::{KIND as EVAL_KIND, merge_eval};
use gpu_trainer::shard::ShardSet;

use crate::report::files::{EvalFiles, is_eval_file, write_eval_dir};

/// `greedy merge` arguments.
#[derive(Debug, Clone, Args)]
#[command(after_help = MERGE_EXAMPLES)]
pub struct MergeArgs {
    /// The shard directories (each the --out of one `--shard I/N` run), in any order.
    #[arg(required = true, value_name = "SHARD_DIR")]
    pub shards: Vec<PathBuf>,
    /// The merged run's directory (replaced as a whole, only once every check passed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Print what the unsharded command prints with --json instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `greedy merge`; returns what to print.
pub fn run(args: &MergeArgs) -> Result<String> {
    let set = ShardSet::open(&args.shards)?;
    refuse_shard_as_out(&set, &args.out)?;
    let what = if set.kind() == EVAL_KIND { "greedy eval" } else { "greedy diagnose" };
    let ours: fn(&str) -> bool =
        if set.kind() == EVAL_KIND { is_eval_file } else { super::diagnose::is_diagnose_file };
    crate::io::check_run_dir(&args.out, what, ours)?;
    match set.kind() {
        EVAL_KIND => merge_eval_run(&set, args),
        FREQUENCY_KIND => super::diagnose::merge_frequency(&set, &args.out, args.json),
        KNOWING_KIND => super::diagnose::merge_knowing(&set, &args.out, args.json),
        other => bail!(
            "{}: shards of kind {other:?}, which this greedy cannot merge (eval, frequency-bias, knowing-doing)",
            set.shards()[0].dir.display()
        ),
    }
}

/// `--out` must not be one of the shards: replacing it would destroy what is being merged.
fn refuse_shard_as_out(set: &ShardSet, out: &Path) -> Result<()> {
    let Ok(target) = out.canonicalize() else { return Ok(()) };
    for s in set.shards() {
        if s.dir.canonicalize().is_ok_and(|d| d == target) {
            bail!("--out {} is one of the shards being merged: choose another directory", out.display());
        }
    }
    Ok(())
}

fn merge_eval_run(set: &ShardSet, args: &MergeArgs) -> Result<String> {
    let merged = merge_eval(set)?;
    let files = EvalFiles {
        settings: &merged.settings,
        env: &merged.env,
        episodes: merged.episodes,
        jsonl: &merged.jsonl,
        out: &merged.output,
    };
    write_eval_dir(&args.out, &files, None, &mut |_| Ok(()))?;
    if args.json {
        return crate::report::summary_json_lines(&merged.output);
    }
    let mut text = crate::report::summary_table(&merged.output.summaries);
    text.push_str(&format!(
        "\nwrote {}/{{episodes.jsonl, summary.json, regret.png/svg, coverage.png/svg}}\n",
        args.out.display()
    ));
    Ok(text)
}

const MERGE_EXAMPLES: &str = "\
Examples:
  # An evaluation in 3 shards (on three machines, or one after another), then merged
  greedy eval --env mab --arms 10 --agent ucb --agent random --episodes 64 --seed 1 --shard 0/3 --out runs/x.0
  greedy eval --env mab --arms 10 --agent ucb --agent random --episodes 64 --seed 1 --shard 1/3 --out runs/x.1
  greedy eval --env mab --arms 10 --agent ucb --agent random --episodes 64 --seed 1 --shard 2/3 --out runs/x.2
  greedy merge runs/x.2 runs/x.0 runs/x.1 --out runs/x --json

  # A diagnose study the same way
  greedy diagnose frequency-bias --model DIR --contexts 32 --shard 0/2 --out runs/freq.0
  greedy diagnose frequency-bias --model DIR --contexts 32 --shard 1/2 --out runs/freq.1
  greedy merge runs/freq.* --out runs/freq

The merged directory holds exactly what the unsharded command writes (episodes.jsonl,
summary.json and the plots; for diagnose, the study's JSON, contexts.jsonl and the figure, whose
`run` block names the shards' adapters, their seconds added up and this command), and --json
prints what the unsharded command prints with --json. Shards of different settings, a missing or
duplicated shard, or a truncated file are refused before anything is written.";
