//! The HuggingFace `config.json` that a Gemma2 / Gemma3 GGUF's metadata describes.
//!
//! Read from `{arch}.*` (arch = `general.architecture`, "gemma2" or "gemma3"):
//! `embedding_length`, `feed_forward_length`, `block_count`, `attention.head_count`,
//! `attention.head_count_kv`, `attention.key_length` (= head_dim; `value_length` must agree),
//! `attention.layer_norm_rms_epsilon`, `attention.sliding_window`, `context_length`,
//! `rope.freq_base`, `rope.scaling.{type,factor}`, and for Gemma2 the two softcaps.
//! What llama.cpp does not store, it fixes per architecture (src/llama-model.cpp), and so
//! does this converter:
//! - Gemma3: every 6th layer global (5, 11, 17, ...), unless the file has
//!   `attention.sliding_window_pattern`; local layers use RoPE theta 10000 (or
//!   `rope.freq_base_swa`), global ones `rope.freq_base` (and the linear scaling, if any);
//!   no softcaps.
//! - Gemma2: even layers local, odd global; one theta; softcaps from the file (50 and 30 when absent).
//! - `query_pre_attn_scalar`: head_dim, except the 27B models (Gemma2 with 46 layers,
//!   Gemma3 with 62), which use hidden / heads.
//!
//! Both RoPE forms are written: `rope_parameters` per layer type (newer transformers)
//! and `rope_theta` + `rope_local_base_freq` (older).

use super::reader::{GgufFile, MetaValue};
use super::{GgufError, Result};
use serde_json::{Value, json};

/// Which Gemma a GGUF holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    Gemma2,
    Gemma3,
}

impl Arch {
    /// `general.architecture` of the file.
    pub fn of(g: &GgufFile) -> Result<Self> {
        let key = "general.architecture";
        match g.get(key).map(|v| v.as_str()) {
            Some(Some("gemma2")) => Ok(Arch::Gemma2),
            Some(Some("gemma3")) => Ok(Arch::Gemma3),
            Some(Some(other)) => Err(GgufError::Unsupported {
                file: g.label(),
                message: format!(
                    "metadata \"{key}\" is \"{other}\": only \"gemma2\" and \"gemma3\" (text) can be converted"
                ),
            }),
            Some(None) => Err(bad(g, key, "must be a string".into())),
            None => Err(bad(g, key, "is missing".into())),
        }
    }

    /// the metadata prefix ("gemma3")
    pub fn prefix(self) -> &'static str {
        match self {
            Arch::Gemma2 => "gemma2",
            Arch::Gemma3 => "gemma3",
        }
    }
}

fn bad(g: &GgufFile, key: &str, message: String) -> GgufError {
    GgufError::BadMetadata { file: g.label(), key: key.into(), message }
}

/// Typed metadata access with errors naming the key.
struct Meta<'a> {
    g: &'a GgufFile,
    prefix: &'static str,
}

impl Meta<'_> {
    fn key(&self, k: &str) -> String {
        format!("{}.{k}", self.prefix)
    }

    fn opt_u64(&self, k: &str) -> Result<Option<u64>> {
        let key = self.key(k);
        match self.g.get(&key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| bad(self.g, &key, format!("must be a non-negative integer, got {v:?}"))),
        }
    }

    fn dim(&self, k: &str) -> Result<u64> {
        match self.opt_u64(k)? {
            Some(0) => Err(bad(self.g, &self.key(k), "must be positive, got 0".into())),
            Some(n) => Ok(n),
            None => Err(bad(self.g, &self.key(k), "is missing".into())),
        }
    }

    fn opt_f64(&self, k: &str) -> Result<Option<f64>> {
        let key = self.key(k);
        match self.g.get(&key) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(x) if x.is_finite() => Ok(Some(x)),
                _ => Err(bad(self.g, &key, format!("must be a finite number, got {v:?}"))),
            },
        }
    }

    fn positive(&self, k: &str, default: f64) -> Result<f64> {
        match self.opt_f64(k)?.unwrap_or(default) {
            x if x > 0.0 => Ok(x),
            x => Err(bad(self.g, &self.key(k), format!("must be positive, got {x}"))),
        }
    }
}

