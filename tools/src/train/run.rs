//! `greedy train sft` and `greedy train init` from validated settings: prepare the run directory
//! (fresh model and tokenizer, or the checkpoint to resume), run the loop, plot the loss.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use env_core::rng::derive_seed;
use gpu_trainer::model::{Config, GemmaTokenizer};
use gpu_trainer::train::optim::LrSchedule;
use serde_json::Value;

use crate::io::write_atomic;
use crate::train::data::SftData;
use crate::train::init::{config_from_file, write_initial_checkpoint};
use crate::train::log::{RunLog, StepRecord, read_log};
use crate::train::plot::write_loss_plot;
use crate::train::settings::{FreshBase, ModelSource, SftSettings, streams};
use crate::train::tokenizer::train_bpe;
use crate::train::trainer::{Learner, LoopConfig, TrainerState, checkpoint_dir, find_checkpoint, run_loop};

/// Examples of the data whose text the fresh tokenizer is learned from (at most).
pub const TOKENIZER_CORPUS: usize = 4000;
/// A pair must occur this often to become a merge of the fresh tokenizer.
pub const TOKENIZER_MIN_FREQUENCY: u64 = 2;

/// Where a run starts.
#[derive(Debug)]
pub struct Prepared {
    /// The checkpoint the learner loads.
    pub start: PathBuf,
    /// Load the optimizer state from `start` too (resuming).
    pub resume: bool,
    /// The run's state at `start`.
    pub state: TrainerState,
    /// The model's tokenizer.
    pub tokenizer: GemmaTokenizer,
    /// The model's config.
    pub config: Config,
    /// Longest training sequence.
    pub max_len: usize,
}

/// What a finished invocation did.
#[derive(Debug, Clone)]
pub struct SftOutcome {
    /// The latest checkpoint (a model directory).
    pub checkpoint: PathBuf,
    /// The run's state after this invocation.
    pub state: TrainerState,
    /// Every step of the run so far (this and earlier invocations).
    pub log: Vec<StepRecord>,
    /// Wall time of this invocation's loop.
    pub train_seconds: f64,
    /// What the learner computed on.
    pub device: String,
    /// Stopped early by Ctrl-C / SIGTERM (the checkpoint holds the step it reached).
    pub interrupted: bool,
}

/// The texts a fresh tokenizer learns from: prompts and targets of the first examples.
pub fn tokenizer_corpus(data: &SftData) -> Result<Vec<String>> {
    Ok(data.corpus(TOKENIZER_CORPUS)?.into_iter().flat_map(|e| [e.prompt, e.target]).collect())
}

/// Keys whose values differ between two JSON objects (dotted paths).
fn differing_keys(a: &Value, b: &Value, prefix: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                differing_keys(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    &path,
                    out,
                );
            }
        }
        _ if a != b => out.push(prefix.to_string()),
        _ => {}
    }
}

