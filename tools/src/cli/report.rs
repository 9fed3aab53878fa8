//! `greedy report`: several run directories in one Markdown page with plots.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

use crate::report::multi;

/// `greedy report` arguments.
#[derive(Debug, Clone, Args)]
#[command(after_help = REPORT_EXAMPLES)]
pub struct ReportArgs {
    /// Run directories: `greedy eval --out` (summary.json) or `greedy diagnose --out`
    /// (frequency_bias.json, knowing_doing.json).
    #[arg(required = true, value_name = "RUN_DIR")]
    pub runs: Vec<PathBuf>,
    /// Directory for report.md and the combined regret/coverage plots (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Title of the page.
    #[arg(long, default_value = "greedy report")]
    pub title: String,
    /// Replace report.md and the combined plots when --out already has them (an eval run's own
    /// regret/coverage plots too, when --out is that run's directory).
    #[arg(long)]
    pub force: bool,
}

/// Runs `greedy report`; returns what to print (the agents' table and where the page is).
pub fn run(args: &ReportArgs) -> Result<String> {
    let runs = multi::read_runs(&args.runs)?;
    if !args.force
        && let Some(f) = multi::REPORT_FILES.iter().map(|f| args.out.join(f)).find(|p| p.exists())
    {
        bail!(
            "--out {}: {} already exists: pass --force to replace the report files (report.md, regret.png/svg, coverage.png/svg), or choose another --out",
            args.out.display(),
            f.display()
        );
    }
    multi::write_report(&runs, &args.out, &args.title)?;
    let mut s = multi::terminal_summary(&runs);
    let _ =
        writeln!(s, "{}wrote {}", if s.is_empty() { "" } else { "\n" }, args.out.join("report.md").display());
    Ok(s)
}

const REPORT_EXAMPLES: &str = "\
Examples:
  # CoT on/off and try-all side by side, plus the two diagnostics, in one page
  greedy report runs/cot runs/no-cot runs/try-all runs/freq runs/kd --out runs/report --title \"gemma-3-270m\"

Outputs: DIR/report.md (settings of every run, the agents' table, the diagnostics' tables and
figures), DIR/regret.png/svg and DIR/coverage.png/svg (one curve per run and agent).";
