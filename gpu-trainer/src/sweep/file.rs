//! Reading a sweep file (TOML, or JSON by extension) into a checked [`SweepFile`].

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::Value;

use crate::shard::MAX_SHARDS;

/// Which command every run of a sweep is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SweepCommand {
    /// `greedy eval`.
    Eval,
    /// `greedy diagnose frequency-bias`.
    FrequencyBias,
    /// `greedy diagnose knowing-doing`.
    KnowingDoing,
}

impl SweepCommand {
    /// The words of the command line (`["eval"]`, `["diagnose", "frequency-bias"]`).
    pub fn words(&self) -> &'static [&'static str] {
        match self {
            SweepCommand::Eval => &["eval"],
            SweepCommand::FrequencyBias => &["diagnose", "frequency-bias"],
            SweepCommand::KnowingDoing => &["diagnose", "knowing-doing"],
        }
    }
}

impl fmt::Display for SweepCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.words().join(" ").as_str())
    }
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    command: SweepCommand,
    out: PathBuf,
    #[serde(default = "one")]
    shards: usize,
    #[serde(default)]
    base: Ordered,
    #[serde(default)]
    grid: Ordered,
}

/// A table's entries in file order.
#[derive(Debug, Default)]
struct Ordered(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Ordered, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table of flags")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    out.push(entry);
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

fn one() -> usize {
    1
}

/// A checked sweep file.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepFile {
    /// The file it was read from.
    pub path: PathBuf,
    /// What every run is.
    pub command: SweepCommand,
    /// Where the runs and their shards go.
    pub out: PathBuf,
    /// Shards per run, at most.
    pub shards: usize,
    /// Flags of every run, in file order (keys without dashes, `_` read as `-`).
    pub base: Vec<(String, Value)>,
    /// The grid: each key's values, in file order.
    pub grid: Vec<(String, Vec<Value>)>,
}

/// Flags a sweep sets itself.
const RESERVED: &[&str] = &["out", "shard", "json", "config"];

impl SweepFile {
    /// Reads and checks `path`. Errors name the file and the key.
    pub fn read(path: &Path) -> Result<SweepFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read sweep file {}", path.display()))?;
        let raw: Raw = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text)
                .with_context(|| format!("{}: not a valid sweep file", path.display()))?
        } else {
            toml::from_str(&text).with_context(|| format!("{}: not a valid sweep file", path.display()))?
        };
        SweepFile::check(path, raw)
    }

    fn check(path: &Path, raw: Raw) -> Result<SweepFile> {
        let at = path.display();
        if raw.shards == 0 || raw.shards > MAX_SHARDS {
            bail!("{at}: shards = {}: allowed 1..={MAX_SHARDS}", raw.shards);
        }
        if raw.out.as_os_str().is_empty() {
            bail!("{at}: out is empty: name the directory of the runs");
        }
        let key = |k: &str, table: &str| -> Result<String> {
            let flag = k.trim().trim_start_matches("--").replace('_', "-");
            if flag.is_empty() || !flag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                bail!("{at}: [{table}] key {k:?} is not a flag name");
            }
            if RESERVED.contains(&flag.as_str()) {
                bail!(
                    "{at}: [{table}] {k}: the sweep sets --{flag} itself (runs go to out/<run>, shards to out/shards/<run>)"
                );
            }
            Ok(flag)
        };
        let mut base = Vec::with_capacity(raw.base.0.len());
        for (k, v) in raw.base.0 {
            check_value(&v).with_context(|| format!("{at}: [base] {k}"))?;
            base.push((key(&k, "base")?, v));
        }
        let mut grid: Vec<(String, Vec<Value>)> = Vec::with_capacity(raw.grid.0.len());
        for (k, v) in raw.grid.0 {
            let flag = key(&k, "grid")?;
            let Value::Array(values) = v else {
                bail!("{at}: [grid] {k} = {v}: a grid key takes a list of values, e.g. {k} = [1, 2]");
            };
            if values.is_empty() {
                bail!("{at}: [grid] {k} is an empty list: no run would be left");
            }
            for v in &values {
                check_value(v).with_context(|| format!("{at}: [grid] {k}"))?;
            }
            if base.iter().any(|(b, _)| *b == flag) {
                bail!("{at}: {k} is both in [base] and in [grid]");
            }
            if grid.iter().any(|(g, _)| *g == flag) {
                bail!("{at}: [grid] {k} is given twice");
            }
            grid.push((flag, values));
        }
        for (i, (b, _)) in base.iter().enumerate() {
            if base[..i].iter().any(|(x, _)| x == b) {
                bail!("{at}: [base] {b} is given twice");
            }
        }
        Ok(SweepFile {
            path: path.to_path_buf(),
            command: raw.command,
            out: raw.out,
            shards: raw.shards,
            base,
            grid,
        })
    }
}

/// A flag's value: a string, number or boolean, or a list of strings and numbers for a
/// repeated flag.
fn check_value(v: &Value) -> Result<()> {
    match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(()),
        Value::Array(items) if items.iter().all(|i| matches!(i, Value::String(_) | Value::Number(_))) => {
            Ok(())
        }
        Value::Array(_) => bail!("a list of lists or tables is not a flag value"),
        _ => bail!("{v} is not a flag value (a string, number, boolean or list)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(name: &str, text: &str) -> Result<SweepFile> {
        let d = tempfile::Builder::new().prefix("greedy-sweepfile-").tempdir().unwrap();
        let p = d.path().join(name);
        std::fs::write(&p, text).unwrap();
        SweepFile::read(&p)
    }

    #[test]
    fn reads_toml_and_json_in_file_order() {
        let f = read(
            "s.toml",
            "command = \"eval\"\nout = \"runs/s\"\nshards = 3\n[base]\nenv = \"mab\"\nmax_new_tokens = 8\nagent = [\"ucb\", \"greedy\"]\n[grid]\nsigma = [0.1, 1.0]\narms = [5, 10]\n",
        )
        .unwrap();
        assert_eq!(f.command, SweepCommand::Eval);
        assert_eq!((f.out.to_str().unwrap(), f.shards), ("runs/s", 3));
        assert_eq!(
            f.base.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["env", "max-new-tokens", "agent"]
        );
        assert_eq!(f.grid.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["sigma", "arms"]);
        let j = read("s.json", r#"{"command": "knowing-doing", "out": "o", "grid": {"arms": [3]}}"#).unwrap();
        assert_eq!((j.command, j.shards), (SweepCommand::KnowingDoing, 1));
        assert_eq!(j.command.to_string(), "diagnose knowing-doing");
    }

    #[test]
    fn errors_name_the_file_and_key() {
        let e = |text: &str| format!("{:#}", read("bad.toml", text).unwrap_err());
        let head = "command = \"eval\"\nout = \"o\"\n";
        assert!(e("command = \"train\"\nout = \"o\"\n").contains("bad.toml"));
        assert!(e(&format!("{head}[grid]\narms = 5\n")).contains("[grid] arms = 5: a grid key takes a list"));
        assert!(e(&format!("{head}[grid]\narms = []\n")).contains("empty list"));
        assert!(e(&format!("{head}[base]\nout = \"x\"\n")).contains("sets --out itself"));
        assert!(
            e(&format!("{head}[base]\narms = 5\n[grid]\narms = [5]\n"))
                .contains("both in [base] and in [grid]")
        );
        assert!(e(&format!("{head}shards = 0\n")).contains("shards = 0"));
        assert!(e(&format!("{head}colour = 1\n")).contains("colour"));
        assert!(e(&format!("{head}[base]\nx = {{a = 1}}\n")).contains("[base] x"));
    }
}
