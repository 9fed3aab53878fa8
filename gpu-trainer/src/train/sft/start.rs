//! Where an SFT run starts ([`prepare`]: a fresh model and tokenizer, a checkpoint, or the latest
//! checkpoint of the run to resume), and the whole run from validated settings ([`run_sft`]).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use env_core::rng::derive_seed;
use serde_json::Value;

use super::data::SftData;
use super::log::{RunLog, StepRow, read_log};
use super::settings::{FreshBase, ModelSource, SftSettings, streams};
use super::steps::{LoopConfig, TrainerState, checkpoint_dir, find_checkpoint, run_loop};
use crate::atomic::write_file;
use crate::model::{Config, GemmaTokenizer};
use crate::progress::Progress;
use crate::train::bpe::train_bpe;
use crate::train::fresh::{config_from_file, write_initial_checkpoint};
use crate::train::learner::{GpuLearner, Learner, LearnerSettings};

/// Examples of the data whose text the fresh tokenizer is learned from (at most).
pub const TOKENIZER_CORPUS: usize = 4000;
/// A pair must occur this often to become a merge of the fresh tokenizer.
pub const TOKENIZER_MIN_FREQUENCY: u64 = 2;

/// Where a run starts.
#[derive(Debug)]
pub struct RunStart {
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
    pub log: Vec<StepRow>,
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

/// Keys whose values differ between two JSON objects (dotted paths): what a resumed run changed.
pub fn differing_keys(a: &Value, b: &Value, prefix: &str, out: &mut Vec<String>) {
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
pub fn prepare(settings: &SftSettings) -> Result<RunStart> {
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
        write_file(&settings_path, text.as_bytes())?;
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
    Ok(RunStart { start, resume, state, tokenizer, config, max_len })
}

/// The number of tokens of a `tokenizer.json` text.
fn learned_vocab(tokenizer_json: &str) -> Result<usize> {
    let t = tokenizers::Tokenizer::from_bytes(tokenizer_json.as_bytes())
        .map_err(|e| anyhow::anyhow!("the learned tokenizer does not load: {e}"))?;
    Ok(t.get_vocab_size(true))
}

/// Rows of logits computed at once in the loss (bounds the largest buffer: rows x vocab f32).
const LOSS_CHUNK_ROWS: usize = 256;

/// Runs SFT on the GPU ([`GpuLearner`]); `stop` ends it early with a checkpoint.
pub fn run_sft(settings: &SftSettings, progress: &dyn Progress, stop: &AtomicBool) -> Result<SftOutcome> {
    run_sft_with(settings, progress, stop, |p| {
        let learner = LearnerSettings {
            optim: settings.optim,
            max_tokens: settings.micro_batch * p.max_len,
            loss_chunk_rows: LOSS_CHUNK_ROWS,
            checkpointing: false,
            value_head: false,
        };
        GpuLearner::open(&p.start, &learner, p.resume)
    })
}

/// Runs SFT with the learner `open` makes from the run's start (its checkpoint directory; with
/// `resume`, its optimizer state too). Writes the log and the checkpoints.
pub fn run_sft_with<L: Learner>(
    settings: &SftSettings,
    progress: &dyn Progress,
    stop: &AtomicBool,
    open: impl FnOnce(&RunStart) -> Result<L>,
) -> Result<SftOutcome> {
    let start = prepare(settings)?;
    let mut learner = open(&start)?;
    let schedule = settings.optim.schedule(settings.steps)?;
    let lr = move |s: u64| schedule.lr(s) as f64;
    let cfg = LoopConfig {
        data: &settings.data,
        tokenizer: &start.tokenizer,
        max_len: start.max_len,
        batch: settings.batch,
        micro_batch: settings.micro_batch,
        steps: settings.steps,
        stop_at: settings.stop_at,
        save_every: settings.save_every,
        lr: &lr,
        out: &settings.out,
        progress,
        stop,
    };
    let mut log = RunLog::open(&settings.out, start.state.step)?;
    let started = Instant::now();
    let end = run_loop(&mut learner, &cfg, start.state, &mut log)?;
    let train_seconds = started.elapsed().as_secs_f64();
    let rows = read_log(log.path())?;
    Ok(SftOutcome {
        checkpoint: checkpoint_dir(&settings.out),
        state: end.state,
        log: rows,
        train_seconds,
        device: learner.device(),
        interrupted: end.interrupted,
    })
}
