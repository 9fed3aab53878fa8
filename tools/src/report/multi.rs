//! `greedy report`: several run directories put together in one Markdown page with the settings
//! each used. An eval run (`summary.json`) gives a row per agent (regret, coverage, suffix
//! failure, GreedyFrac, invalid answers) and its curves go into combined coverage and regret
//! plots (one line per run and agent); a `greedy diagnose` run (`frequency_bias.json`,
//! `knowing_doing.json`) gives its table; every run's own figures are linked.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};
use plotters::chart::SeriesLabelPosition;
use serde_json::Value;

use crate::io::write_atomic;
use crate::plot::{Curve, CurvePlot, write_curve_plots};
use crate::report::table::render;

/// One run directory, read.
#[derive(Debug, Clone)]
pub struct RunDir {
    /// Its name in the report (the directory's last component, made unique).
    pub name: String,
    /// Where it is.
    pub path: PathBuf,
    /// What it holds.
    pub kind: RunKind,
}

/// The kinds of run directories.
#[derive(Debug, Clone)]
pub enum RunKind {
    /// `greedy eval`: summary.json.
    Eval(Value),
    /// `greedy diagnose frequency-bias`: frequency_bias.json.
    FrequencyBias(Value),
    /// `greedy diagnose knowing-doing`: knowing_doing.json.
    KnowingDoing(Value),
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

/// Reads the run directories; each must hold a summary.json, frequency_bias.json or
/// knowing_doing.json.
pub fn read_runs(dirs: &[PathBuf]) -> Result<Vec<RunDir>> {
    if dirs.is_empty() {
        bail!("give at least one run directory");
    }
    let mut runs: Vec<RunDir> = Vec::new();
    for dir in dirs {
        let kind = if dir.join("summary.json").is_file() {
            RunKind::Eval(read_json(&dir.join("summary.json"))?)
        } else if dir.join("frequency_bias.json").is_file() {
            RunKind::FrequencyBias(read_json(&dir.join("frequency_bias.json"))?)
        } else if dir.join("knowing_doing.json").is_file() {
            RunKind::KnowingDoing(read_json(&dir.join("knowing_doing.json"))?)
        } else {
            bail!(
                "{}: no summary.json, frequency_bias.json or knowing_doing.json (not a greedy eval or diagnose --out directory)",
                dir.display()
            );
        };
        let base =
            dir.file_name().map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned());
        let mut name = base.clone();
        let mut i = 2;
        while runs.iter().any(|r| r.name == name) {
            name = format!("{base}-{i}");
            i += 1;
        }
        runs.push(RunDir { name, path: dir.clone(), kind });
    }
    Ok(runs)
}

/// `settings` as `key=value` pairs (nested objects flattened with dots), for a table cell.
pub fn flat_settings(v: &Value) -> String {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(&key, x, out);
                }
            }
            Value::Null => {}
            Value::String(s) => {
                out.push(format!("{prefix}={}", crate::cmdline::quote(s).replace('|', "\\|")))
            }
            Value::Array(a) => {
                let items: Vec<String> =
                    a.iter().map(|x| x.as_str().map_or_else(|| x.to_string(), String::from)).collect();
                out.push(format!("{prefix}={}", items.join(",")))
            }
            other => out.push(format!("{prefix}={other}")),
        }
    }
    let mut out = Vec::new();
    walk("", v, &mut out);
    out.join(" ")
}

/// `to` relative to the directory `from` (both made absolute), for Markdown links.
pub fn relative(from: &Path, to: &Path) -> PathBuf {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let (from, to) = (abs(from), abs(to));
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in &b[common..] {
        out.push(c);
    }
    out
}

fn num(v: &Value, digits: usize) -> String {
    v.as_f64().map_or_else(|| "-".into(), |x| format!("{x:.digits$}"))
}

fn pct(v: &Value) -> String {
    v.as_f64().map_or_else(|| "-".into(), |x| format!("{:.1}%", 100.0 * x))
}

/// Escapes `|` for a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// A Markdown table.
fn md_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = format!("| {} |\n|{}\n", header.join(" | "), "---|".repeat(header.len()));
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| cell(c)).collect();
        s.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    s
}

