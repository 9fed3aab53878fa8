//! An RL run's curves over updates ([`write_rl_plots`]): reward, KL, held-out coverage and
//! regret, read from the rows of its `log.jsonl`.

use std::path::Path;

use anyhow::Result;
use serde_json::Value;

use super::loss::{Series, write_series_plot};

/// The (update, value) points of `key` in the log's update rows (or eval rows).
fn points(rows: &[Value], key: &str, eval: bool) -> Vec<(f64, f64)> {
    rows.iter()
        .filter(|r| r["eval"].as_bool().unwrap_or(false) == eval)
        .filter_map(|r| Some((r["update"].as_f64()?, r[key].as_f64()?)))
        .collect()
}

/// The run's curves: reward, KL, coverage and regret over updates (PNG and SVG).
pub fn write_rl_plots(out: &Path, rows: &[Value]) -> Result<()> {
    let plots = [
        ("reward", "reward", false, "mean shaped reward of the rollout", "reward"),
        ("kl", "kl", false, "KL to the reference (token mean)", "kl"),
        ("coverage", "coverage", true, "held-out coverage (greedy decoding)", "eval_coverage"),
        ("regret", "regret", true, "held-out cumulative regret (greedy decoding)", "eval_regret"),
    ];
    for (key, y, eval, title, file) in plots {
        let mut pts = points(rows, key, eval);
        if pts.is_empty() {
            continue;
        }
        if eval {
            // update 0 is the start: plot it at x = 1 (the x axis starts at the first update)
            for p in &mut pts {
                p.0 = p.0.max(1.0);
            }
        }
        let series = Series { title, x_desc: "update", y_desc: y, from_zero: false };
        write_series_plot(&series, &pts, &out.join(file))?;
    }
    Ok(())
}
