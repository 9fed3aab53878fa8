//! The full CPU f32 reference forward of Gemma2 / Gemma3-text (SPEC section 9),
//! composed from [`crate::cpu::ops`]; checked against HuggingFace
//! transformers' logits by `tests/reference_*.rs`.
//!
//! Per layer: h = RMSNorm_in(x); q, k, v = h Wq^T, h Wk^T, h Wv^T;
//! (Gemma3: per-head RMSNorm of q and k); RoPE with the layer's theta;
//! scores * query_pre_attn_scalar^-0.5; softcap (if any); causal mask, plus
//! the sliding window on local layers only; softmax; P v; o Wo^T;
//! x += RMSNorm_post_attn(o); h = RMSNorm_pre_ffw(x);
//! x += RMSNorm_post_ffw(down(gelu_tanh(gate(h)) * up(h))).
//! Then the final RMSNorm, the tied (or separate) head, and the final softcap.

use crate::cpu::ops;
use crate::model::weights::expected_tensors;
use crate::model::{Config, ModelError, Result, Weights};
use std::path::Path;

/// The f32 weights of one decoder layer ([out, in] projections).
#[derive(Clone, Debug)]
pub struct LayerWeights {
    pub input_layernorm: Vec<f32>,
    pub q_proj: Vec<f32>,
    pub k_proj: Vec<f32>,
    pub v_proj: Vec<f32>,
    pub o_proj: Vec<f32>,
    /// Gemma3 only
    pub q_norm: Option<Vec<f32>>,
    /// Gemma3 only
    pub k_norm: Option<Vec<f32>>,
    pub post_attention_layernorm: Vec<f32>,
    pub pre_feedforward_layernorm: Vec<f32>,
    pub gate_proj: Vec<f32>,
    pub up_proj: Vec<f32>,
    pub down_proj: Vec<f32>,
    pub post_feedforward_layernorm: Vec<f32>,
}

/// A model with every weight as f32 in memory.
#[derive(Clone, Debug)]
pub struct CpuModel {
    /// read by `forward` on every call: changing a layer's `window` here
    /// changes the mask (tests use that)
    pub config: Config,
    /// [vocab, hidden]
    pub embed_tokens: Vec<f32>,
    pub layers: Vec<LayerWeights>,
    /// final RMSNorm weight [hidden]
    pub norm: Vec<f32>,
    /// [vocab, hidden] when the head is not tied to the embedding
    pub lm_head: Option<Vec<f32>>,
}

impl CpuModel {
    /// Loads `config.json` and the safetensors weights of a model directory
    /// (any of F32 / BF16 / F16, upcast to f32), checking every tensor.
    pub fn load(dir: &Path) -> Result<Self> {
        let config = Config::from_dir(dir)?;
        let weights = Weights::open_dir(dir)?;
        Self::from_weights(config, &weights)
    }

    /// Builds from an opened checkpoint; names and shapes are checked against `config`.
    pub fn from_weights(config: Config, w: &Weights) -> Result<Self> {
        w.check(&config)?;
        if let Some((i, l)) = config.layers.iter().enumerate().find(|(_, l)| l.rope_factor != 1.0) {
            return Err(ModelError::new(
                "config.json",
                format!(
                    "layer {i}: linear RoPE scaling (factor {}) is not supported by the CPU reference",
                    l.rope_factor
                ),
            ));
        }
        let shapes = expected_tensors(&config);
        let get = |name: &str| -> Result<Vec<f32>> {
            let shape = &shapes.iter().find(|(n, _)| n == name).expect("expected tensor").1;
            w.to_f32_shaped(name, shape)
        };
        let mut layers = Vec::with_capacity(config.num_layers);
        for i in 0..config.num_layers {
            let p = format!("model.layers.{i}");
            let opt = |n: &str| {
                if config.qk_norm { get(&format!("{p}.self_attn.{n}.weight")).map(Some) } else { Ok(None) }
            };
            layers.push(LayerWeights {
                input_layernorm: get(&format!("{p}.input_layernorm.weight"))?,
                q_proj: get(&format!("{p}.self_attn.q_proj.weight"))?,
                k_proj: get(&format!("{p}.self_attn.k_proj.weight"))?,
                v_proj: get(&format!("{p}.self_attn.v_proj.weight"))?,
                o_proj: get(&format!("{p}.self_attn.o_proj.weight"))?,
                q_norm: opt("q_norm")?,
                k_norm: opt("k_norm")?,
                post_attention_layernorm: get(&format!("{p}.post_attention_layernorm.weight"))?,
                pre_feedforward_layernorm: get(&format!("{p}.pre_feedforward_layernorm.weight"))?,
                gate_proj: get(&format!("{p}.mlp.gate_proj.weight"))?,
                up_proj: get(&format!("{p}.mlp.up_proj.weight"))?,
                down_proj: get(&format!("{p}.mlp.down_proj.weight"))?,
                post_feedforward_layernorm: get(&format!("{p}.post_feedforward_layernorm.weight"))?,
            });
        }
        Ok(Self {
            embed_tokens: get("model.embed_tokens.weight")?,
            norm: get("model.norm.weight")?,
            lm_head: if config.tie_word_embeddings { None } else { Some(get("lm_head.weight")?) },
            layers,
            config,
        })
    }

