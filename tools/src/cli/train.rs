//! Arguments of `greedy train sft` and `greedy train init`. Every setting can also come from
//! `--config FILE.json` (keys as the flag names); a flag on the command line wins over the file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use serde::Deserialize;

use crate::train::data::TargetMode;

/// `greedy train <what>`.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// What to train.
    #[command(subcommand)]
    pub command: TrainCommand,
}

/// The training subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum TrainCommand {
    /// Supervised fine-tuning on expert data (UCB rationales or actions) or a JSONL file.
    Sft(Box<SftArgs>),
    /// Write a freshly initialised model (`--init`) with its tokenizer to --out, without training.
    Init(Box<SftArgs>),
}

/// The optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adam with decoupled weight decay.
    Adamw,
    /// AdaFactor (factored second moments; the paper's choice).
    Adafactor,
}

/// `greedy train sft` arguments.
#[derive(Debug, Clone, Default, Args, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[command(after_help = SFT_EXAMPLES)]
pub struct SftArgs {
    /// Settings file (JSON) with any of these flags as keys (`"steps": 200`, `"arms": [5]`);
    /// flags on the command line override it.
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Start from this HuggingFace checkpoint (config.json, safetensors, tokenizer.json).
    #[arg(long, value_name = "DIR", conflicts_with = "init", help_heading = "Model")]
    pub model: Option<PathBuf>,
    /// Start from a fresh model: `tiny` (shape from the flags below), or a config.json-style
    /// FILE whose vocab_size is replaced by the learned tokenizer's.
    #[arg(long, value_name = "tiny|FILE.json", help_heading = "Model")]
    pub init: Option<String>,
    /// --init tiny: hidden size [default: 96].
    #[arg(long, help_heading = "Model")]
    pub hidden: Option<usize>,
    /// --init tiny: decoder layers, even ones local (sliding window) [default: 4].
    #[arg(long, help_heading = "Model")]
    pub layers: Option<usize>,
    /// --init tiny: query heads [default: 4].
    #[arg(long, help_heading = "Model")]
    pub heads: Option<usize>,
    /// --init tiny: key/value heads, divides --heads [default: 2].
    #[arg(long, help_heading = "Model")]
    pub kv_heads: Option<usize>,
    /// --init tiny: dimension of a head (even) [default: 24].
    #[arg(long, help_heading = "Model")]
    pub head_dim: Option<usize>,
    /// --init tiny: MLP intermediate size [default: 288].
    #[arg(long, help_heading = "Model")]
    pub ffn: Option<usize>,
    /// --init tiny: sliding window of the local layers [default: 64].
    #[arg(long, help_heading = "Model")]
    pub window: Option<usize>,
    /// --init: longest sequence, max_position_embeddings [default: 1024].
    #[arg(long, help_heading = "Model")]
    pub context: Option<usize>,
    /// --init: tokenizer size (BPE learned on the training data's text), 384..=65536 [default: 1024].
    #[arg(long, help_heading = "Model")]
    pub vocab: Option<usize>,

    /// Training data: `ucb` (the UCB expert on Gaussian bandits) or a JSONL file of
    /// {"prompt": ..., "target": ...} lines (prompt = the full text, chat turns included) [default: ucb].
    #[arg(long, value_name = "ucb|FILE.jsonl", help_heading = "Data")]
    pub data: Option<String>,
    /// ucb: thought cloning (UCB rationale, then ACTION=X) or behaviour cloning (ACTION=X only)
    /// [default: thought].
    #[arg(long, value_enum, help_heading = "Data")]
    pub mode: Option<TargetMode>,
    /// ucb: number of arms; repeat for several settings [default: 5].
    #[arg(long, help_heading = "Data")]
    #[serde(default)]
    pub arms: Vec<usize>,
    /// ucb: reward noise sigma; repeat for several settings (crossed with --arms) [default: 1].
    #[arg(long, allow_negative_numbers = true, help_heading = "Data")]
    #[serde(default)]
    pub sigma: Vec<f64>,
    /// ucb: action labels: colour names (the paper's main setting) or 0..k-1 [default: buttons].
    #[arg(long, value_enum, help_heading = "Data")]
    pub labels: Option<crate::cli::eval::LabelKind>,
    /// ucb: steps per episode (the prompt grows with it) [default: 20].
    #[arg(long, help_heading = "Data")]
    pub horizon: Option<usize>,
    /// ucb: expert episodes per (arms, sigma) setting [default: 512].
    #[arg(long, help_heading = "Data")]
    pub expert_episodes: Option<usize>,
    /// ucb: prompts end with each arm's count and mean reward (evaluate with `--summary` too).
    #[arg(long, help_heading = "Data")]
    #[serde(default)]
    pub summary: bool,
    /// Longest training sequence in tokens [default: the model's context].
    #[arg(long, help_heading = "Data")]
    pub max_len: Option<usize>,

