//! The SFT loop, independent of how the model computes: a [`Learner`] accumulates gradients of
//! weighted sequences, applies an optimizer step and saves itself; the loop owns the data order,
//! micro-batching, the learning-rate schedule, the log, the progress and the checkpoints.
//!
//! Exact resumption: a checkpoint stores the model, the optimizer state and a [`TrainerState`]
//! (steps done, data cursor, the order's seed). The data order is a pure function of (seed,
//! cursor) ([`DataOrder`]) and the schedule a pure function of the step, so a run stopped at step
//! k and resumed computes the same steps k+1.. as one that never stopped.

use std::path::{Path, PathBuf};
use std::time::Instant;

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::batch::{DataOrder, tokenize, weigh_batch};
use super::data::SftData;
use super::log::{RunLog, StepRow};
use crate::atomic::write_file;
use crate::model::GemmaTokenizer;
use crate::progress::Progress;
use crate::train::learner::{Applied, Learner};

/// Where a run stands (`trainer_state.json` of a checkpoint).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainerState {
    /// Optimizer steps done (skipped ones included).
    pub step: u64,
    /// Examples consumed: the position in the data order.
    pub cursor: u64,
    /// The epoch that position is in.
    pub epoch: u64,
    /// Seed of the data order (epoch e is shuffled by `Rng::from_stream(order_seed, e)`).
    pub order_seed: u64,
    /// Steps whose update was skipped.
    pub skipped_steps: Vec<u64>,
    /// Tokens processed so far.
    pub tokens: u64,
}

impl TrainerState {
    /// A run that has not started.
    pub fn start(order_seed: u64) -> TrainerState {
        TrainerState { step: 0, cursor: 0, epoch: 0, order_seed, skipped_steps: Vec::new(), tokens: 0 }
    }

    /// Reads `dir/trainer_state.json`.
    pub fn read(dir: &Path) -> Result<TrainerState> {
        let path = dir.join(STATE_FILE);
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{}: not a trainer state", path.display()))
    }

    /// Writes `dir/trainer_state.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        Ok(write_file(&dir.join(STATE_FILE), text.as_bytes())?)
    }
}

/// The trainer state's file name in a checkpoint.
pub const STATE_FILE: &str = "trainer_state.json";

/// What the loop needs besides the learner.
pub struct LoopConfig<'a> {
    /// The examples.
    pub data: &'a SftData,
    /// Their tokenizer.
    pub tokenizer: &'a GemmaTokenizer,
    /// Longest sequence.
    pub max_len: usize,
    /// Sequences per optimizer step.
    pub batch: usize,
    /// Sequences per forward/backward.
    pub micro_batch: usize,
    /// Steps the schedule spans.
    pub steps: u64,
    /// Stop after this step.
    pub stop_at: u64,
    /// Checkpoint period.
    pub save_every: u64,
    /// Learning rate of a (0-based) step.
    pub lr: &'a dyn Fn(u64) -> f64,
    /// The run directory (`checkpoint/`, `log.jsonl`).
    pub out: &'a Path,
    /// Where progress goes.
    pub progress: &'a dyn Progress,
    /// A stop request (Ctrl-C / SIGTERM on the command line): the loop saves a checkpoint at the
    /// step it finished and stops.
    pub stop: &'a AtomicBool,
}

/// The checkpoint directory of a run directory.
pub fn checkpoint_dir(out: &Path) -> PathBuf {
    out.join("checkpoint")
}

/// The latest whole checkpoint of a run directory, if any (an interrupted save is recovered
/// first: the previous checkpoint is put back).
pub fn find_checkpoint(out: &Path) -> Result<Option<PathBuf>> {
    let dir = checkpoint_dir(out);
    crate::train::checkpoint::recover(&dir)?;
    Ok(dir.join(STATE_FILE).is_file().then_some(dir))
}

/// How a loop ended.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopEnd {
    /// Where the run stands (its latest checkpoint holds it).
    pub state: TrainerState,
    /// Stopped early by a stop request (the checkpoint is at `state.step`).
    pub interrupted: bool,
}

/// Runs steps `state.step + 1 ..= cfg.stop_at`, logging each to `log` and saving a checkpoint
/// every `cfg.save_every` steps and after the last one; a stop request ends the loop after the
/// step in progress, with a checkpoint of it.
pub fn run_loop(
    learner: &mut dyn Learner,
    cfg: &LoopConfig<'_>,
    mut state: TrainerState,
    log: &mut RunLog,
) -> Result<LoopEnd> {
    if cfg.micro_batch == 0 || cfg.batch == 0 {
        bail!("batch and micro-batch must be positive");
    }
    let mut order = DataOrder::new(cfg.data.len(), state.order_seed)?;
    let bar = cfg.progress;
    bar.start(cfg.steps, "steps");
    bar.set(state.step);
    let started = Instant::now();
    let mut ema: Option<f64> = None;
    while state.step < cfg.stop_at {
        let t0 = Instant::now();
        let indices = order.take(state.cursor, cfg.batch);
        let mut batch = Vec::with_capacity(indices.len());
        for &i in &indices {
            let ex = cfg.data.get(i)?;
            batch.push(tokenize(cfg.tokenizer, &ex, cfg.max_len).with_context(|| format!("example {i}"))?);
        }
        let (seqs, target_tokens) = weigh_batch(&batch);
        let tokens: usize = seqs.iter().map(|s| s.ids.len()).sum();
        let mut loss = 0.0;
        for micro in seqs.chunks(cfg.micro_batch) {
            loss += learner.accumulate(micro).with_context(|| format!("step {}", state.step + 1))?;
        }
        let lr = (cfg.lr)(state.step);
        let applied = if loss.is_finite() {
            learner.apply(lr).with_context(|| format!("step {}", state.step + 1))?
        } else {
            learner.discard()?;
            Applied { grad_norm: f64::NAN, skipped: Some(format!("non-finite loss {loss}")) }
        };
        state.step += 1;
        state.cursor += cfg.batch as u64;
        state.epoch = order.epoch_of(state.cursor);
        state.tokens += tokens as u64;
        if applied.skipped.is_some() {
            state.skipped_steps.push(state.step);
        }
        let dt = t0.elapsed().as_secs_f64();
        let record = StepRow {
            step: state.step,
            loss,
            lr,
            grad_norm: applied.grad_norm,
            tokens,
            target_tokens,
            tokens_per_s: tokens as f64 / dt.max(1e-9),
            skipped: applied.skipped.is_some(),
            skip_reason: applied.skipped.clone(),
            elapsed_s: started.elapsed().as_secs_f64(),
        };
        log.push(&record)?;
        if let Some(reason) = &applied.skipped {
            bar.note(&format!("step {}: update skipped ({reason})", state.step));
        } else {
            ema = Some(ema.map_or(loss, |e| 0.9 * e + 0.1 * loss));
        }
        bar.message(&format!(
            "loss {:.4} (avg {:.4}) lr {lr:.2e} {:.0} tok/s",
            loss,
            ema.unwrap_or(f64::NAN),
            record.tokens_per_s
        ));
        bar.set(state.step);
        let stop = cfg.stop.load(Ordering::SeqCst) && state.step < cfg.stop_at;
        if state.step.is_multiple_of(cfg.save_every) || state.step == cfg.stop_at || stop {
            learner.save(&checkpoint_dir(cfg.out), &serde_json::to_value(&state)?)?;
        }
        if stop {
            bar.finish();
            return Ok(LoopEnd { state, interrupted: true });
        }
    }
    bar.finish();
    Ok(LoopEnd { state, interrupted: false })
}
