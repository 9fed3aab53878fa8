//! Atomic file output for the command: [`gpu_trainer::atomic`] with errors as `anyhow`.

use std::path::Path;

use anyhow::Result;

pub use gpu_trainer::atomic::{StagedDir, replace_dir, sweep_stale};

/// Writes `bytes` to `path` atomically (see [`gpu_trainer::atomic::write_file`]): a reader never
/// sees a half-written file, and a failed write leaves no temporary file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(gpu_trainer::atomic::write_file(path, bytes)?)
}
