//! The HuggingFace tensor names of a Gemma2 / Gemma3-text checkpoint (SPEC section 9), spelled
//! here once: the loader ([`super::weights`]), the GPU model ([`super::gemma`]), the training
//! model ([`crate::train::model`]) and the GGUF converter ([`crate::gguf::names`]) all name
//! tensors through this module. Weights are `[out, in]`.

use super::Config;

/// `model.embed_tokens.weight` [V, H] (also the LM head when tied).
pub const EMBED_TOKENS: &str = "model.embed_tokens.weight";
/// `model.norm.weight` [H]: the final RMSNorm.
pub const FINAL_NORM: &str = "model.norm.weight";
/// `lm_head.weight` [V, H], only when the head is not tied.
pub const LM_HEAD: &str = "lm_head.weight";

/// One decoder layer's tensors (H = hidden, D = head_dim, NH / NKV = query / kv heads,
/// F = intermediate size).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LayerTensor {
    /// `input_layernorm.weight` [H]
    InputLayernorm,
    /// `self_attn.q_proj.weight` [NH * D, H]
    QProj,
    /// `self_attn.k_proj.weight` [NKV * D, H]
    KProj,
    /// `self_attn.v_proj.weight` [NKV * D, H]
    VProj,
    /// `self_attn.o_proj.weight` [H, NH * D]
    OProj,
    /// `self_attn.q_norm.weight` [D] (Gemma3)
    QNorm,
    /// `self_attn.k_norm.weight` [D] (Gemma3)
    KNorm,
    /// `post_attention_layernorm.weight` [H]
    PostAttentionLayernorm,
    /// `pre_feedforward_layernorm.weight` [H]
    PreFeedforwardLayernorm,
    /// `mlp.gate_proj.weight` [F, H]
    GateProj,
    /// `mlp.up_proj.weight` [F, H]
    UpProj,
    /// `mlp.down_proj.weight` [H, F]
    DownProj,
    /// `post_feedforward_layernorm.weight` [H]
    PostFeedforwardLayernorm,
}

impl LayerTensor {
    /// Every layer tensor, in checkpoint order.
    pub const ALL: [LayerTensor; 13] = [
        LayerTensor::InputLayernorm,
        LayerTensor::QProj,
        LayerTensor::KProj,
        LayerTensor::VProj,
        LayerTensor::OProj,
        LayerTensor::QNorm,
        LayerTensor::KNorm,
        LayerTensor::PostAttentionLayernorm,
        LayerTensor::PreFeedforwardLayernorm,
        LayerTensor::GateProj,
        LayerTensor::UpProj,
        LayerTensor::DownProj,
        LayerTensor::PostFeedforwardLayernorm,
    ];

    /// The name after `model.layers.N.`.
    pub fn suffix(self) -> &'static str {
        match self {
            LayerTensor::InputLayernorm => "input_layernorm.weight",
            LayerTensor::QProj => "self_attn.q_proj.weight",
            LayerTensor::KProj => "self_attn.k_proj.weight",
            LayerTensor::VProj => "self_attn.v_proj.weight",
            LayerTensor::OProj => "self_attn.o_proj.weight",
            LayerTensor::QNorm => "self_attn.q_norm.weight",
            LayerTensor::KNorm => "self_attn.k_norm.weight",
            LayerTensor::PostAttentionLayernorm => "post_attention_layernorm.weight",
            LayerTensor::PreFeedforwardLayernorm => "pre_feedforward_layernorm.weight",
            LayerTensor::GateProj => "mlp.gate_proj.weight",
            LayerTensor::UpProj => "mlp.up_proj.weight",
            LayerTensor::DownProj => "mlp.down_proj.weight",
            LayerTensor::PostFeedforwardLayernorm => "post_feedforward_layernorm.weight",
        }
    }

    /// The full name in layer `layer`.
    pub fn name(self, layer: usize) -> String {
        format!("model.layers.{layer}.{}", self.suffix())
    }

    /// Does a model of `c` have this tensor (q_norm / k_norm: Gemma3 only)?
    pub fn present(self, c: &Config) -> bool {
        !matches!(self, LayerTensor::QNorm | LayerTensor::KNorm) || c.qk_norm
    }

    /// Its shape in a model of `c`.
    pub fn shape(self, c: &Config) -> Vec<usize> {
        let (h, hd, ff) = (c.hidden_size, c.head_dim, c.intermediate_size);
        match self {
            LayerTensor::InputLayernorm
            | LayerTensor::PostAttentionLayernorm
            | LayerTensor::PreFeedforwardLayernorm
            | LayerTensor::PostFeedforwardLayernorm => vec![h],
            LayerTensor::QProj => vec![c.num_heads * hd, h],
            LayerTensor::KProj | LayerTensor::VProj => vec![c.num_kv_heads * hd, h],
            LayerTensor::OProj => vec![h, c.num_heads * hd],
            LayerTensor::QNorm | LayerTensor::KNorm => vec![hd],
            LayerTensor::GateProj | LayerTensor::UpProj => vec![ff, h],
            LayerTensor::DownProj => vec![h, ff],
        }
    }
}

/// Every tensor of a model of `c` with its shape, in checkpoint order: the embedding, each
/// layer's tensors, the final norm, and the LM head when not tied.
pub fn tensors(c: &Config) -> Vec<(String, Vec<usize>)> {
    let mut v = vec![(EMBED_TOKENS.to_string(), vec![c.vocab_size, c.hidden_size])];
    for i in 0..c.num_layers {
        for t in LayerTensor::ALL.into_iter().filter(|t| t.present(c)) {
            v.push((t.name(i), t.shape(c)));
        }
    }
    v.push((FINAL_NORM.to_string(), vec![c.hidden_size]));
    if !c.tie_word_embeddings {
        v.push((LM_HEAD.to_string(), vec![c.vocab_size, c.hidden_size]));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_huggingface_ones() {
        assert_eq!(LayerTensor::QProj.name(3), "model.layers.3.self_attn.q_proj.weight");
        assert_eq!(
            LayerTensor::PostFeedforwardLayernorm.name(0),
            "model.layers.0.post_feedforward_layernorm.weight"
        );
        let all: std::collections::HashSet<&str> = LayerTensor::ALL.iter().map(|t| t.suffix()).collect();
        assert_eq!(all.len(), 13, "distinct");
    }
}