    /// Hidden states after the final RMSNorm, [T, hidden], for one sequence
    /// at positions 0..T.
    ///
    /// Panics if an id is not below `vocab_size`.
    pub fn hidden_states(&self, ids: &[u32]) -> Vec<f32> {
        let c = &self.config;
        let (t, h, hd, f) = (ids.len(), c.hidden_size, c.head_dim, c.intermediate_size);
        let (nh, nkv) = (c.num_heads, c.num_kv_heads);
        let eps = c.rms_norm_eps;
        let pos: Vec<u32> = (0..t as u32).collect();
        for &id in ids {
            assert!((id as usize) < c.vocab_size, "token id {id} is not below vocab_size {}", c.vocab_size);
        }

        let mut x = ops::embedding(ids, &self.embed_tokens, h, c.embed_scale());
        for (lw, lc) in self.layers.iter().zip(&c.layers) {
            // attention block
            let hn = ops::rms_norm(&x, &lw.input_layernorm, h, eps);
            let mut q = ops::matmul_t(&hn, &lw.q_proj, t, h, nh * hd);
            let mut k = ops::matmul_t(&hn, &lw.k_proj, t, h, nkv * hd);
            let v = ops::matmul_t(&hn, &lw.v_proj, t, h, nkv * hd);
            if let (Some(qn), Some(kn)) = (&lw.q_norm, &lw.k_norm) {
                q = ops::rms_norm(&q, qn, hd, eps);
                k = ops::rms_norm(&k, kn, hd, eps);
            }
            ops::rope(&mut q, &pos, nh, hd, lc.rope_theta);
            ops::rope(&mut k, &pos, nkv, hd, lc.rope_theta);
            let p = ops::AttnParams {
                heads: nh,
                kv_heads: nkv,
                head_dim: hd,
                scale: c.attn_scale(),
                softcap: c.attn_softcap,
                window: lc.window,
            };
            let a = ops::attention(&q, &k, &v, &pos, &pos, &p);
            let o = ops::matmul_t(&a, &lw.o_proj, t, nh * hd, h);
            let o = ops::rms_norm(&o, &lw.post_attention_layernorm, h, eps);
            x = ops::add(&x, &o);

            // feed-forward block
            let hn = ops::rms_norm(&x, &lw.pre_feedforward_layernorm, h, eps);
            let gate = ops::matmul_t(&hn, &lw.gate_proj, t, h, f);
            let up = ops::matmul_t(&hn, &lw.up_proj, t, h, f);
            let m = ops::geglu(&gate, &up);
            let d = ops::matmul_t(&m, &lw.down_proj, t, f, h);
            let d = ops::rms_norm(&d, &lw.post_feedforward_layernorm, h, eps);
            x = ops::add(&x, &d);
        }
        ops::rms_norm(&x, &self.norm, h, eps)
    }

    /// Logits [T, vocab] of one sequence at positions 0..T (final softcap applied).
    ///
    /// Panics if an id is not below `vocab_size`.
    pub fn forward(&self, ids: &[u32]) -> Vec<f32> {
        let c = &self.config;
        let x = self.hidden_states(ids);
        let head = self.lm_head.as_deref().unwrap_or(&self.embed_tokens);
        let mut logits = ops::matmul_t(&x, head, ids.len(), c.hidden_size, c.vocab_size);
        if let Some(cap) = c.final_softcap {
            ops::softcap(&mut logits, cap);
        }
        logits
    }
}
