//! Generation with the GPU model: [`Engine`] loads a checkpoint directory,
//! computes full logits, and generates for a batch of prompts of different
//! lengths at once (prefill all prompts in one ragged forward, then one
//! forward per new token for every unfinished sequence), sampling on the CPU
//! ([`sampler`]) from a seeded per-sequence [`env_core::Rng`] stream.
//! Across calls the engine keeps each cache slot's tokens and prefills only
//! what a prompt adds to them ([`prefix`]: prefix caching, on by default).

pub mod engine;
pub mod prefix;
pub mod sampler;
pub mod score;

pub use engine::{Engine, EngineMemory};
pub use prefix::PrefixStats;
pub use score::ScoreOptions;

/// The weight dtype on the GPU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum WeightDType {
    /// As stored in the checkpoint (bf16 stays bf16, decoded in the shaders).
    #[default]
    Auto,
    /// f32.
    F32,
    /// IEEE half.
    F16,
    /// bfloat16.
    #[cfg_attr(feature = "clap", value(name = "bf16"))]
    #[serde(rename = "bf16")]
    BF16,
}

/// How to load an [`Engine`].
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    pub dtype: WeightDType,
    /// adapter selector (index or name substring); None reads `GREEDY_ADAPTER`
    pub adapter: Option<String>,
}

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct GenerateOptions {
    pub max_new_tokens: usize,
    /// 0 = greedy
    pub temperature: f32,
    pub top_k: Option<usize>,
    pub top_p: Option<f32>,
    /// sequence b of a batch draws from `Rng::from_stream(seed, b)`
    pub seed: u64,
    /// empty = the model's eos ids + `<end_of_turn>` when the tokenizer has it
    pub stop_ids: Vec<u32>,
    /// Also report, per generated token, the entropy of the model's full distribution at that
    /// step (temperature 1; RL's `entropy`); one more pass over each logits row on the CPU.
    pub entropy: bool,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            max_new_tokens: 64,
            temperature: 0.0,
            top_k: None,
            top_p: None,
            seed: 0,
            stop_ids: Vec::new(),
            entropy: false,
        }
    }
}

impl GenerateOptions {
    pub fn sampler(&self) -> sampler::SamplerConfig {
        sampler::SamplerConfig { temperature: self.temperature, top_k: self.top_k, top_p: self.top_p }
    }
}

/// Why a sequence stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// it produced this stop id (included in `ids`)
    Eos(u32),
    /// it used up `max_new_tokens`
    MaxTokens,
}

/// One sequence's output.
#[derive(Clone, Debug, PartialEq)]
pub struct Generation {
    /// generated ids only, the stop token included if one stopped it
    pub ids: Vec<u32>,
    /// log p of each generated token under the distribution it was drawn from
    /// (temperature-scaled, top-k/top-p renormalised; greedy: temperature 1)
    pub logprobs: Vec<f32>,
    pub stop: StopReason,
    /// with [`GenerateOptions::entropy`]: the entropy (nats) of the model's temperature-1
    /// distribution at each generated token; empty otherwise
    pub entropies: Vec<f32>,
}