    /// Optimizer steps (the learning-rate schedule spans them) [default: 1000].
    #[arg(long, help_heading = "Optimization")]
    pub steps: Option<u64>,
    /// Sequences per optimizer step [default: 16].
    #[arg(long, help_heading = "Optimization")]
    pub batch: Option<usize>,
    /// Sequences per forward/backward; gradients accumulate over batch / micro-batch of them
    /// [default: --batch].
    #[arg(long, help_heading = "Optimization")]
    pub micro_batch: Option<usize>,
    /// Peak learning rate [default: 1e-3 with --init, 1e-4 with --model].
    #[arg(long, help_heading = "Optimization")]
    pub lr: Option<f64>,
    /// Linear warm-up steps, then cosine decay to --min-lr [default: steps / 10, at most 100].
    #[arg(long, help_heading = "Optimization")]
    pub warmup: Option<u64>,
    /// Learning rate at the end of the cosine decay [default: lr / 100].
    #[arg(long, help_heading = "Optimization")]
    pub min_lr: Option<f64>,
    /// Optimizer [default: adamw].
    #[arg(long, value_enum, help_heading = "Optimization")]
    pub optimizer: Option<OptimizerKind>,
    /// Clip the global gradient norm to this (0: no clipping) [default: 1].
    #[arg(long, help_heading = "Optimization")]
    pub clip: Option<f64>,
    /// Decoupled weight decay of the matrices (AdamW) [default: 0].
    #[arg(long, help_heading = "Optimization")]
    pub weight_decay: Option<f64>,

    /// Seed of the data, the data order and the fresh model [default: 0].
    #[arg(long, help_heading = "Run", allow_negative_numbers = true, value_parser = crate::cli::parse_seed)]
    pub seed: Option<u64>,
    /// Run directory: checkpoint/ (the latest model, loadable by every command), log.jsonl,
    /// loss.png/svg, settings.json [default: runs/sft].
    #[arg(long, value_name = "DIR", help_heading = "Run")]
    pub out: Option<PathBuf>,
    /// Continue the run in --out from its checkpoint: same data order, same schedule.
    #[arg(long, help_heading = "Run")]
    #[serde(default)]
    pub resume: bool,
    /// Save a checkpoint every N steps (and always at the end) [default: 100].
    #[arg(long, help_heading = "Run")]
    pub save_every: Option<u64>,
    /// Stop (and save) after this step although the schedule spans --steps; `--resume` goes on.
    #[arg(long, help_heading = "Run")]
    pub stop_at: Option<u64>,
    /// No progress bar (the JSONL log is written either way).
    #[arg(long, help_heading = "Run")]
    #[serde(default)]
    pub quiet: bool,
}

