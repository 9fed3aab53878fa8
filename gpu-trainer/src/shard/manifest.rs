//! `shard.json`: what a shard records beside its data files, so that a merge can check that
//! its pieces belong together and arrived whole.
//!
//! ```json
//! {
//!   "format": "greedy-shard/1",
//!   "kind": "eval",
//!   "shard": 1, "shards": 4, "total": 64, "unit": "episodes",
//!   "items": [1, 5, 9, ...],
//!   "settings": { ...the run's settings, as its summary records them... },
//!   "settings_digest": "sha256:...",
//!   "files": { "episodes.jsonl": { "bytes": 81234, "lines": 48, "sha256": "..." } },
//!   "info": { ...what the writer keeps that need not agree between shards... }
//! }
//! ```
//!
//! The settings are the whole run's (`episodes` is the total, not this shard's count), so every
//! shard of one run records the same settings and the same digest. An unsharded run writes no
//! manifest: its files are unchanged by sharding.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::Shard;

/// The manifest's file name in a shard directory.
pub const MANIFEST_FILE: &str = "shard.json";

/// The format tag of this version of the manifest.
pub const FORMAT: &str = "greedy-shard/1";

/// Largest manifest read back (the item list of a million episodes fits easily).
const MAX_MANIFEST_BYTES: u64 = 64 << 20;

/// Size, line count and SHA-256 of a data file, as the shard wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDigest {
    /// Length in bytes.
    pub bytes: u64,
    /// Number of `\n`-terminated lines.
    pub lines: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

impl FileDigest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> FileDigest {
        FileDigest {
            bytes: bytes.len() as u64,
            lines: bytes.iter().filter(|&&b| b == b'\n').count() as u64,
            sha256: digest_hex(bytes),
        }
    }
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn digest_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The digest of a run's settings: `sha256:` and the SHA-256 of their compact JSON.
pub fn settings_digest(settings: &Value) -> String {
    format!("sha256:{}", digest_hex(settings.to_string().as_bytes()))
}

/// What a shard records (see the module doc).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardManifest {
    /// [`FORMAT`].
    pub format: String,
    /// What ran: `eval`, `frequency-bias`, `knowing-doing`.
    pub kind: String,
    /// This shard's index, `0..shards`.
    pub shard: usize,
    /// How many shards the run was split into.
    pub shards: usize,
    /// Items of the whole run.
    pub total: usize,
    /// What the items are (`episodes`, `contexts`).
    pub unit: String,
    /// This shard's items, in increasing order (`i mod shards == shard`).
    pub items: Vec<u64>,
    /// The whole run's settings.
    pub settings: Value,
    /// [`settings_digest`] of `settings`.
    pub settings_digest: String,
    /// The data files this shard wrote, by name.
    pub files: BTreeMap<String, FileDigest>,
    /// What the writer keeps that need not agree between shards (where and how long it ran).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub info: Value,
}

impl ShardManifest {
    /// The manifest of `shard` of a `kind` run of `total` `unit` with `settings`; no files yet.
    pub fn new(kind: &str, unit: &str, shard: Shard, total: usize, settings: Value) -> ShardManifest {
        ShardManifest {
            format: FORMAT.into(),
            kind: kind.into(),
            shard: shard.index,
            shards: shard.count,
            total,
            unit: unit.into(),
            items: shard.items(total),
            settings_digest: settings_digest(&settings),
            settings,
            files: BTreeMap::new(),
            info: Value::Null,
        }
    }

    /// Records the data file `name` with its content.
    pub fn add_file(&mut self, name: &str, bytes: &[u8]) {
        self.files.insert(name.to_string(), FileDigest::of(bytes));
    }

    /// The shard, checked.
    pub fn shard(&self) -> Result<Shard> {
        Shard::new(self.shard, self.shards)
    }