/// Prepares `settings.out`: checks or writes `settings.json`; for a fresh model learns the
/// tokenizer and writes the initial checkpoint (step 0) as `out/checkpoint`; for `--resume` finds
/// the latest checkpoint.
pub fn prepare(settings: &SftSettings) -> Result<Prepared> {
    let out = &settings.out;
    std::fs::create_dir_all(out).with_context(|| format!("--out: cannot create {}", out.display()))?;
    let settings_path = out.join("settings.json");
    let now = settings.to_json();
    let (start, state, resume) = if settings.resume {
        let before: Value =
            serde_json::from_str(&std::fs::read_to_string(&settings_path).with_context(|| {
                format!("--resume: {} has no settings.json (not a training run)", out.display())
            })?)
            .with_context(|| format!("{}: not valid JSON", settings_path.display()))?;
        let mut diff = Vec::new();
        differing_keys(&before, &now, "", &mut diff);
        if !diff.is_empty() {
            bail!(
                "--resume: the settings differ from those of the run in {} ({}); resume with the same flags",
                out.display(),
                diff.join(", ")
            );
        }
        let ckpt = find_checkpoint(out)?.with_context(|| {
            format!("--resume: no checkpoint in {} (expected checkpoint/trainer_state.json)", out.display())
        })?;
        let state = TrainerState::read(&ckpt)?;
        if state.step > settings.steps {
            bail!("--resume: the checkpoint is at step {}, past --steps {}", state.step, settings.steps);
        }
        (ckpt, state, true)
    } else {
        if find_checkpoint(out)?.is_some() {
            bail!(
                "--out {} already holds a training run (checkpoint/): pass --resume to continue it, or choose another --out",
                out.display()
            );
        }
        let mut text = serde_json::to_string_pretty(&now)?;
        text.push('\n');
        write_atomic(&settings_path, text.as_bytes())?;
        let state = TrainerState::start(derive_seed(settings.seed, streams::ORDER));
        let start = match &settings.source {
            ModelSource::Checkpoint(dir) => dir.clone(),
            ModelSource::Fresh { base, vocab } => {
                let tokenizer =
                    train_bpe(&tokenizer_corpus(&settings.data)?, *vocab, TOKENIZER_MIN_FREQUENCY)?;
                let learned = learned_vocab(&tokenizer)?;
                let config = match base {
                    FreshBase::Tiny(shape) => shape.config_json(learned),
                    FreshBase::File(path) => config_from_file(path, learned)?,
                };
                let dir = checkpoint_dir(out);
                write_initial_checkpoint(
                    &dir,
                    &config,
                    &tokenizer,
                    derive_seed(settings.seed, streams::INIT),
                )?;
                state.write(&dir)?;
                dir
            }
        };
        (start, state, false)
    };
    let tokenizer = GemmaTokenizer::from_dir(&start)?;
    let config = Config::from_dir(&start)?;
    if tokenizer.vocab_size() > config.vocab_size {
        bail!(
            "{}: tokenizer.json has {} tokens but the model's vocab_size is {}",
            start.display(),
            tokenizer.vocab_size(),
            config.vocab_size
        );
    }
    let context = config.max_position_embeddings.unwrap_or(usize::MAX);
    let max_len = settings.max_len.unwrap_or(context.min(1 << 16));
    if max_len > context {
        bail!(
            "invalid value {max_len} for --max-len: the model's context (max_position_embeddings) is {context}"
        );
    }
    Ok(Prepared { start, resume, state, tokenizer, config, max_len })
}

/// The number of tokens of a `tokenizer.json` text.
fn learned_vocab(tokenizer_json: &str) -> Result<usize> {
    let t = tokenizers::Tokenizer::from_bytes(tokenizer_json.as_bytes())
        .map_err(|e| anyhow::anyhow!("the learned tokenizer does not load: {e}"))?;
    Ok(t.get_vocab_size(true))
}

/// Runs `greedy train sft` with the learner `open` makes from the prepared start (its checkpoint
/// directory; with `resume`, its optimizer state too). Writes the log, the checkpoints and the
/// loss plot.
pub fn run_sft_with<L: Learner>(
    settings: &SftSettings,
    stop: &crate::signals::StopRequest,
    open: impl FnOnce(&Prepared) -> Result<L>,
) -> Result<SftOutcome> {
    let prepared = prepare(settings)?;
    let mut learner = open(&prepared)?;
    let lr = lr_schedule(settings)?;
    let lr = move |s: u64| lr.lr(s) as f64;
    let cfg = LoopConfig {
        data: &settings.data,
        tokenizer: &prepared.tokenizer,
        max_len: prepared.max_len,
        batch: settings.batch,
        micro_batch: settings.micro_batch,
        steps: settings.steps,
        stop_at: settings.stop_at,
        save_every: settings.save_every,
        lr: &lr,
        out: &settings.out,
        progress: !settings.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        stop,
    };
    let mut log = RunLog::open(&settings.out, prepared.state.step)?;
    let started = Instant::now();
    let end = run_loop(&mut learner, &cfg, prepared.state, &mut log)?;
    let train_seconds = started.elapsed().as_secs_f64();
    let records = read_log(log.path())?;
    write_loss_curve(&settings.out, &records)?;
    Ok(SftOutcome {
        checkpoint: checkpoint_dir(&settings.out),
        state: end.state,
        log: records,
        train_seconds,
        device: learner.device(),
        interrupted: end.interrupted,
    })
}

/// The learning-rate schedule of the settings: linear warm-up from 0, cosine decay to `min_lr`
/// (transformers' `get_cosine_schedule_with_warmup` with a floor).
pub fn lr_schedule(settings: &SftSettings) -> Result<LrSchedule> {
    let o = &settings.optim;
    let s = LrSchedule {
        peak: o.lr as f32,
        warmup_steps: o.warmup,
        total_steps: settings.steps,
        floor: o.min_lr as f32,
    };
    s.validate().map_err(anyhow::Error::msg)?;
    Ok(s)
}

/// Writes `out/loss.png` and `out/loss.svg`.
pub fn write_loss_curve(out: &Path, records: &[StepRecord]) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let title = format!("SFT loss ({} steps)", records.len());
    write_loss_plot(records, &title, &out.join("loss"))
}

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
