//! The learner: a [`TrainModel`] with its optimizer (AdamW or AdaFactor), global-norm gradient
//! clipping and atomic checkpoints with exact resume, behind the small [`Learner`] interface the
//! training loops use. SFT weighs target tokens ([`Learner::accumulate`]); RL gives per-token
//! coefficients computed from the current log-probs ([`GpuLearner::accumulate_with`]). The
//! live weights can generate without a checkpoint round-trip ([`GpuLearner::engine`]).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::checkpoint::{self, CheckpointData};
use super::optim::{AdaFactorConfig, AdamWConfig, GradNorm, Optimizer, OptimizerConfig, StepOutcome};
use super::{RlBackward, RlForward, Sequence, StepStats, TrainModel, TrainOptions};
use crate::generate::Engine;
use crate::model::{Config, DType, GemmaTokenizer, Weights};
use crate::runtime::Gpu;

/// The optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// AdamW (torch semantics): two f32 moments per parameter.
    Adamw,
    /// AdaFactor (transformers'): factored second moment, no first moment.
    Adafactor,
}

/// Optimizer settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptimSettings {
    /// AdamW or AdaFactor.
    pub kind: OptimizerKind,
    /// Peak learning rate.
    pub lr: f64,
    /// Linear warm-up steps.
    pub warmup: u64,
    /// Learning rate at the end of the cosine decay.
    pub min_lr: f64,
    /// Global gradient-norm clip (`None`: no clipping).
    pub clip: Option<f64>,
    /// Decoupled weight decay of the matrices (AdamW).
    pub weight_decay: f64,
}

impl OptimSettings {
    /// The optimizer's configuration.
    pub fn optimizer_config(&self) -> OptimizerConfig {
        match self.kind {
            OptimizerKind::Adamw => OptimizerConfig::AdamW(AdamWConfig {
                weight_decay: self.weight_decay as f32,
                ..AdamWConfig::default()
            }),
            OptimizerKind::Adafactor => OptimizerConfig::AdaFactor(AdaFactorConfig::default()),
        }
    }

    /// The learning-rate schedule over `total_steps`: linear warm-up from 0, cosine decay to
    /// `min_lr` (transformers' `get_cosine_schedule_with_warmup` with a floor).
    pub fn schedule(&self, total_steps: u64) -> Result<super::optim::LrSchedule> {
        let s = super::optim::LrSchedule {
            peak: self.lr as f32,
            warmup_steps: self.warmup,
            total_steps,
            floor: self.min_lr as f32,
        };
        s.validate().map_err(anyhow::Error::msg)?;
        Ok(s)
    }
}

/// What an optimizer step did.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// `Some(reason)` when the update was skipped (non-finite gradients); the gradients are
    /// zeroed either way.
    pub skipped: Option<String>,
}

/// A model with an optimizer, as a training loop sees it.
pub trait Learner {
    /// Adds the gradients of `sum_t weights[t] * -log p(ids[t] | ids[..t])` over `seqs` to the
    /// accumulated ones; returns that weighted loss.
    fn accumulate(&mut self, seqs: &[Sequence]) -> Result<f64>;
    /// Clips the accumulated gradients, applies one update at learning rate `lr` (or skips it when
    /// they are not finite) and zeroes them.
    fn apply(&mut self, lr: f64) -> Result<Applied>;
    /// Drops the accumulated gradients without an update (a step whose loss is not finite).
    fn discard(&mut self) -> Result<()>;
    /// Replaces the checkpoint `dir` atomically (a crash leaves the previous one whole, see
    /// [`checkpoint`]) with the model (a HuggingFace checkpoint the other commands load), the
    /// optimizer state and `state` (`trainer_state.json`).
    fn save(&mut self, dir: &Path, state: &Value) -> Result<()>;
    /// What it computes on (the GPU adapter's name).
    fn device(&self) -> String {
        "the CPU".into()
    }
}

/// How a [`GpuLearner`] is built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LearnerSettings {
    /// The optimizer.
    pub optim: OptimSettings,
    /// Most tokens one forward/backward packs (micro-batch x longest sequence).
    pub max_tokens: usize,
    /// Rows of logits computed at once in the loss (bounds the largest buffer: rows x vocab f32).
    pub loss_chunk_rows: usize,
    /// Recompute each layer's activations in the backward (less memory, one more forward).
    pub checkpointing: bool,
    /// Give the model a value head (RL with GAE): read from `value_head.safetensors` beside the
    /// start checkpoint when there is one, else initialised to zero (V = 0 everywhere at first;
    /// its gradient reaches the trunk once its weight has moved).
    pub value_head: bool,
}