/// Local (`false`) / global (`true`) per layer, from `attention.sliding_window_pattern`
/// (a period, or one bool per layer, true = sliding) or the architecture's fixed pattern.
fn global_layers(m: &Meta, arch: Arch, n: usize) -> Result<Vec<bool>> {
    let key = m.key("attention.sliding_window_pattern");
    match m.g.get(&key) {
        Some(MetaValue::Array(a)) => {
            if a.len() != n {
                return Err(bad(m.g, &key, format!("has {} entries for {n} layers", a.len())));
            }
            a.iter()
                .map(|v| {
                    v.as_bool().map(|swa| !swa).ok_or_else(|| bad(m.g, &key, "entries must be bools".into()))
                })
                .collect()
        }
        Some(v) => match v.as_u64() {
            Some(p) if p > 0 => Ok((0..n).map(|i| (i + 1) % p as usize == 0).collect()),
            _ => Err(bad(m.g, &key, format!("must be a positive period or a list of bools, got {v:?}"))),
        },
        None => Ok(match arch {
            Arch::Gemma2 => (0..n).map(|i| i % 2 == 1).collect(),
            Arch::Gemma3 => (0..n).map(|i| (i + 1) % 6 == 0).collect(),
        }),
    }
}

/// The model's `config.json` as JSON. `vocab_size` is the number of tokens;
/// `bos`/`eos`/`pad` the tokenizer's special ids; `torch_dtype` the weights' dtype name.
pub fn config_json(
    g: &GgufFile,
    arch: Arch,
    vocab_size: usize,
    special: [Option<u32>; 3],
    torch_dtype: &str,
) -> Result<Value> {
    let m = Meta { g, prefix: arch.prefix() };
    let hidden = m.dim("embedding_length")?;
    let layers = m.dim("block_count")? as usize;
    // Nothing is sized by block_count before it matches the tensor table (a patched count of
    // 10^7 must not build 10^7 layer entries).
    let blocks = g.tensors.iter().filter_map(|t| super::names::layer_of(&t.name)).max().map_or(0, |b| b + 1);
    if layers != blocks {
        return Err(bad(
            g,
            &m.key("block_count"),
            format!(
                "is {layers}, but the tensor table holds {blocks} blocks (blk.0 .. blk.{})",
                blocks.saturating_sub(1)
            ),
        ));
    }
    let ffn_key = m.key("feed_forward_length");
    let ffn = match g.get(&ffn_key) {
        Some(MetaValue::Array(_)) => {
            return Err(bad(
                g,
                &ffn_key,
                "per-layer sizes are not supported (one size for every layer)".into(),
            ));
        }
        _ => m.dim("feed_forward_length")?,
    };
    let heads = m.dim("attention.head_count")?;
    let kv_heads = m.opt_u64("attention.head_count_kv")?.unwrap_or(heads);
    if kv_heads == 0 || heads % kv_heads != 0 {
        return Err(bad(
            g,
            &m.key("attention.head_count_kv"),
            format!("{kv_heads} does not divide {heads} heads"),
        ));
    }
    let head_dim = match m.opt_u64("attention.key_length")? {
        Some(d) => d,
        None if hidden % heads == 0 => hidden / heads,
        None => return Err(bad(g, &m.key("attention.key_length"), "is missing".into())),
    };
    if let Some(v) = m.opt_u64("attention.value_length")?
        && v != head_dim
    {
        let msg = format!("is {v} but attention.key_length is {head_dim}; Gemma needs them equal");
        return Err(bad(g, &m.key("attention.value_length"), msg));
    }
    let eps_key = m.key("attention.layer_norm_rms_epsilon");
    let eps = m
        .opt_f64("attention.layer_norm_rms_epsilon")?
        .ok_or_else(|| bad(g, &eps_key, "is missing".into()))?;
    if eps < 0.0 {
        return Err(bad(g, &eps_key, format!("must not be negative, got {eps}")));
    }
    let window = match m.opt_u64("attention.sliding_window")? {
        Some(0) => return Err(bad(g, &m.key("attention.sliding_window"), "must be positive".into())),
        Some(w) => w,
        None if arch == Arch::Gemma2 => 4096,
        None => return Err(bad(g, &m.key("attention.sliding_window"), "is missing".into())),
    };
    let global = global_layers(&m, arch, layers)?;
    let layer_types: Vec<&str> =
        global.iter().map(|&gl| if gl { "full_attention" } else { "sliding_attention" }).collect();
    let is_27b = matches!((arch, layers), (Arch::Gemma2, 46) | (Arch::Gemma3, 62));
    let query_pre_attn_scalar = if is_27b { hidden / heads } else { head_dim };

    let (global_theta, local_theta) = match arch {
        Arch::Gemma2 => {
            let t = m.positive("rope.freq_base", 10_000.0)?;
            (t, t)
        }
        Arch::Gemma3 => {
            (m.positive("rope.freq_base", 1_000_000.0)?, m.positive("rope.freq_base_swa", 10_000.0)?)
        }
    };
    let scaling_key = m.key("rope.scaling.type");
    let scaling = match g.get(&scaling_key).map(|v| v.as_str()) {
        None | Some(Some("none")) => None,
        Some(Some("linear")) => Some(m.positive("rope.scaling.factor", 1.0)?),
        Some(other) => {
            let msg = format!("is {other:?}: only \"linear\" RoPE scaling is supported");
            return Err(bad(g, &scaling_key, msg));
        }
    };
    let full_rope = match scaling {
        None => json!({"rope_type": "default", "rope_theta": global_theta}),
        Some(f) => json!({"rope_type": "linear", "factor": f, "rope_theta": global_theta}),
    };
    let (attn_cap, final_cap) = match arch {
        Arch::Gemma2 => (
            json!(m.positive("attn_logit_softcapping", 50.0)?),
            json!(m.positive("final_logit_softcapping", 30.0)?),
        ),
        Arch::Gemma3 => (Value::Null, Value::Null),
    };
    let [bos, eos, pad] = special;
    let (model_type, architecture) = match arch {
        Arch::Gemma2 => ("gemma2", "Gemma2ForCausalLM"),
        Arch::Gemma3 => ("gemma3_text", "Gemma3ForCausalLM"),
    };
    let mut c = json!({
        "architectures": [architecture],
        "model_type": model_type,
        "vocab_size": vocab_size,
        "hidden_size": hidden,
        "intermediate_size": ffn,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "head_dim": head_dim,
        "rms_norm_eps": eps,
        "hidden_activation": "gelu_pytorch_tanh",
        "query_pre_attn_scalar": query_pre_attn_scalar,
        "attn_logit_softcapping": attn_cap,
        "final_logit_softcapping": final_cap,
        "sliding_window": window,
        "layer_types": layer_types,
        "rope_parameters": {
            "sliding_attention": {"rope_type": "default", "rope_theta": local_theta},
            "full_attention": full_rope,
        },
        "rope_theta": global_theta,
        "attention_bias": false,
        "attention_dropout": 0.0,
        "tie_word_embeddings": g.tensor("output.weight").is_none(),
        "bos_token_id": bos,
        "eos_token_id": eos,
        "pad_token_id": pad,
        "torch_dtype": torch_dtype,
        "use_cache": true,
    });
    if arch == Arch::Gemma3 {
        c["rope_local_base_freq"] = json!(local_theta);
        c["rope_scaling"] = match scaling {
            None => Value::Null,
            Some(f) => json!({"rope_type": "linear", "factor": f}),
        };
        c["use_bidirectional_attention"] = json!(false);
    }
    if let Some(n) = m.opt_u64("context_length")? {
        c["max_position_embeddings"] = json!(n);
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    enum V {
        U32(u32),
        F32(f32),
        Str(&'static str),
    }

    /// A GGUF file with these metadata entries and one small tensor per block 0..blocks
    /// (`blk.N.attn_norm.weight`, 8 f32s: the tensor table is what block_count is checked
    /// against).
    fn file_with(kv: &[(&str, V)], blocks: usize) -> GgufFile {
        let mut b = b"GGUF".to_vec();
        b.extend(3u32.to_le_bytes());
        b.extend((blocks as u64).to_le_bytes());
        b.extend((kv.len() as u64).to_le_bytes());
        let s = |b: &mut Vec<u8>, x: &str| {
            b.extend((x.len() as u64).to_le_bytes());
            b.extend(x.as_bytes());
        };
        for (k, v) in kv {
            s(&mut b, k);
            match v {
                V::U32(x) => b.extend(4u32.to_le_bytes().into_iter().chain(x.to_le_bytes())),
                V::F32(x) => b.extend(6u32.to_le_bytes().into_iter().chain(x.to_le_bytes())),
                V::Str(x) => {
                    b.extend(8u32.to_le_bytes());
                    s(&mut b, x);
                }
            }
        }
        for i in 0..blocks {
            s(&mut b, &format!("blk.{i}.attn_norm.weight"));
            b.extend(1u32.to_le_bytes()); // one dimension
            b.extend(8u64.to_le_bytes());
            b.extend(0u32.to_le_bytes()); // F32
            b.extend((i as u64 * 32).to_le_bytes());
        }
        b.resize(b.len().next_multiple_of(32) + blocks * 32, 0);
        // deleted when `file` drops, also when a test panics; the opened GgufFile no longer needs it
        let file = tempfile::Builder::new().prefix("greedy-hf-config-").suffix(".gguf").tempfile().unwrap();
        std::fs::write(file.path(), &b).unwrap();
        GgufFile::open(file.path()).unwrap()
    }

    fn dims(arch: &'static str, layers: u32, hidden: u32, heads: u32, head_dim: u32) -> Vec<(String, V)> {
        vec![
            ("general.architecture".into(), V::Str(arch)),
            (format!("{arch}.embedding_length"), V::U32(hidden)),
            (format!("{arch}.block_count"), V::U32(layers)),
            (format!("{arch}.feed_forward_length"), V::U32(64)),
            (format!("{arch}.attention.head_count"), V::U32(heads)),
            (format!("{arch}.attention.head_count_kv"), V::U32(heads / 2)),
            (format!("{arch}.attention.key_length"), V::U32(head_dim)),
            (format!("{arch}.attention.layer_norm_rms_epsilon"), V::F32(1e-6)),
        ]
    }

    /// The config of a file with these entries and as many blocks as its block_count says.
    fn config(kv: Vec<(String, V)>) -> Value {
        let blocks = kv
            .iter()
            .find_map(|(k, v)| match v {
                V::U32(n) if k.ends_with(".block_count") => Some(*n as usize),
                _ => None,
            })
            .unwrap_or(0);
        config_with_blocks(kv, blocks).unwrap()
    }

    fn config_with_blocks(kv: Vec<(String, V)>, blocks: usize) -> Result<Value> {
        let kv: Vec<(&str, V)> = kv.iter().map(|(k, v)| (k.as_str(), clone(v))).collect();
        let g = file_with(&kv, blocks);
        config_json(&g, Arch::of(&g).unwrap(), 100, [Some(2), Some(1), Some(0)], "float32")
    }

    #[test]
    fn block_count_must_match_the_tensor_table() {
        // a patched count (10^7 blocks in a file of 4) is refused before anything is sized by it
        let e = config_with_blocks(dims("gemma2", 10_000_000, 64, 4, 16), 4).unwrap_err().to_string();
        assert!(e.contains("block_count") && e.contains("10000000") && e.contains("4 blocks"), "{e}");
        let e = config_with_blocks(dims("gemma2", 2, 64, 4, 16), 3).unwrap_err().to_string();
        assert!(e.contains("block_count") && e.contains("3 blocks"), "{e}");
    }

    fn clone(v: &V) -> V {
        match v {
            V::U32(x) => V::U32(*x),
            V::F32(x) => V::F32(*x),
            V::Str(x) => V::Str(x),
        }
    }

    #[test]
    fn gemma2_defaults_and_alternating_layers() {
        let c = config(dims("gemma2", 4, 64, 4, 16));
        assert_eq!(c["model_type"], "gemma2");
        assert_eq!(
            c["layer_types"],
            json!(["sliding_attention", "full_attention", "sliding_attention", "full_attention"])
        );
        assert_eq!(
            (c["attn_logit_softcapping"].as_f64(), c["final_logit_softcapping"].as_f64()),
            (Some(50.0), Some(30.0))
        );
        assert_eq!(c["sliding_window"], 4096);
        assert_eq!(c["query_pre_attn_scalar"], 16);
        assert_eq!(c["rope_parameters"]["sliding_attention"]["rope_theta"], 10_000.0);
        assert_eq!(c["rope_parameters"]["full_attention"]["rope_theta"], 10_000.0);
    }

    #[test]
    fn the_27b_models_scale_by_hidden_over_heads() {
        // gemma-2-27b: 46 layers, hidden 4608, 32 heads of 128 -> 144 (SPEC section 9)
        let c = config(dims("gemma2", 46, 4608, 32, 128));
        assert_eq!(c["query_pre_attn_scalar"], 144);
        let mut kv = dims("gemma3", 62, 5376, 32, 128);
        kv.push(("gemma3.attention.sliding_window".into(), V::U32(1024)));
        assert_eq!(config(kv)["query_pre_attn_scalar"], 168);
    }

    #[test]
    fn gemma3_pattern_thetas_and_scaling_from_the_file() {
        let mut kv = dims("gemma3", 7, 64, 4, 16);
        kv.push(("gemma3.attention.sliding_window".into(), V::U32(512)));
        let c = config(kv);
        let global: Vec<usize> = (0..7).filter(|&i| c["layer_types"][i] == "full_attention").collect();
        assert_eq!(global, vec![5], "every 6th layer is global");
        assert_eq!(c["rope_parameters"]["full_attention"]["rope_theta"], 1_000_000.0);
        assert_eq!(c["rope_local_base_freq"], 10_000.0);

        let mut kv = dims("gemma3", 6, 64, 4, 16);
        kv.push(("gemma3.attention.sliding_window".into(), V::U32(512)));
        kv.push(("gemma3.attention.sliding_window_pattern".into(), V::U32(3)));
        kv.push(("gemma3.rope.freq_base_swa".into(), V::F32(20_000.0)));
        kv.push(("gemma3.rope.scaling.type".into(), V::Str("linear")));
        kv.push(("gemma3.rope.scaling.factor".into(), V::F32(8.0)));
        let c = config(kv);
        let global: Vec<usize> = (0..6).filter(|&i| c["layer_types"][i] == "full_attention").collect();
        assert_eq!(global, vec![2, 5]);
        assert_eq!(c["rope_parameters"]["sliding_attention"]["rope_theta"], 20_000.0);
        assert_eq!(
            c["rope_parameters"]["full_attention"],
            json!({"rope_type": "linear", "factor": 8.0, "rope_theta": 1e6})
        );
        let parsed = crate::model::Config::from_json_str(&c.to_string(), "config.json").unwrap();
        assert_eq!((parsed.layers[2].rope_factor, parsed.layers[1].rope_factor), (8.0, 1.0));
        assert_eq!(parsed.layers[1].rope_theta, 20_000.0);
    }
}
