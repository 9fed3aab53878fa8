//! Freshly initialised small Gemma2 models (`--init tiny`), written as HuggingFace checkpoint
//! directories (`config.json`, `model.safetensors` in f32, `tokenizer.json`) that every loader of
//! the project reads.
//!
//! Initialisation is HuggingFace Gemma2's: every matrix (embedding and projections) ~ N(0, 0.02),
//! every RMSNorm weight 0 (Gemma norms scale by 1 + w). Tensor `i` (in
//! [`expected_tensors`] order) draws from `Rng::from_stream(seed, i)`, so the same seed gives the
//! same bytes on every machine.

use std::path::Path;

use crate::model::weights::{expected_tensors, f32_bytes, write_safetensors};
use crate::model::{Config, DType};
use anyhow::{Context, Result, bail};
use env_core::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::atomic::write_file;

/// Standard deviation of the initial matrices (transformers' `initializer_range`).
pub const INIT_STD: f64 = 0.02;

/// The shape of a small Gemma2 (`--init tiny` and its flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelShape {
    /// Hidden size.
    pub hidden: usize,
    /// Decoder layers (even ones local, odd ones global, as in Gemma2).
    pub layers: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads (grouped-query attention: divides `heads`).
    pub kv_heads: usize,
    /// Dimension of one head (even).
    pub head_dim: usize,
    /// MLP intermediate size.
    pub ffn: usize,
    /// Sliding window of the local layers (keep it below the context so they differ).
    pub window: usize,
    /// Longest sequence (`max_position_embeddings`).
    pub context: usize,
}

impl ModelShape {
    /// The default tiny model: about 0.7 M parameters besides the embedding.
    pub const TINY: ModelShape = ModelShape {
        hidden: 96,
        layers: 4,
        heads: 4,
        kv_heads: 2,
        head_dim: 24,
        ffn: 288,
        window: 64,
        context: 1024,
    };

    /// Checks every size; errors name the flag.
    pub fn validate(&self) -> Result<()> {
        let check = |flag: &str, v: usize, lo: usize, hi: usize| -> Result<()> {
            if v < lo || v > hi {
                bail!("invalid value {v} for {flag}: allowed {lo}..={hi}");
            }
            Ok(())
        };
        check("--hidden", self.hidden, 2, 65_536)?;
        check("--layers", self.layers, 1, 256)?;
        check("--heads", self.heads, 1, 256)?;
        check("--kv-heads", self.kv_heads, 1, self.heads)?;
        check("--head-dim", self.head_dim, 2, 1024)?;
        check("--ffn", self.ffn, 1, 1 << 20)?;
        check("--context", self.context, 2, 1 << 20)?;
        check("--window", self.window, 1, self.context)?;
        if !self.heads.is_multiple_of(self.kv_heads) {
            bail!("invalid value {} for --kv-heads: it must divide --heads ({})", self.kv_heads, self.heads);
        }
        if !self.head_dim.is_multiple_of(2) {
            bail!("invalid value {} for --head-dim: RoPE needs an even head dimension", self.head_dim);
        }
        Ok(())
    }

    /// The `config.json` of this shape with a vocabulary of `vocab` tokens (Gemma2, f32, the
    /// Gemma softcaps 50 / 30, `query_pre_attn_scalar` = head_dim, RoPE theta 10000).
    pub fn config_json(&self, vocab: usize) -> Value {
        let layer_types: Vec<&str> = (0..self.layers)
            .map(|i| if i % 2 == 0 { "sliding_attention" } else { "full_attention" })
            .collect();
        json!({
            "architectures": ["Gemma2ForCausalLM"],
            "model_type": "gemma2",
            "attention_bias": false,
            "attention_dropout": 0.0,
            "attn_logit_softcapping": 50.0,
            "final_logit_softcapping": 30.0,
            "bos_token_id": 2,
            "eos_token_id": 1,
            "pad_token_id": 0,
            "head_dim": self.head_dim,
            "hidden_activation": "gelu_pytorch_tanh",
            "hidden_size": self.hidden,
            "initializer_range": INIT_STD,
            "intermediate_size": self.ffn,
            "layer_types": layer_types,
            "max_position_embeddings": self.context,
            "num_attention_heads": self.heads,
            "num_hidden_layers": self.layers,
            "num_key_value_heads": self.kv_heads,
            "query_pre_attn_scalar": self.head_dim,
            "rms_norm_eps": 1e-6,
            "rope_parameters": {"rope_theta": 10000.0, "rope_type": "default"},
            "sliding_window": self.window,
            "tie_word_embeddings": true,
            "torch_dtype": "float32",
            "use_cache": true,
            "vocab_size": vocab,
        })
    }
}

impl Default for ModelShape {
    fn default() -> Self {
        ModelShape::TINY
    }
}

/// Reads a `config.json`-style file to start from (`--init FILE.json`) and sets its vocabulary
/// to `vocab`; it must describe a Gemma2 or Gemma3-text model the loader accepts.
pub fn config_from_file(path: &Path, vocab: usize) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("--init: cannot read {}", path.display()))?;
    let mut v: Value = serde_json::from_str(&text)
        .with_context(|| format!("--init: {} is not valid JSON", path.display()))?;
    let Some(obj) = v.as_object_mut() else {
        bail!("--init: {} must hold a JSON object (a HuggingFace config.json)", path.display());
    };
    obj.insert("vocab_size".into(), json!(vocab));
    let config = Config::from_json_str(&v.to_string(), &path.display().to_string())?;
    check_fresh_size(&config).with_context(|| format!("--init {}", path.display()))?;
    Ok(v)
}

