//! The checks before a merge: the given directories are every shard of ONE run, each once.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use serde_json::Value;

use super::{Shard, ShardManifest};

/// A shard directory and its checked manifest.
#[derive(Debug, Clone)]
pub struct LoadedShard {
    /// The directory.
    pub dir: PathBuf,
    /// Its `shard.json`.
    pub manifest: ShardManifest,
}

/// Every shard of one run, in shard order.
#[derive(Debug, Clone)]
pub struct ShardSet {
    shards: Vec<LoadedShard>,
}

impl ShardSet {
    /// Reads the manifests in `dirs` (any order) and checks them (see [`ShardSet::check`]).
    pub fn open(dirs: &[PathBuf]) -> Result<ShardSet> {
        let shards = dirs
            .iter()
            .map(|d| Ok(LoadedShard { dir: d.clone(), manifest: ShardManifest::read(d)? }))
            .collect::<Result<Vec<_>>>()?;
        ShardSet::check(shards)
    }

    /// Checks that `shards` are the shards `0..N` of one run, each exactly once: the same kind,
    /// the same settings (digest), the same N and total. The error names the directories and,
    /// for different settings, the first setting that differs.
    pub fn check(mut shards: Vec<LoadedShard>) -> Result<ShardSet> {
        let Some(first) = shards.first().cloned() else {
            bail!("no shard directories given");
        };
        let (d0, m0) = (&first.dir, &first.manifest);
        for s in &shards[1..] {
            let (d, m) = (&s.dir, &s.manifest);
            if m.kind != m0.kind {
                bail!(
                    "{} holds a {} shard but {} a {} shard: merge the shards of one run",
                    d.display(),
                    m.kind,
                    d0.display(),
                    m0.kind
                );
            }
            if m.settings_digest != m0.settings_digest {
                let at = first_difference(&m0.settings, &m.settings, String::new())
                    .unwrap_or_else(|| "(somewhere)".into());
                bail!(
                    "{} and {} are shards of different runs: their settings differ at {at}",
                    d0.display(),
                    d.display()
                );
            }
            if m.shards != m0.shards || m.total != m0.total {
                bail!(
                    "{} is shard {}/{} of {} {} but {} is shard {}/{} of {}: a run is merged from the shards of one split",
                    d.display(),
                    m.shard,
                    m.shards,
                    m.total,
                    m.unit,
                    d0.display(),
                    m0.shard,
                    m0.shards,
                    m0.total
                );
            }
        }
        shards.sort_by_key(|s| s.manifest.shard);
        for w in shards.windows(2) {
            if w[0].manifest.shard == w[1].manifest.shard {
                bail!(
                    "shard {}/{} is given twice: {} and {}",
                    w[0].manifest.shard,
                    m0.shards,
                    w[0].dir.display(),
                    w[1].dir.display()
                );
            }
        }
        let have: Vec<usize> = shards.iter().map(|s| s.manifest.shard).collect();
        let missing: Vec<String> =
            (0..m0.shards).filter(|i| !have.contains(i)).map(|i| format!("{i}/{}", m0.shards)).collect();
        if !missing.is_empty() {
            bail!(
                "shard{} {} of the run in {} {} missing: give every shard's directory (got {} of {})",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", "),
                d0.display(),
                if missing.len() == 1 { "is" } else { "are" },
                shards.len(),
                m0.shards
            );
        }
        Ok(ShardSet { shards })
    }

    /// The shards, in shard order.
    pub fn shards(&self) -> &[LoadedShard] {
        &self.shards
    }

    /// What ran (`eval`, `frequency-bias`, `knowing-doing`).
    pub fn kind(&self) -> &str {
        &self.shards[0].manifest.kind
    }

    /// The run's settings (every shard's).
    pub fn settings(&self) -> &Value {
        &self.shards[0].manifest.settings
    }

    /// Items in the whole run.
    pub fn total(&self) -> usize {
        self.shards[0].manifest.total
    }

    /// The split.
    pub fn count(&self) -> usize {
        self.shards.len()
    }

    /// Which shard owns item `i`, with its directory.
    pub fn owner(&self, item: u64) -> (Shard, &Path) {
        let s = &self.shards[(item % self.shards.len() as u64) as usize];
        (Shard { index: s.manifest.shard, count: s.manifest.shards }, &s.dir)
    }
}

