//! The run's log (`log.jsonl`): one JSON object per update (TRL's metric names where TRL has
//! one, see the RLFT docs) and one per evaluation (`"eval": true`), appended and flushed as the
//! run goes, cut back to the checkpoint's update when a run resumes (rows after it belong to
//! updates that will be redone).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::atomic::write_file;

/// `log.jsonl` of a run directory.
#[derive(Debug)]
pub struct RlLog {
    path: PathBuf,
    file: File,
}

/// The rows of a log file (an absent file has none).
pub fn read_rows(path: &Path) -> Result<Vec<Value>> {
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(Vec::new()) };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| format!("{}:{}: not a JSON row", path.display(), i + 1))
        })
        .collect()
}

impl RlLog {
    /// Opens `dir/log.jsonl` for a run at update `done`: rows of later updates are dropped (a
    /// fresh run, `done` = 0, keeps only the evaluation at update 0 if it is to be redone: none).
    pub fn open(dir: &Path, done: u64) -> Result<RlLog> {
        let path = dir.join("log.jsonl");
        let kept: Vec<Value> = if done == 0 {
            Vec::new()
        } else {
            read_rows(&path)?
                .into_iter()
                .filter(|r| r["update"].as_u64().is_some_and(|u| u <= done))
                .collect()
        };
        let mut text = String::new();
        for r in &kept {
            text.push_str(&serde_json::to_string(r)?);
            text.push('\n');
        }
        write_file(&path, text.as_bytes())?;
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        Ok(RlLog { path, file })
    }

    /// Appends one row.
    pub fn push(&mut self, row: &Value) -> Result<()> {
        let mut line = serde_json::to_string(row)?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        self.file.flush()?;
        Ok(())
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
