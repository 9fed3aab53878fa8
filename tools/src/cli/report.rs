//! Arguments of `greedy report`.

use std::path::PathBuf;

use clap::Args;

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

const REPORT_EXAMPLES: &str = "\
Examples:
  # CoT on/off and try-all side by side, plus the two diagnostics, in one page
  greedy report runs/cot runs/no-cot runs/try-all runs/freq runs/kd --out runs/report --title \"gemma-3-270m\"

Outputs: DIR/report.md (settings of every run, the agents' table, the diagnostics' tables and
figures), DIR/regret.png/svg and DIR/coverage.png/svg (one curve per run and agent).";
