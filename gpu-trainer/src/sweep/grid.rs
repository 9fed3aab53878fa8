//! Expanding a sweep's grid into named runs.

use anyhow::{Result, bail};
use serde_json::Value;

use super::{RESERVED_NAMES, SweepFile};

/// One run of a sweep: its name and its flags (the base's, then the grid point's).
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRun {
    /// `key-value_key-value` over the grid keys (`run` when the grid is empty).
    pub name: String,
    /// Flags without dashes and their values.
    pub params: Vec<(String, Value)>,
}

impl SweepRun {
    /// The command-line arguments of the flags: `--key value`; `true` is the bare flag,
    /// `false` none; a list repeats the flag.
    pub fn args(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (k, v) in &self.params {
            match v {
                Value::Bool(true) => out.push(format!("--{k}")),
                Value::Bool(false) => {}
                Value::Array(items) => {
                    for i in items {
                        out.push(format!("--{k}"));
                        out.push(scalar(i));
                    }
                }
                v => {
                    out.push(format!("--{k}"));
                    out.push(scalar(v));
                }
            }
        }
        out
    }
}

/// A scalar as it is written on the command line.
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

/// A value as it appears in a run name: file-name safe (`[A-Za-z0-9._+-]`, the rest `-`),
/// lists joined by `+`, paths by their last component.
fn name_part(v: &Value) -> String {
    let raw = match v {
        Value::Array(items) => items.iter().map(name_part).collect::<Vec<_>>().join("+"),
        Value::String(s) => {
            let s = s.trim_end_matches('/');
            s.rsplit('/').next().unwrap_or(s).to_string()
        }
        v => v.to_string(),
    };
    raw.chars().map(|c| if c.is_ascii_alphanumeric() || "._+-".contains(c) { c } else { '-' }).collect()
}

impl SweepFile {
    /// Every run: the product of the grid's values, the first key varying slowest; names unique.
    pub fn runs(&self) -> Result<Vec<SweepRun>> {
        let mut points: Vec<Vec<(String, Value)>> = vec![Vec::new()];
        for (k, values) in &self.grid {
            points = points
                .into_iter()
                .flat_map(|p| {
                    values.iter().map(move |v| {
                        let mut q = p.clone();
                        q.push((k.clone(), v.clone()));
                        q
                    })
                })
                .collect();
        }
        let mut runs: Vec<SweepRun> = Vec::with_capacity(points.len());
        for p in points {
            let name = if p.is_empty() {
                "run".to_string()
            } else {
                p.iter().map(|(k, v)| format!("{k}-{}", name_part(v))).collect::<Vec<_>>().join("_")
            };
            if RESERVED_NAMES.contains(&name.as_str()) || name.starts_with('.') {
                bail!(
                    "{}: a run would be named {name:?}, which the sweep keeps for itself",
                    self.path.display()
                );
            }
            if let Some(other) = runs.iter().find(|r| r.name == name) {
                bail!(
                    "{}: two grid points give the run name {name:?} ({} and {}): make the values distinct in their last path component",
                    self.path.display(),
                    describe(&other.params[self.base.len()..]),
                    describe(&p)
                );
            }
            let mut params = self.base.clone();
            params.extend(p);
            runs.push(SweepRun { name, params });
        }
        Ok(runs)
    }
}

fn describe(p: &[(String, Value)]) -> String {
    p.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::SweepCommand;
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;

    fn file(grid: Vec<(&str, Vec<Value>)>) -> SweepFile {
        SweepFile {
            path: PathBuf::from("s.toml"),
            command: SweepCommand::Eval,
            out: PathBuf::from("o"),
            shards: 2,
            base: vec![
                ("env".into(), json!("mab")),
                ("agent".into(), json!(["ucb", "greedy"])),
                ("summary".into(), json!(true)),
            ],
            grid: grid.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        }
    }

    #[test]
    fn the_grid_is_a_product_with_readable_names() {
        let f = file(vec![("arms", vec![json!(5), json!(10)]), ("sigma", vec![json!(0.1), json!(1.0)])]);
        let runs = f.runs().unwrap();
        let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["arms-5_sigma-0.1", "arms-5_sigma-1.0", "arms-10_sigma-0.1", "arms-10_sigma-1.0"]);
        assert_eq!(
            runs[1].args(),
            [
                "--env",
                "mab",
                "--agent",
                "ucb",
                "--agent",
                "greedy",
                "--summary",
                "--arms",
                "5",
                "--sigma",
                "1.0"
            ]
        );
        let one = file(vec![]).runs().unwrap();
        assert_eq!((one.len(), one[0].name.as_str()), (1, "run"));
    }

    #[test]
    fn names_are_safe_and_unique() {
        let f = file(vec![
            ("model", vec![json!("models/a b/"), json!("x/y")]),
            ("agent", vec![json!(["llm"]), json!(["try-all:llm", "ucb"])]),
        ]);
        let names: Vec<String> = f.runs().unwrap().into_iter().map(|r| r.name).collect();
        assert_eq!(names[0], "model-a-b_agent-llm");
        assert_eq!(names[3], "model-y_agent-try-all-llm+ucb");
        let clash = file(vec![("model", vec![json!("a/m"), json!("b/m")])]);
        let e = clash.runs().unwrap_err().to_string();
        assert!(e.contains("model-m") && e.contains("\"a/m\"") && e.contains("\"b/m\""), "{e}");
        let reserved = file(vec![("x", vec![json!(false)])]);
        assert!(reserved.runs().is_ok());
        let b = file(vec![("summary2", vec![json!(false), json!(true)])]).runs().unwrap();
        assert!(
            !b[0].args().contains(&"--summary2".to_string())
                && b[1].args().contains(&"--summary2".to_string())
        );
    }
}