/// The model, its optimizer and checkpoints on the GPU.
pub struct GpuLearner {
    gpu: Arc<Gpu>,
    model: TrainModel,
    optimizer: Optimizer,
    norm: GradNorm,
    clip: Option<f32>,
    config_json: Value,
    /// tokenizer.json of the start, byte for byte (None: the checkpoint had none)
    tokenizer_json: Option<Vec<u8>>,
    /// the value head: "loaded" or "initialised to zero" (None: no value head)
    value_head_source: Option<String>,
}

impl GpuLearner {
    /// Loads the checkpoint `start` (config.json, safetensors, tokenizer.json) onto the GPU
    /// (`GREEDY_ADAPTER` picks the adapter); with `resume`, its optimizer state too (a checkpoint
    /// at step 0 has none: the fresh model of a run that never updated).
    pub fn open(start: &Path, settings: &LearnerSettings, resume: bool) -> Result<GpuLearner> {
        let gpu = Arc::new(Gpu::new().context("opening the GPU")?);
        Self::open_on(gpu, start, settings, resume)
    }

    /// [`GpuLearner::open`] on an opened GPU.
    pub fn open_on(
        gpu: Arc<Gpu>,
        start: &Path,
        settings: &LearnerSettings,
        resume: bool,
    ) -> Result<GpuLearner> {
        let config = Config::from_dir(start)?;
        let weights = Weights::open_dir(start)?;
        let opts = TrainOptions {
            checkpointing: settings.checkpointing,
            loss_chunk_rows: settings.loss_chunk_rows,
            max_tokens: settings.max_tokens,
        };
        let mut model = TrainModel::from_weights(&gpu, config, &weights, opts)
            .with_context(|| format!("loading {} for training", start.display()))?;
        let mut value_head_source = None;
        if settings.value_head {
            let h = model.config().hidden_size;
            let (w, b, source) = if start.join(checkpoint::VALUE_HEAD_FILE).is_file() {
                let t = checkpoint::read_value_head(start)?;
                if t[0].data.len() != h {
                    bail!(
                        "{}: value_head.weight has {} values, the model's hidden size is {h}",
                        start.join(checkpoint::VALUE_HEAD_FILE).display(),
                        t[0].data.len()
                    );
                }
                (t[0].data.clone(), t[1].data[0], "loaded")
            } else {
                (vec![0.0; h], 0.0, "initialised to zero")
            };
            model.add_value_head(&gpu, &w, b)?;
            value_head_source = Some(source.to_string());
        }
        let mut optimizer = Optimizer::new(&gpu, model.params(), &settings.optim.optimizer_config())?;
        if resume {
            let saved = checkpoint::load(start)?;
            if let Some(state) = saved.optimizer {
                optimizer.load_state(&gpu, &state).context("resuming: restoring the optimizer")?;
            } else if saved.trainer_state.get("step").and_then(Value::as_u64).unwrap_or(0) > 0 {
                bail!("resuming: {} has no optimizer.safetensors", start.display());
            }
        }
        let norm = GradNorm::new(&gpu, model.params())?;
        let config_path = start.join("config.json");
        let config_json = serde_json::from_str(
            &std::fs::read_to_string(&config_path)
                .with_context(|| format!("cannot read {}", config_path.display()))?,
        )
        .with_context(|| format!("{}: not valid JSON", config_path.display()))?;
        let tok_path = start.join("tokenizer.json");
        let tokenizer_json = match tok_path.exists() {
            true => Some(
                std::fs::read(&tok_path).with_context(|| format!("cannot read {}", tok_path.display()))?,
            ),
            false => None,
        };
        Ok(GpuLearner {
            gpu,
            model,
            optimizer,
            norm,
            clip: settings.optim.clip.map(|c| c as f32),
            config_json,
            tokenizer_json,
            value_head_source,
        })
    }

    /// The value head learns at `scale` times the schedule's learning rate (an error without one).
    pub fn set_value_lr_scale(&mut self, scale: f32) -> Result<()> {
        if self.value_head_source.is_none() {
            bail!("the model has no value head");
        }
        for name in [super::VALUE_HEAD_WEIGHT, super::VALUE_HEAD_BIAS] {
            self.optimizer.set_lr_scale(name, scale)?;
        }
        Ok(())
    }

    /// Where the value head came from ("loaded" from value_head.safetensors, or "initialised to
    /// zero"); `None` without one.
    pub fn value_head_source(&self) -> Option<&str> {
        self.value_head_source.as_deref()
    }

