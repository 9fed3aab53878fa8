//! Atomic file output for the command: [`gpu_trainer::atomic`] with errors as `anyhow`.

use std::path::Path;

use anyhow::{Context, Result};

pub use gpu_trainer::atomic::{StagedDir, replace_dir, sweep_stale};

/// Writes `bytes` to `path` atomically (see [`gpu_trainer::atomic::write_file`]): a reader never
/// sees a half-written file, and a failed write leaves no temporary file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(gpu_trainer::atomic::write_file(path, bytes)?)
}

/// Starts replacing the run directory `dir` (the `--out` of `greedy eval` or `greedy diagnose`)
/// as a whole: a [`StagedDir`] beside it, swapped in by [`StagedDir::commit`] once every file is
/// written, so that `dir` holds the previous run or the new one, never a mix. A `dir` holding
/// anything `is_ours` does not accept (or a sub-directory) is refused: replacing it would delete
/// what another program put there. Stale temporary files of killed runs, in `dir` and beside it,
/// are removed.
pub fn stage_run_dir(dir: &Path, what: &str, is_ours: impl Fn(&str) -> bool) -> Result<StagedDir> {
    check_run_dir(dir, what, is_ours)?;
    sweep_stale(dir)?;
    StagedDir::beside(dir).with_context(|| format!("--out {}", dir.display()))
}

/// Fails, naming the entry, when `dir` exists and is not a directory or holds something that
/// [`stage_run_dir`] would refuse to replace (commands check this before they run, not after).
pub fn check_run_dir(dir: &Path, what: &str, is_ours: impl Fn(&str) -> bool) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    if !dir.is_dir() {
        anyhow::bail!("--out {}: exists and is not a directory", dir.display());
    }
    for e in std::fs::read_dir(dir).with_context(|| format!("--out: cannot read {}", dir.display()))? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && !e.file_type()?.is_dir() {
            continue; // temporary files: swept when dead, replaced with the directory
        }
        if e.file_type()?.is_dir() || !is_ours(&name) {
            anyhow::bail!(
                "--out {} holds {name}, which is not part of a {what} run: choose another --out (a run directory is replaced as a whole)",
                dir.display()
            );
        }
    }
    Ok(())
}

/// Is `name` a plot or report file (`*.png`, `*.svg`, `report.md`), which any run directory may
/// hold (`greedy report RUN --out RUN`).
pub fn is_plot_or_report(name: &str) -> bool {
    name.ends_with(".png") || name.ends_with(".svg") || name == "report.md"
}