/// The path (`environment.arms`, `agents[1]`) and values of the first difference between two
/// JSON values, or None when they are equal.
pub fn first_difference(a: &Value, b: &Value, path: String) -> Option<String> {
    let here = |p: &str| if p.is_empty() { "the top".to_string() } else { p.to_string() };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => first_difference(u, v, p),
                    (u, v) => Some(format!("{p}: {} vs {}", show(u), show(v))),
                }
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().find_map(|(i, (u, v))| first_difference(u, v, format!("{path}[{i}]")))
        }
        _ if a == b => None,
        _ => Some(format!("{}: {a} vs {b}", here(&path))),
    }
}

fn show(v: Option<&Value>) -> String {
    v.map_or_else(|| "(absent)".into(), Value::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shard(dir: &str, i: usize, n: usize, settings: Value) -> LoadedShard {
        let mut m = ShardManifest::new("eval", "episodes", Shard::new(i, n).unwrap(), 6, settings);
        m.add_file("episodes.jsonl", b"");
        LoadedShard { dir: PathBuf::from(dir), manifest: m }
    }

    #[test]
    fn accepts_every_shard_once_in_any_order() {
        let s = json!({"seed": 1});
        let set = ShardSet::check(vec![
            shard("c", 2, 3, s.clone()),
            shard("a", 0, 3, s.clone()),
            shard("b", 1, 3, s),
        ])
        .unwrap();
        let dirs: Vec<_> = set.shards().iter().map(|s| s.dir.to_str().unwrap()).collect();
        assert_eq!(dirs, ["a", "b", "c"]);
        assert_eq!((set.total(), set.count(), set.kind()), (6, 3, "eval"));
        assert_eq!(set.owner(4).1, Path::new("b"));
    }

    #[test]
    fn refuses_missing_duplicated_and_foreign_shards() {
        let s = json!({"environment": {"arms": 5}, "agents": ["ucb", "random"]});
        let e = ShardSet::check(vec![shard("a", 0, 3, s.clone()), shard("c", 2, 3, s.clone())]).unwrap_err();
        assert!(e.to_string().contains("shard 1/3 of the run in a is missing"), "{e}");
        let e = ShardSet::check(vec![shard("a", 0, 2, s.clone()), shard("b", 0, 2, s.clone())]).unwrap_err();
        assert!(e.to_string().contains("shard 0/2 is given twice: a and b"), "{e}");
        let e = ShardSet::check(vec![shard("a", 0, 2, s.clone()), shard("b", 1, 3, s.clone())]).unwrap_err();
        assert!(e.to_string().contains("b is shard 1/3"), "{e}");
        let other = json!({"environment": {"arms": 10}, "agents": ["ucb", "random"]});
        let e = ShardSet::check(vec![shard("a", 0, 2, s.clone()), shard("b", 1, 2, other)]).unwrap_err();
        assert!(e.to_string().contains("differ at environment.arms: 5 vs 10"), "{e}");
        let mut d = shard("b", 1, 2, s.clone());
        d.manifest.kind = "knowing-doing".into();
        let e = ShardSet::check(vec![shard("a", 0, 2, s), d]).unwrap_err();
        assert!(e.to_string().contains("knowing-doing shard"), "{e}");
        assert!(ShardSet::check(vec![]).is_err());
    }

    #[test]
    fn first_difference_names_the_path() {
        let a = json!({"x": {"y": [1, 2]}, "z": 1});
        assert_eq!(first_difference(&a, &a, String::new()), None);
        let b = json!({"x": {"y": [1, 3]}, "z": 1});
        assert_eq!(first_difference(&a, &b, String::new()).unwrap(), "x.y[1]: 2 vs 3");
        let c = json!({"x": {"y": [1, 2]}});
        assert_eq!(first_difference(&a, &c, String::new()).unwrap(), "z: 1 vs (absent)");
    }
}