/// The most parameters of a model made from scratch (4 GB of f32 weights, written and then
/// trained with 16 bytes per parameter): past it, start from a checkpoint (`--model`).
pub const MAX_FRESH_PARAMS: usize = 1_000_000_000;

/// Fails when `config` describes a model too large to make from scratch ([`MAX_FRESH_PARAMS`]).
pub fn check_fresh_size(config: &Config) -> Result<()> {
    let n = parameter_count(config);
    if n > MAX_FRESH_PARAMS {
        bail!(
            "the config describes {n} parameters ({:.1} GB of f32 weights); a fresh model is limited to {MAX_FRESH_PARAMS} (start from a checkpoint with --model instead)",
            n as f64 * 4e-9
        );
    }
    Ok(())
}

/// Every tensor of `config`, freshly initialised: (name, shape, f32 values).
pub fn init_tensors(config: &Config, seed: u64) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    expected_tensors(config)
        .into_iter()
        .enumerate()
        .map(|(i, (name, shape))| {
            let n: usize = shape.iter().product();
            let values = if name.ends_with("norm.weight") {
                vec![0.0; n]
            } else {
                let mut rng = Rng::from_stream(seed, i as u64);
                (0..n).map(|_| rng.normal(0.0, INIT_STD) as f32).collect()
            };
            (name, shape, values)
        })
        .collect()
}

/// Writes a checkpoint directory: `config.json` (from `config_json`), `tokenizer.json`, and
/// `model.safetensors` with weights initialised from `seed`. Returns the resolved config.
pub fn write_initial_checkpoint(
    dir: &Path,
    config_json: &Value,
    tokenizer_json: &str,
    seed: u64,
) -> Result<Config> {
    let config = Config::from_json_str(&config_json.to_string(), "config.json")?;
    check_fresh_size(&config)?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tensors = init_tensors(&config, seed);
    let bytes: Vec<Vec<u8>> = tensors.iter().map(|(_, _, v)| f32_bytes(v)).collect();
    let views: Vec<(&str, DType, &[usize], &[u8])> = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), b)| (name.as_str(), DType::F32, shape.as_slice(), b.as_slice()))
        .collect();
    write_safetensors(&dir.join("model.safetensors"), &views)
        .with_context(|| format!("writing {}/model.safetensors", dir.display()))?;
    let mut text = serde_json::to_string_pretty(config_json)?;
    text.push('\n');
    write_file(&dir.join("config.json"), text.as_bytes())?;
    write_file(&dir.join("tokenizer.json"), tokenizer_json.as_bytes())?;
    Ok(config)
}

/// Number of parameters of `config` (the tied embedding counted once).
pub fn parameter_count(config: &Config) -> usize {
    expected_tensors(config).iter().map(|(_, s)| s.iter().product::<usize>()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_config_resolves_as_written() {
        let shape = ModelShape {
            hidden: 32,
            layers: 3,
            heads: 4,
            kv_heads: 2,
            head_dim: 8,
            ffn: 48,
            window: 16,
            context: 64,
        };
        shape.validate().unwrap();
        let c = Config::from_json_str(&shape.config_json(400).to_string(), "config.json").unwrap();
        assert_eq!((c.vocab_size, c.hidden_size, c.num_layers, c.head_dim), (400, 32, 3, 8));
        assert_eq!((c.num_heads, c.num_kv_heads, c.intermediate_size), (4, 2, 48));
        assert_eq!(c.layers.iter().map(|l| l.window).collect::<Vec<_>>(), vec![Some(16), None, Some(16)]);
        assert_eq!((c.attn_softcap, c.final_softcap, c.query_pre_attn_scalar), (Some(50.0), Some(30.0), 8.0));
        assert_eq!(c.max_position_embeddings, Some(64));
    }

    #[test]
    fn init_statistics_and_determinism() {
        let shape = ModelShape {
            hidden: 64,
            layers: 2,
            heads: 2,
            kv_heads: 1,
            head_dim: 16,
            ffn: 96,
            window: 8,
            context: 32,
        };
        let c = Config::from_json_str(&shape.config_json(512).to_string(), "config.json").unwrap();
        let t = init_tensors(&c, 5);
        assert_eq!(t.len(), expected_tensors(&c).len());
        let embed = &t[0].2;
        let n = embed.len() as f64;
        let mean = embed.iter().map(|&x| x as f64).sum::<f64>() / n;
        let sd = (embed.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!(mean.abs() < 0.002 && (sd - 0.02).abs() < 0.001, "mean {mean} sd {sd}");
        for (name, _, v) in &t {
            if name.ends_with("norm.weight") {
                assert!(v.iter().all(|&x| x == 0.0), "{name} starts at zero (scale 1 + w)");
            }
        }
        assert_ne!(t[2].2, t[3].2, "each tensor has its own stream");
        assert_eq!(init_tensors(&c, 5)[2].2, t[2].2);
        assert_ne!(init_tensors(&c, 6)[2].2, t[2].2);
        assert_eq!(
            parameter_count(&c),
            512 * 64 + 2 * (64 * 4 + 64 * 32 + 2 * 64 * 16 + 32 * 64 + 3 * 64 * 96) + 64
        );
    }

    #[test]
    fn bad_shapes_name_the_flag() {
        let mut s = ModelShape::TINY;
        s.kv_heads = 3;
        assert!(s.validate().unwrap_err().to_string().contains("--kv-heads"));
        s = ModelShape::TINY;
        s.head_dim = 7;
        assert!(s.validate().unwrap_err().to_string().contains("--head-dim"));
        s = ModelShape::TINY;
        s.window = 5000;
        assert!(s.validate().unwrap_err().to_string().contains("--window"));
    }
}