/// The eval rows: one per (run, agent).
fn eval_rows(runs: &[RunDir]) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for r in runs {
        let RunKind::Eval(v) = &r.kind else { continue };
        for a in v["agents"].as_array().into_iter().flatten() {
            let regret = match (a["mean_regret"].as_f64(), a["regret_ci95"].as_f64()) {
                (Some(m), Some(c)) => format!("{m:.2} ± {c:.2}"),
                (Some(m), None) => format!("{m:.2}"),
                _ => "-".into(),
            };
            rows.push(vec![
                r.name.clone(),
                a["agent"].as_str().unwrap_or("?").to_string(),
                a["episodes"].to_string(),
                regret,
                pct(&a["mean_coverage"]),
                num(&a["mean_return"], 2),
                pct(&a["suffix_failure_rate"]),
                num(&a["mean_greedy_frac"], 3),
                pct(&a["invalid_rate"]),
            ]);
        }
    }
    rows
}

/// (mean, half-width) curves with their labels.
fn curves_of<'a>(data: &'a [(Vec<f64>, Vec<f64>)], labels: &'a [String]) -> Vec<Curve<'a>> {
    data.iter().zip(labels).map(|((m, c), l)| Curve { label: l, mean: m, ci95: c }).collect()
}

/// Writes the combined plots of the eval runs' curves into `out`; returns the stems written.
fn combined_plots(runs: &[RunDir], out: &Path) -> Result<Vec<&'static str>> {
    let mut labels = Vec::new();
    let mut regret: Vec<(Vec<f64>, Vec<f64>)> = Vec::new();
    let mut coverage: Vec<(Vec<f64>, Vec<f64>)> = Vec::new();
    let curve = |a: &Value, m: &str, c: &str| -> Option<(Vec<f64>, Vec<f64>)> {
        let f = |k: &str| -> Option<Vec<f64>> {
            a[k].as_array().map(|xs| xs.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
        };
        Some((f(m)?, f(c)?))
    };
    for r in runs {
        let RunKind::Eval(v) = &r.kind else { continue };
        for a in v["agents"].as_array().into_iter().flatten() {
            if let (Some(rc), Some(cc)) = (
                curve(a, "regret_curve", "regret_curve_ci95"),
                curve(a, "coverage_curve", "coverage_curve_ci95"),
            ) {
                labels.push(format!("{}/{}", r.name, a["agent"].as_str().unwrap_or("?")));
                regret.push(rc);
                coverage.push(cc);
            }
        }
    }
    if labels.is_empty() {
        return Ok(Vec::new());
    }
    let plot = CurvePlot {
        title: "Cumulative regret (mean, 95% CI)",
        x_label: "step",
        y_label: "cumulative regret",
        curves: curves_of(&regret, &labels),
        y_range: None,
        bounds: None,
        legend: SeriesLabelPosition::UpperLeft,
    };
    write_curve_plots(&plot, &out.join("regret"))?;
    let plot = CurvePlot {
        title: "Action coverage (mean, 95% CI)",
        x_label: "step",
        y_label: "fraction of arms tried",
        curves: curves_of(&coverage, &labels),
        y_range: Some((0.0, 1.05)),
        bounds: Some((0.0, 1.0)),
        legend: SeriesLabelPosition::LowerRight,
    };
    write_curve_plots(&plot, &out.join("coverage"))?;
    Ok(vec!["regret", "coverage"])
}

/// The files `greedy report` writes into its `--out` (the plots only when eval runs are given).
pub const REPORT_FILES: &[&str] = &["report.md", "regret.png", "regret.svg", "coverage.png", "coverage.svg"];