    /// The GPU.
    pub fn gpu(&self) -> &Arc<Gpu> {
        &self.gpu
    }

    /// The trainable model.
    pub fn model(&self) -> &TrainModel {
        &self.model
    }

    /// The trainable model, mutably (forward-only passes: [`TrainModel::token_logprobs`]).
    pub fn model_mut(&mut self) -> &mut TrainModel {
        &mut self.model
    }

    /// The optimizer.
    pub fn optimizer(&self) -> &Optimizer {
        &self.optimizer
    }

    /// The model's tokenizer (an error when its checkpoint had no tokenizer.json).
    pub fn tokenizer(&self) -> Result<GemmaTokenizer> {
        let bytes = self.tokenizer_json.as_ref().context("the model has no tokenizer.json")?;
        Ok(GemmaTokenizer::from_bytes(bytes, "tokenizer.json")?)
    }

    /// Forward, `coef(log-probs)` (per sequence, per target), then the backward of
    /// `sum coef * (-log p)`: the RL objective's per-token coefficients from the current
    /// log-probs (see [`TrainModel::forward_backward_with`]). Gradients accumulate.
    pub fn accumulate_with<F>(&mut self, seqs: &[Sequence], coef: F) -> Result<StepStats>
    where
        F: FnOnce(&[Vec<f32>]) -> Result<Vec<Vec<f32>>>,
    {
        self.model.forward_backward_with(&self.gpu, seqs, coef)
    }

    /// [`GpuLearner::accumulate_with`] with the value head's term (see
    /// [`TrainModel::forward_backward_rl`]). Gradients accumulate.
    pub fn accumulate_rl<F>(&mut self, seqs: &[Sequence], f: F) -> Result<StepStats>
    where
        F: FnOnce(&RlForward) -> Result<RlBackward>,
    {
        self.model.forward_backward_rl(&self.gpu, seqs, f)
    }

    /// Per sequence: log p of its targets and (with a value head) its V, no gradient.
    pub fn logprobs_and_values(&mut self, seqs: &[Sequence]) -> Result<RlForward> {
        self.model.logprobs_and_values(&self.gpu, seqs)
    }

    /// Per sequence, per target: log p under the current weights (no gradient).
    pub fn token_logprobs(&mut self, seqs: &[Sequence]) -> Result<Vec<Vec<f32>>> {
        self.model.token_logprobs(&self.gpu, seqs)
    }

    /// A generation engine over the LIVE weights (the same GPU buffers, no copy): what it
    /// generates follows every optimizer step. Building it allocates no weights.
    pub fn engine(&self) -> Result<Engine> {
        let tok = self.tokenizer_json.as_ref().map(|_| self.tokenizer()).transpose()?;
        Engine::from_train_model(Arc::clone(&self.gpu), &self.model, tok)
    }

    /// The checkpoint of the current weights (f32), config, tokenizer, optimizer state and `state`.
    pub fn checkpoint_data(&self, state: &Value) -> Result<CheckpointData> {
        Ok(CheckpointData {
            tensors: checkpoint::download_params(&self.gpu, self.model.params())?,
            dtype: DType::F32,
            config_json: self.config_json.clone(),
            tokenizer_json: self.tokenizer_json.clone(),
            optimizer: Some(self.optimizer.export_state(&self.gpu)?),
            trainer_state: state.clone(),
        })
    }
}

impl Learner for GpuLearner {
    fn accumulate(&mut self, seqs: &[Sequence]) -> Result<f64> {
        Ok(self.model.forward_backward(&self.gpu, seqs)?.loss)
    }

    fn apply(&mut self, lr: f64) -> Result<Applied> {
        let stats = self.norm.compute(&self.gpu, self.model.params())?;
        let outcome = self.optimizer.step(&self.gpu, self.model.params(), lr as f32, &stats, self.clip)?;
        self.model.zero_grads(&self.gpu)?;
        Ok(match outcome {
            StepOutcome::Applied { grad_norm, .. } => Applied { grad_norm: grad_norm as f64, skipped: None },
            StepOutcome::Skipped { reason } => {
                Applied { grad_norm: stats.norm as f64, skipped: Some(reason) }
            }
        })
    }

    fn discard(&mut self) -> Result<()> {
        self.model.zero_grads(&self.gpu)
    }

    fn save(&mut self, dir: &Path, state: &Value) -> Result<()> {
        checkpoint::save(dir, &self.checkpoint_data(state)?)?;
        Ok(())
    }

    fn device(&self) -> String {
        self.gpu.adapter_info().name.clone()
    }
}