    /// The manifest as written: pretty JSON and a newline.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        Ok(text.into_bytes())
    }

    /// Reads and checks `dir/shard.json`: the format, the settings against their digest, the
    /// items against (shard, shards, total). Errors name the file and the field.
    pub fn read(dir: &Path) -> Result<ShardManifest> {
        let path = dir.join(MANIFEST_FILE);
        if !dir.is_dir() {
            bail!("{}: not a directory (expected a shard's --out directory)", dir.display());
        }
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "{}: no {MANIFEST_FILE}, so not a shard (shards are written by --shard I/N --out DIR)",
                dir.display()
            ),
            Err(e) => bail!("{}: {e}", path.display()),
        };
        if meta.len() > MAX_MANIFEST_BYTES {
            bail!("{}: {} bytes, more than a manifest can be", path.display(), meta.len());
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let m: ShardManifest = serde_json::from_str(&text).with_context(|| {
            format!("{}: not a valid shard manifest (truncated or edited?)", path.display())
        })?;
        if m.format != FORMAT {
            bail!("{}: format {:?}, this greedy reads {FORMAT:?}", path.display(), m.format);
        }
        let shard = m.shard().with_context(|| format!("{}: fields shard/shards", path.display()))?;
        if m.items != shard.items(m.total) {
            bail!(
                "{}: items do not match shard {shard} of {} {} (the file was edited?)",
                path.display(),
                m.total,
                m.unit
            );
        }
        let digest = settings_digest(&m.settings);
        if m.settings_digest != digest {
            bail!(
                "{}: settings_digest {} does not match its settings ({digest}): the file was edited",
                path.display(),
                m.settings_digest
            );
        }
        Ok(m)
    }

    /// Reads the data file `name` of the shard in `dir` and checks it against what the shard
    /// wrote: a truncated or changed file is an error naming it.
    pub fn read_file(&self, dir: &Path, name: &str) -> Result<Vec<u8>> {
        let want = self.files.get(name).with_context(|| {
            format!(
                "{}: lists no {name} (a {} shard has {})",
                dir.join(MANIFEST_FILE).display(),
                self.kind,
                self.file_names()
            )
        })?;
        let path = dir.join(name);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let got = FileDigest::of(&bytes);
        if got.bytes != want.bytes || got.lines != want.lines {
            bail!(
                "{}: {} bytes in {} lines, but the shard wrote {} bytes in {} lines (truncated or changed since)",
                path.display(),
                got.bytes,
                got.lines,
                want.bytes,
                want.lines
            );
        }
        if got.sha256 != want.sha256 {
            bail!(
                "{}: its SHA-256 is not the one the shard recorded (changed since it was written)",
                path.display()
            );
        }
        Ok(bytes)
    }

    fn file_names(&self) -> String {
        self.files.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tmp() -> tempfile::TempDir {
        tempfile::Builder::new().prefix("greedy-manifest-").tempdir().unwrap()
    }

    fn manifest() -> ShardManifest {
        let mut m = ShardManifest::new(
            "eval",
            "episodes",
            Shard::new(1, 3).unwrap(),
            8,
            json!({"seed": 1, "x": [0.1]}),
        );
        m.add_file("episodes.jsonl", b"a\nb\n");
        m
    }

    #[test]
    fn round_trips_and_checks_files() {
        let d = tmp();
        let m = manifest();
        assert_eq!(m.items, vec![1, 4, 7]);
        std::fs::write(d.path().join(MANIFEST_FILE), m.to_bytes().unwrap()).unwrap();
        std::fs::write(d.path().join("episodes.jsonl"), "a\nb\n").unwrap();
        let back = ShardManifest::read(d.path()).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.read_file(d.path(), "episodes.jsonl").unwrap(), b"a\nb\n");
        std::fs::write(d.path().join("episodes.jsonl"), "a\n").unwrap();
        let e = back.read_file(d.path(), "episodes.jsonl").unwrap_err().to_string();
        assert!(e.contains("episodes.jsonl") && e.contains("truncated"), "{e}");
        std::fs::write(d.path().join("episodes.jsonl"), "a\nc\n").unwrap();
        let e = back.read_file(d.path(), "episodes.jsonl").unwrap_err().to_string();
        assert!(e.contains("SHA-256"), "{e}");
        let e = back.read_file(d.path(), "summary.json").unwrap_err().to_string();
        assert!(e.contains("lists no summary.json"), "{e}");
    }

    #[test]
    fn refuses_edited_or_broken_manifests() {
        let d = tmp();
        let e = ShardManifest::read(d.path()).unwrap_err().to_string();
        assert!(e.contains("no shard.json"), "{e}");
        let text = String::from_utf8(manifest().to_bytes().unwrap()).unwrap();
        std::fs::write(d.path().join(MANIFEST_FILE), &text[..text.len() / 2]).unwrap();
        let e = format!("{:#}", ShardManifest::read(d.path()).unwrap_err());
        assert!(e.contains("shard.json") && e.contains("not a valid shard manifest"), "{e}");
        let mut edited = manifest();
        edited.settings["seed"] = json!(2);
        std::fs::write(d.path().join(MANIFEST_FILE), edited.to_bytes().unwrap()).unwrap();
        let e = ShardManifest::read(d.path()).unwrap_err().to_string();
        assert!(e.contains("settings_digest"), "{e}");
        let mut edited = manifest();
        edited.items = vec![1, 4];
        std::fs::write(d.path().join(MANIFEST_FILE), edited.to_bytes().unwrap()).unwrap();
        let e = ShardManifest::read(d.path()).unwrap_err().to_string();
        assert!(e.contains("items"), "{e}");
        let mut edited = manifest();
        edited.shard = 3;
        std::fs::write(d.path().join(MANIFEST_FILE), edited.to_bytes().unwrap()).unwrap();
        let e = format!("{:#}", ShardManifest::read(d.path()).unwrap_err());
        assert!(e.contains("shard/shards"), "{e}");
    }

    #[test]
    fn the_digest_depends_on_every_setting() {
        let a = settings_digest(&json!({"arms": 5, "sigma": 1.0}));
        assert!(a.starts_with("sha256:") && a.len() == 7 + 64);
        assert_ne!(a, settings_digest(&json!({"arms": 5, "sigma": 0.1})));
        assert_eq!(a, settings_digest(&json!({"sigma": 1.0, "arms": 5})), "key order does not matter");
    }
}
