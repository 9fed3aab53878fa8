//! The GPU learner: `gpu_trainer`'s training model ([`TrainModel`]), optimizer (AdamW or
//! AdaFactor with global-norm clipping) and checkpoints behind [`Learner`].

use std::path::Path;

use anyhow::{Context, Result};
use gpu_trainer::model::{DType, Weights};
use gpu_trainer::runtime::Gpu;
use gpu_trainer::train::checkpoint::{self, CheckpointData};
use gpu_trainer::train::optim::{
    AdaFactorConfig, AdamWConfig, GradNorm, Optimizer, OptimizerConfig, StepOutcome,
};
use gpu_trainer::train::{Sequence, TrainModel, TrainOptions};
use serde_json::Value;

use crate::cli::train::OptimizerKind;
use crate::train::batch::WeightedSequence;
use crate::train::run::{Prepared, SftOutcome, run_sft_with};
use crate::train::settings::{OptimSettings, SftSettings};
use crate::train::trainer::{Applied, Learner, TrainerState};

/// Rows of logits computed at once in the loss (bounds the largest buffer: rows x vocab f32).
const LOSS_CHUNK_ROWS: usize = 256;

/// The model and its optimizer on the GPU.
pub struct GpuLearner {
    gpu: Gpu,
    model: TrainModel,
    optimizer: Optimizer,
    norm: GradNorm,
    clip: Option<f32>,
    config_json: Value,
    tokenizer_json: Vec<u8>,
}

/// The optimizer of the settings.
pub fn optimizer_config(o: &OptimSettings) -> OptimizerConfig {
    match o.kind {
        OptimizerKind::Adamw => OptimizerConfig::AdamW(AdamWConfig {
            weight_decay: o.weight_decay as f32,
            ..AdamWConfig::default()
        }),
        OptimizerKind::Adafactor => OptimizerConfig::AdaFactor(AdaFactorConfig::default()),
    }
}

impl GpuLearner {
    /// Loads the prepared checkpoint onto the GPU (`GREEDY_ADAPTER` picks the adapter); when
    /// resuming, the optimizer state too.
    pub fn open(p: &Prepared, settings: &SftSettings) -> Result<GpuLearner> {
        let gpu = Gpu::new().context("opening the GPU")?;
        let weights = Weights::open_dir(&p.start)?;
        let opts = TrainOptions {
            checkpointing: false,
            loss_chunk_rows: LOSS_CHUNK_ROWS,
            max_tokens: settings.micro_batch * p.max_len,
        };
        let model = TrainModel::from_weights(&gpu, p.config.clone(), &weights, opts)
            .with_context(|| format!("loading {} for training", p.start.display()))?;
        let mut optimizer = Optimizer::new(&gpu, model.params(), &optimizer_config(&settings.optim))?;
        // resuming at step 0 (the fresh model of --init, killed before its first update) needs
        // no optimizer state: it has none yet
        if p.resume && p.state.step > 0 {
            let saved = checkpoint::load(&p.start)?;
            let state = saved
                .optimizer
                .with_context(|| format!("--resume: {} has no optimizer.safetensors", p.start.display()))?;
            optimizer.load_state(&gpu, &state).context("--resume: restoring the optimizer")?;
        }
        let norm = GradNorm::new(&gpu, model.params())?;
        let config_path = p.start.join("config.json");
        let config_json = serde_json::from_str(
            &std::fs::read_to_string(&config_path)
                .with_context(|| format!("cannot read {}", config_path.display()))?,
        )
        .with_context(|| format!("{}: not valid JSON", config_path.display()))?;
        let tok_path = p.start.join("tokenizer.json");
        let tokenizer_json =
            std::fs::read(&tok_path).with_context(|| format!("cannot read {}", tok_path.display()))?;
        Ok(GpuLearner {
            gpu,
            model,
            optimizer,
            norm,
            clip: settings.optim.clip.map(|c| c as f32),
            config_json,
            tokenizer_json,
        })
    }
}

impl Learner for GpuLearner {
    fn accumulate(&mut self, seqs: &[WeightedSequence]) -> Result<f64> {
        let seqs: Vec<Sequence> =
            seqs.iter().map(|s| Sequence::new(s.ids.clone(), s.weights.clone())).collect();
        Ok(self.model.forward_backward(&self.gpu, &seqs)?.loss)
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

    fn save(&mut self, dir: &Path, state: &TrainerState) -> Result<()> {
        let data = CheckpointData {
            tensors: checkpoint::download_params(&self.gpu, self.model.params())?,
            dtype: DType::F32,
            config_json: self.config_json.clone(),
            tokenizer_json: Some(self.tokenizer_json.clone()),
            optimizer: Some(self.optimizer.export_state(&self.gpu)?),
            trainer_state: serde_json::to_value(state)?,
        };
        checkpoint::save(dir, &data)?;
        Ok(())
    }

    fn device(&self) -> String {
        self.gpu.adapter_info().name.clone()
    }
}

/// Runs `greedy train sft` on the GPU; `stop` ends it early with a checkpoint.
pub fn run_sft(settings: &SftSettings, stop: &crate::signals::StopRequest) -> Result<SftOutcome> {
    run_sft_with(settings, stop, |p| GpuLearner::open(p, settings))
}
