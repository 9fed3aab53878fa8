//! The per-step log of a training run (`log.jsonl`): one JSON object per optimizer step, appended
//! and flushed as the run goes, cut back to the checkpoint's step when a run resumes.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::atomic::write_file;

/// One optimizer step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRow {
    /// Step number, 1-based (step `s` used learning rate `lr` and left `s` updates applied).
    pub step: u64,
    /// Mean cross-entropy per target token of the step's batch (nats).
    pub loss: f64,
    /// Learning rate of the step.
    pub lr: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Tokens in the batch (prompts included).
    pub tokens: usize,
    /// Target tokens in the batch (those the loss is taken on).
    pub target_tokens: usize,
    /// Batch tokens per second of wall time.
    pub tokens_per_s: f64,
    /// The update was skipped (non-finite loss or gradient).
    pub skipped: bool,
    /// Why it was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// Seconds since this invocation started.
    pub elapsed_s: f64,
}

/// `log.jsonl` of a run directory.
#[derive(Debug)]
pub struct RunLog {
    path: PathBuf,
    file: File,
}

impl RunLog {
    /// Opens `dir/log.jsonl` for a run that has done `done` steps: a fresh run (`done` = 0)
    /// starts an empty log; a resumed one keeps the lines of steps `1..=done` (lines written after
    /// the last checkpoint belong to steps that will be redone).
    pub fn open(dir: &Path, done: u64) -> Result<RunLog> {
        let path = dir.join("log.jsonl");
        let kept = if done == 0 {
            Vec::new()
        } else {
            read_log(&path)?.into_iter().filter(|r| r.step <= done).collect()
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
        Ok(RunLog { path, file })
    }

    /// Appends one step and flushes it.
    pub fn push(&mut self, r: &StepRow) -> Result<()> {
        let mut line = serde_json::to_string(r)?;
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

/// Reads a `log.jsonl` (a missing file is an empty log); errors name the line.
pub fn read_log(path: &Path) -> Result<Vec<StepRow>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .with_context(|| format!("{}:{}: not a step record", path.display(), i + 1))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(step: u64) -> StepRow {
        StepRow {
            step,
            loss: 1.0 / step as f64,
            lr: 0.1,
            grad_norm: 2.0,
            tokens: 10,
            target_tokens: 4,
            tokens_per_s: 5.0,
            skipped: false,
            skip_reason: None,
            elapsed_s: 0.5,
        }
    }

    #[test]
    fn resume_cuts_the_log_back_to_the_checkpoint() {
        let tmp = tempfile::Builder::new().prefix("greedy-runlog-").tempdir().unwrap();
        let dir = tmp.path();
        let mut log = RunLog::open(dir, 0).unwrap();
        for s in 1..=5 {
            log.push(&rec(s)).unwrap();
        }
        drop(log);
        assert_eq!(read_log(&dir.join("log.jsonl")).unwrap().len(), 5);
        let mut log = RunLog::open(dir, 3).unwrap();
        log.push(&rec(4)).unwrap();
        let back = read_log(log.path()).unwrap();
        assert_eq!(back, vec![rec(1), rec(2), rec(3), rec(4)]);
    }
}
