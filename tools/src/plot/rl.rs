//! An RL run's curves over updates ([`write_rl_plots`]): reward, KL, held-out coverage and
//! regret (bandits), held-out return and win rate (tic-tac-toe), the value loss and the value
//! head's explained variance (with a value head), read from the rows of its `log.jsonl`.

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

/// The run's curves over updates (PNG and SVG), those its log has.
pub fn write_rl_plots(out: &Path, rows: &[Value]) -> Result<()> {
    let games = rows.iter().any(|r| r["win_rate"].is_number());
    let plots = [
        ("reward", "reward", false, "mean shaped reward of the rollout", "reward"),
        ("kl", "kl", false, "KL to the reference (token mean)", "kl"),
        ("coverage", "coverage", true, "held-out coverage (greedy decoding)", "eval_coverage"),
        ("regret", "regret", true, "held-out cumulative regret (greedy decoding)", "eval_regret"),
        ("return", "return", true, "held-out return, win rate - loss rate (greedy decoding)", "eval_return"),
        ("win_rate", "win rate", true, "held-out win rate (greedy decoding)", "eval_win_rate"),
        ("value_loss", "value loss", false, "value loss, mean 0.5 (V - return)^2", "value_loss"),
        (
            "explained_variance",
            "explained variance",
            false,
            "value head: explained variance of the returns",
            "explained_variance",
        ),
    ];
    for (key, y, eval, title, file) in plots {
        if !games && (key == "return" || key == "win_rate") {
            continue;
        }
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
