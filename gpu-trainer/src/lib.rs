//! `gpu-trainer`: Gemma2 / Gemma3-text forward (later backward) through the
//! project's own WGSL compute shaders on wgpu (Vulkan, Metal, DX12), each
//! kernel checked against the CPU f32 reference in [`cpu::ops`].
//!
//! - [`atomic`]: atomic file and directory output, stale temporaries of killed writers.
//! - [`runtime`]: adapter choice (`GREEDY_ADAPTER`), device with real limits,
//!   kernel registry, [`runtime::Batch`] (many dispatches, one submit).
//! - [`tensor`]: [`tensor::Tensor`] (f32 / f16 / bf16 / u32, split into row
//!   parts past one storage binding).
//! - [`kernels`]: one module per shaders/<name>.wgsl, forward now, backward beside it.
//! - [`cpu`]: the f32 reference (ops, and the full model forward in [`cpu::model`]).
//! - [`model`]: loading HuggingFace checkpoints: config.json, safetensors, tokenizer.json;
//!   [`model::gemma`]: the GPU model (one ragged-batch forward, one submit).
//! - [`gguf`]: llama.cpp GGUF files (dequantization, names, vocabulary) -> a checkpoint directory.
//! - [`kv_cache`]: per-layer K/V for a batch of sequences of different lengths.
//! - [`generate`]: [`generate::Engine`]: logits, batched generation, CPU sampling.
//! - [`envs`]: the environments as runs see them: settings, episode seeds and records, the
//!   contextual bandit's tables (synthetic or MovieLens-1M).
//! - [`agent`]: the LLM agent: prompts, answers, ONE lock-step rollout over any environment
//!   with the token ids and log-probs of every completion.
//! - [`progress`]: progress of long work, for whoever shows it.
//! - [`rl`]: RL fine-tuning on the model's own chain-of-thought (RLFT).
//! - [`diagnose`]: the frequency-bias and knowing-doing studies on a model.
//! - [`eval`]: baseline agents and the LLM agent over many seeded episodes, summarised.
//! - [`shard`]: a run split into shards (episodes or contexts `i mod N == I`), what each shard
//!   records, and the checks before the shards are merged back exactly.
//! - [`sweep`]: sweep files: a grid of settings expanded into named runs and their shards.

pub mod agent;
pub mod atomic;
pub mod cpu;
pub mod diagnose;
pub mod envs;
pub mod eval;
pub mod generate;
pub mod gguf;
pub mod kernels;
pub mod kv_cache;
pub mod model;
pub mod progress;
pub mod rl;
pub mod runtime;
pub mod shard;
pub mod sweep;
pub mod tensor;
pub mod train;

pub use runtime::{Batch, Gpu, GpuError, GpuOptions};
pub use tensor::{DType, Tensor};