/// Writes `report.md` (and the combined plots) into `out`; returns the Markdown.
pub fn write_report(runs: &[RunDir], out: &Path, title: &str) -> Result<String> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("--out: cannot create directory {}", out.display()))?;
    let mut md = format!("# {title}\n\n");
    let _ = writeln!(md, "Made by `{}` from {} run directories.\n", crate::cmdline::current(), runs.len());

    md.push_str("## Runs and their settings\n\n");
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let (kind, settings) = match &r.kind {
                RunKind::Eval(v) => ("eval", flat_settings(&v["settings"])),
                RunKind::FrequencyBias(v) | RunKind::KnowingDoing(v) => {
                    let mut s = flat_settings(&v["settings"]);
                    if let Some(m) = v["run"]["model"].as_str() {
                        s = format!("model={m} {s}");
                    }
                    (v["study"].as_str().unwrap_or("diagnose"), s)
                }
            };
            vec![r.name.clone(), kind.to_string(), format!("`{}`", r.path.display()), settings]
        })
        .collect();
    md.push_str(&md_table(&["run", "kind", "directory", "settings"], &rows));

    let eval = eval_rows(runs);
    if !eval.is_empty() {
        md.push_str("\n## Agents\n\n");
        let header = [
            "run",
            "agent",
            "episodes",
            "final regret (95% CI)",
            "coverage",
            "return",
            "suffix fail",
            "GreedyFrac",
            "invalid",
        ];
        md.push_str(&md_table(&header, &eval));
        for stem in combined_plots(runs, out)? {
            let _ = writeln!(md, "\n![{stem}]({stem}.png)\n");
        }
        md.push_str("Each run's own figures:\n\n");
        for r in runs.iter().filter(|r| matches!(r.kind, RunKind::Eval(_))) {
            for stem in ["regret", "coverage"] {
                let png = r.path.join(format!("{stem}.png"));
                if png.is_file() {
                    let _ =
                        writeln!(md, "- {} {stem}: [{stem}.png]({})", r.name, relative(out, &png).display());
                }
            }
        }
    }
    for r in runs {
        match &r.kind {
            RunKind::FrequencyBias(v) => {
                let _ = writeln!(md, "\n## Frequency bias: {}\n", r.name);
                let rows: Vec<Vec<String>> = v["results"]["rows"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|row| {
                        vec![
                            row["repeats"].to_string(),
                            row["contexts"].to_string(),
                            pct(&row["chosen"]["frequent"]),
                            pct(&row["chosen"]["greedy"]),
                            pct(&row["chosen"]["other"]),
                            format!("{} ± {}", num(&row["mean_entropy"], 3), num(&row["entropy_ci95"], 3)),
                            num(&row["mean_target_prob"], 3),
                        ]
                    })
                    .collect();
                md.push_str(&md_table(
                    &["repeats", "contexts", "F_f", "F_g", "F_o", "entropy (nats)", "p(target)"],
                    &rows,
                ));
                let _ = writeln!(
                    md,
                    "\nPearson r(entropy, repeats) = {}.",
                    num(&v["results"]["entropy_repeat_correlation"], 3),
                );
                if let Some(pos) = v["results"]["by_position"].as_object() {
                    let list = |key: &str| {
                        pos.get(key)
                            .and_then(Value::as_array)
                            .map_or_else(String::new, |a| a.iter().map(pct).collect::<Vec<_>>().join(", "))
                    };
                    let _ = writeln!(
                        md,
                        "By position in the label list (1st, 2nd, ...): mean probability {}; chosen {}.",
                        list("mean_prob"),
                        list("chosen")
                    );
                }
                let _ = writeln!(
                    md,
                    "\n![frequency bias]({})",
                    relative(out, &r.path.join("frequency_bias.png")).display()
                );
            }
            RunKind::KnowingDoing(v) => {
                let _ = writeln!(md, "\n## Knowing-doing gap: {}\n", r.name);
                let res = &v["results"];
                let rows: Vec<Vec<String>> = [("rationale correct", 0), ("rationale incorrect", 1)]
                    .iter()
                    .map(|&(name, i)| {
                        let mut row = vec![name.to_string()];
                        row.extend((0..3).map(|c| res["matrix"][i][c].to_string()));
                        row
                    })
                    .collect();
                md.push_str(&md_table(&["", "optimal", "greedy", "other"], &rows));
                let _ = writeln!(
                    md,
                    "\n{} answers, {} without a valid action, {} without UCB values; correct rationales {}, \
                     greedy actions among them {}.\n\n![knowing-doing]({})",
                    res["answers"],
                    res["invalid_actions"],
                    res["missing_values"],
                    pct(&res["correct_share"]),
                    pct(&res["greedy_given_correct"]),
                    relative(out, &r.path.join("knowing_doing.png")).display()
                );
            }
            RunKind::Eval(_) => {}
        }
    }
    write_atomic(&out.join("report.md"), md.as_bytes())?;
    Ok(md)
}

/// The terminal summary of `greedy report`: the eval rows as an aligned table.
pub fn terminal_summary(runs: &[RunDir]) -> String {
    let rows = eval_rows(runs);
    if rows.is_empty() {
        return String::new();
    }
    render(
        &[
            "run",
            "agent",
            "episodes",
            "final regret",
            "coverage",
            "return",
            "suffix fail",
            "GreedyFrac",
            "invalid",
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_flatten_and_paths_relate() {
        let v = json!({"environment": {"env": "mab", "arms": 5}, "agents": ["ucb", "llm"], "llm": null, "seed": 3});
        assert_eq!(flat_settings(&v), "agents=ucb,llm environment.arms=5 environment.env=mab seed=3");
        assert_eq!(
            relative(Path::new("/a/b/report"), Path::new("/a/b/run1/x.png")),
            PathBuf::from("../run1/x.png")
        );
        assert_eq!(relative(Path::new("/a"), Path::new("/a/x.png")), PathBuf::from("x.png"));
        assert_eq!(cell("a|b"), "a\\|b");
    }
}