impl SftArgs {
    /// These arguments with the unset ones taken from `--config`, if given.
    pub fn with_config(self) -> Result<SftArgs> {
        let Some(path) = self.config.clone() else { return Ok(self) };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("--config: cannot read {}", path.display()))?;
        let file: SftArgs = serde_json::from_str(&text)
            .with_context(|| format!("--config: {} is not a valid settings file", path.display()))?;
        Ok(self.or(file))
    }

    /// Each setting from `self` if set, else from `other`.
    fn or(self, o: SftArgs) -> SftArgs {
        let list = |a: Vec<usize>, b: Vec<usize>| if a.is_empty() { b } else { a };
        SftArgs {
            config: self.config,
            model: self.model.or(o.model),
            init: self.init.or(o.init),
            hidden: self.hidden.or(o.hidden),
            layers: self.layers.or(o.layers),
            heads: self.heads.or(o.heads),
            kv_heads: self.kv_heads.or(o.kv_heads),
            head_dim: self.head_dim.or(o.head_dim),
            ffn: self.ffn.or(o.ffn),
            window: self.window.or(o.window),
            context: self.context.or(o.context),
            vocab: self.vocab.or(o.vocab),
            data: self.data.or(o.data),
            mode: self.mode.or(o.mode),
            arms: list(self.arms, o.arms),
            sigma: if self.sigma.is_empty() { o.sigma } else { self.sigma },
            labels: self.labels.or(o.labels),
            horizon: self.horizon.or(o.horizon),
            expert_episodes: self.expert_episodes.or(o.expert_episodes),
            summary: self.summary || o.summary,
            max_len: self.max_len.or(o.max_len),
            steps: self.steps.or(o.steps),
            batch: self.batch.or(o.batch),
            micro_batch: self.micro_batch.or(o.micro_batch),
            lr: self.lr.or(o.lr),
            warmup: self.warmup.or(o.warmup),
            min_lr: self.min_lr.or(o.min_lr),
            optimizer: self.optimizer.or(o.optimizer),
            clip: self.clip.or(o.clip),
            weight_decay: self.weight_decay.or(o.weight_decay),
            seed: self.seed.or(o.seed),
            out: self.out.or(o.out),
            resume: self.resume || o.resume,
            save_every: self.save_every.or(o.save_every),
            stop_at: self.stop_at.or(o.stop_at),
            quiet: self.quiet || o.quiet,
        }
    }

    /// The run directory.
    pub fn out_dir(&self) -> &Path {
        self.out.as_deref().unwrap_or(Path::new("runs/sft"))
    }
}

const SFT_EXAMPLES: &str = "\
Examples:
  # Thought cloning from scratch: a tiny Gemma2 and its own BPE, trained on UCB rationales
  greedy train sft --init tiny --data ucb --mode thought --arms 5 --horizon 10 --summary \\
      --steps 300 --batch 16 --lr 2e-3 --out runs/sft-tiny

  # A bigger fresh model, AdaFactor, behaviour cloning on two noise levels
  greedy train sft --init tiny --hidden 256 --layers 6 --heads 8 --kv-heads 4 --head-dim 32 \\
      --mode behaviour --arms 10 --sigma 0.1 --sigma 1 --optimizer adafactor --out runs/bc

  # Fine-tune a checkpoint on your own (prompt, target) pairs, micro-batches of 4
  greedy train sft --model models/gemma-2-2b-it --data pairs.jsonl --batch 32 --micro-batch 4 \\
      --lr 1e-4 --warmup 100 --clip 1 --steps 2000 --out runs/ft

  # Stop at step 150 and continue later: the same data order, schedule and result
  greedy train sft --init tiny --steps 300 --stop-at 150 --out runs/a
  greedy train sft --init tiny --steps 300 --out runs/a --resume

  # Evaluate what came out (use the prompt settings it was trained with)
  greedy eval --env mab --arms 5 --horizon 10 --summary --agent llm --agent ucb --model runs/sft-tiny/checkpoint

Outputs in --out: checkpoint/ (model.safetensors, config.json, tokenizer.json, optimizer.safetensors,
trainer_state.json; replaced atomically), log.jsonl (one line per step: step, loss, lr, grad_norm,
tokens, target_tokens, tokens_per_s, skipped), loss.png/svg, settings.json.";
