//! llama.cpp's tensor names for Gemma2 / Gemma3 (gguf-py's `tensor_mapping.py`)
//! and their HuggingFace names, dimension order and norm convention.
//!
//! | GGUF | HuggingFace |
//! |---|---|
//! | `token_embd.weight` | `model.embed_tokens.weight` |
//! | `output_norm.weight` | `model.norm.weight` |
//! | `output.weight` | `lm_head.weight` (only when not tied) |
//! | `blk.N.attn_norm.weight` | `model.layers.N.input_layernorm.weight` |
//! | `blk.N.attn_{q,k,v}.weight` | `model.layers.N.self_attn.{q,k,v}_proj.weight` |
//! | `blk.N.attn_output.weight` | `model.layers.N.self_attn.o_proj.weight` |
//! | `blk.N.attn_{q,k}_norm.weight` | `model.layers.N.self_attn.{q,k}_norm.weight` |
//! | `blk.N.post_attention_norm.weight` | `model.layers.N.post_attention_layernorm.weight` |
//! | `blk.N.ffn_norm.weight` | `model.layers.N.pre_feedforward_layernorm.weight` |
//! | `blk.N.ffn_{gate,up,down}.weight` | `model.layers.N.mlp.{gate,up,down}_proj.weight` |
//! | `blk.N.post_ffw_norm.weight` | `model.layers.N.post_feedforward_layernorm.weight` |
//!
//! Dimensions: GGUF lists `ne[0]` (the fastest-varying) first, so a HuggingFace
//! `[out, in]` matrix is stored as `[in, out]` with the same bytes: the shape is
//! reversed and the data kept.
//!
//! Norms: llama.cpp's converter adds 1 to every Gemma RMSNorm weight (it
//! computes `x * w`, HuggingFace `x * (1 + w)`), q_norm and k_norm included;
//! [`is_shifted_norm`] names the tensors to subtract 1 from. (Checked on
//! gemma-3-270m: for every norm tensor, stored - 1 is exactly a bf16 value, as
//! the bf16 checkpoint's weights are, while stored alone often is not.)

/// The HuggingFace name of a Gemma GGUF tensor, or `None` if it has none.
pub fn hf_name(gguf: &str) -> Option<String> {
    use crate::model::names::{EMBED_TOKENS, FINAL_NORM, LM_HEAD, LayerTensor as T};
    match gguf {
        "token_embd.weight" => return Some(EMBED_TOKENS.into()),
        "output_norm.weight" => return Some(FINAL_NORM.into()),
        "output.weight" => return Some(LM_HEAD.into()),
        _ => {}
    }
    let rest = gguf.strip_prefix("blk.")?;
    let (layer, part) = rest.split_once('.')?;
    if layer.is_empty()
        || !layer.bytes().all(|b| b.is_ascii_digit())
        || (layer.len() > 1 && layer.starts_with('0'))
    {
        return None;
    }
    let t = match part {
        "attn_norm.weight" => T::InputLayernorm,
        "attn_q.weight" => T::QProj,
        "attn_k.weight" => T::KProj,
        "attn_v.weight" => T::VProj,
        "attn_output.weight" => T::OProj,
        "attn_q_norm.weight" => T::QNorm,
        "attn_k_norm.weight" => T::KNorm,
        "post_attention_norm.weight" => T::PostAttentionLayernorm,
        "ffn_norm.weight" => T::PreFeedforwardLayernorm,
        "ffn_gate.weight" => T::GateProj,
        "ffn_up.weight" => T::UpProj,
        "ffn_down.weight" => T::DownProj,
        "post_ffw_norm.weight" => T::PostFeedforwardLayernorm,
        _ => return None,
    };
    Some(t.name(layer.parse().ok()?))
}

/// The layer index of a `blk.N.*` tensor.
pub fn layer_of(gguf: &str) -> Option<usize> {
    gguf.strip_prefix("blk.")?.split_once('.')?.0.parse().ok()
}

/// Is this GGUF tensor an RMSNorm weight stored as `1 + w`?
pub fn is_shifted_norm(gguf: &str) -> bool {
    gguf.ends_with("norm.weight")
}

/// The HuggingFace shape of a tensor with GGUF dims `dims` (reversed).
pub fn hf_shape(dims: &[u64]) -> Vec<usize> {
    dims.iter().rev().map(|&d| d as usize).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(hf_name("blk.17.attn_q_norm.weight").unwrap(), "model.layers.17.self_attn.q_norm.weight");
        assert_eq!(
            hf_name("blk.0.ffn_norm.weight").unwrap(),
            "model.layers.0.pre_feedforward_layernorm.weight"
        );
        assert_eq!(hf_name("token_embd.weight").unwrap(), "model.embed_tokens.weight");
        assert_eq!(hf_name("blk.x.attn_q.weight"), None);
        assert_eq!(hf_name("blk.01.attn_q.weight"), None);
        assert_eq!(hf_name("blk.1.attn_qkv.weight"), None);
        assert_eq!(hf_name("rope_freqs.weight"), None);
        assert_eq!(layer_of("blk.12.ffn_up.weight"), Some(12));
        assert!(is_shifted_norm("blk.3.attn_k_norm.weight") && is_shifted_norm("output_norm.weight"));
        assert!(!is_shifted_norm("blk.3.attn_k.weight"));
        assert_eq!(hf_shape(&[640, 1024]), vec![1024, 640]);
    }
}
