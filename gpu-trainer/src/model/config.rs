//! `config.json` of a HuggingFace Gemma2 (`model_type: "gemma2"`) or Gemma3
//! text (`"gemma3_text"`, or `"gemma3"` with a `text_config`) checkpoint,
//! resolved into one [`Config`]: per-layer kind, RoPE theta and window, the
//! softcaps, the attention scale, the special token ids.
//!
//! Both the older and the newer forms that transformers writes are read:
//! * older: `rope_theta` (+ `rope_local_base_freq`, `rope_scaling` for
//!   Gemma3), no `layer_types` (Gemma2: even layers local; Gemma3: every
//!   `sliding_window_pattern`-th layer global);
//! * newer: `rope_parameters` (flat `{rope_theta, rope_type}` or keyed by layer
//!   type `{"sliding_attention": {...}, "full_attention": {...}}`) and
//!   `layer_types`.
//!
//! As in transformers, a key that is absent takes the model's default, while a
//! key present as `null` means "none" (`attn_logit_softcapping: null`: no cap).

use super::{ModelError, Result};
use serde_json::{Map, Value};
use std::path::Path;

/// Which architecture the checkpoint is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelType {
    Gemma2,
    /// Gemma3 text-only decoder (q_norm / k_norm, two RoPE thetas)
    Gemma3Text,
}

/// Attention kind of one layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerKind {
    /// sliding-window attention (`"sliding_attention"`)
    Local,
    /// full causal attention (`"full_attention"`)
    Global,
}

/// What differs between layers.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerConfig {
    pub kind: LayerKind,
    /// RoPE base of this layer
    pub rope_theta: f32,
    /// linear RoPE scaling factor (positions divided by it); 1.0 = none
    pub rope_factor: f32,
    /// sliding window W (a key j is kept for query i iff j > i - W); `None` on
    /// global layers, or when the config has `sliding_window: null`
    pub window: Option<usize>,
}

/// A resolved model configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub model_type: ModelType,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_layers: usize,
    pub num_heads: usize,
    pub num_kv_heads: usize,
    pub head_dim: usize,
    pub rms_norm_eps: f32,
    /// scores are multiplied by `query_pre_attn_scalar^-0.5` ([`Config::attn_scale`])
    pub query_pre_attn_scalar: f32,
    /// `attn_logit_softcapping` (Gemma2: 50; Gemma3: none)
    pub attn_softcap: Option<f32>,
    /// `final_logit_softcapping` (Gemma2: 30; Gemma3: none)
    pub final_softcap: Option<f32>,
    /// `sliding_window` as written (`None` when null)
    pub sliding_window: Option<usize>,
    pub layers: Vec<LayerConfig>,
    /// per-head RMSNorm of q and k before RoPE (Gemma3)
    pub qk_norm: bool,
    /// `lm_head` is the embedding table (no `lm_head.weight` tensor)
    pub tie_word_embeddings: bool,
    pub bos_token_id: Option<u32>,
    /// `eos_token_id` (an int or a list in config.json)
    pub eos_token_ids: Vec<u32>,
    pub pad_token_id: Option<u32>,
    /// always `gelu_pytorch_tanh` (anything else is rejected)
    pub hidden_activation: String,
    pub max_position_embeddings: Option<usize>,
}

impl Config {
    /// Reads and resolves `path` (a `config.json`).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).map_err(|e| ModelError::at(path, format!("cannot read: {e}")))?;
        Self::from_json_str(&text, &file_label(path))
    }

    /// Reads `config.json` from a model directory.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        Self::from_file(&dir.join("config.json"))
    }

    /// Resolves the JSON text of a config; `file` is the name used in errors.
    pub fn from_json_str(text: &str, file: &str) -> Result<Self> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| ModelError::new(file, format!("not valid JSON: {e}")))?;
        let Value::Object(top) = value else {
            return Err(ModelError::new(file, "the top level must be a JSON object"));
        };
        let model_type = top.get("model_type").and_then(Value::as_str).unwrap_or("");
        match model_type {
            "gemma2" => resolve(&top, file, ModelType::Gemma2, ""),
            "gemma3_text" => resolve(&top, file, ModelType::Gemma3Text, ""),
            "gemma3" => match top.get("text_config") {
                Some(Value::Object(tc)) => resolve(tc, file, ModelType::Gemma3Text, "text_config."),
                _ => Err(ModelError::new(
                    file,
                    "field \"model_type\" is \"gemma3\" but there is no object \"text_config\"",
                )),
            },
            other => Err(ModelError::new(
                file,
                format!(
                    "field \"model_type\" must be \"gemma2\", \"gemma3_text\" or \"gemma3\", got {}",
                    if other.is_empty() { "nothing".to_string() } else { format!("\"{other}\"") }
                ),
            )),
        }
    }

    /// `query_pre_attn_scalar^-0.5`, the factor on q.k (computed in f64, rounded once).
    pub fn attn_scale(&self) -> f32 {
        (self.query_pre_attn_scalar as f64).powf(-0.5) as f32
    }

    /// `sqrt(hidden_size)` rounded to f32, the factor on embeddings.
    pub fn embed_scale(&self) -> f32 {
        (self.hidden_size as f64).sqrt() as f32
    }

    /// The distinct RoPE thetas of the layers (in first-use order), and each layer's index into
    /// them: one cos/sin table per distinct theta serves every layer that uses it.
    pub fn rope_groups(&self) -> (Vec<f32>, Vec<usize>) {
        let mut thetas: Vec<f32> = Vec::new();
        let mut layer_theta = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            let i = match thetas.iter().position(|&t| t == l.rope_theta) {
                Some(i) => i,
                None => {
                    thetas.push(l.rope_theta);
                    thetas.len() - 1
                }
            };
            layer_theta.push(i);
        }
        (thetas, layer_theta)
    }

    /// `num_heads / num_kv_heads` query heads per kv head.
    pub fn gqa_group(&self) -> usize {
        self.num_heads / self.num_kv_heads
    }

    /// Is `id` one of the ids that end generation (`eos_token_id`)?
    pub fn is_eos(&self, id: u32) -> bool {
        self.eos_token_ids.contains(&id)
    }
}

pub(crate) fn file_label(path: &Path) -> String {
    path.display().to_string()
}

/// A key of the JSON object: absent, `null`, or a value.
enum Field<'a> {
    Absent,
    Null,
    Val(&'a Value),
}

struct Reader<'a> {
    obj: &'a Map<String, Value>,
    file: &'a str,
    prefix: &'a str,
}

impl<'a> Reader<'a> {
    fn err(&self, msg: String) -> ModelError {
        ModelError::new(self.file, msg)
    }

    fn name(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    fn field(&self, key: &str) -> Field<'a> {
        match self.obj.get(key) {
            None => Field::Absent,
            Some(Value::Null) => Field::Null,
            Some(v) => Field::Val(v),
        }
    }

    fn as_usize(&self, key: &str, v: &Value) -> Result<usize> {
        v.as_u64().map(|n| n as usize).ok_or_else(|| {
            self.err(format!("field \"{}\" must be a non-negative integer, got {v}", self.name(key)))
        })
    }

    fn as_f64(&self, key: &str, v: &Value) -> Result<f64> {
        v.as_f64()
            .filter(|x| x.is_finite())
            .ok_or_else(|| self.err(format!("field \"{}\" must be a number, got {v}", self.name(key))))
    }

    /// a required positive integer
    fn dim(&self, key: &str) -> Result<usize> {
        match self.field(key) {
            Field::Val(v) => {
                let n = self.as_usize(key, v)?;
                if n == 0 {
                    return Err(self.err(format!("field \"{}\" must be positive, got 0", self.name(key))));
                }
                Ok(n)
            }
            _ => Err(self.err(format!("missing field \"{}\"", self.name(key)))),
        }
    }

    /// a positive dimension of at most `max`
    fn capped(&self, key: &str, max: usize) -> Result<usize> {
        let n = self.dim(key)?;
        if n > max {
            return Err(self
                .err(format!("field \"{}\" is {n}, more than this loader accepts ({max})", self.name(key))));
        }
        Ok(n)
    }

    /// an optional integer: absent -> default; null -> None
    fn opt_usize(&self, key: &str, default: Option<usize>) -> Result<Option<usize>> {
        match self.field(key) {
            Field::Absent => Ok(default),
            Field::Null => Ok(None),
            Field::Val(v) => self.as_usize(key, v).map(Some),
        }
    }

    /// an optional number: absent -> default; null -> None
    fn opt_f64(&self, key: &str, default: Option<f64>) -> Result<Option<f64>> {
        match self.field(key) {
            Field::Absent => Ok(default),
            Field::Null => Ok(None),
            Field::Val(v) => self.as_f64(key, v).map(Some),
        }
    }

    /// a number that must be there after defaults
    fn num(&self, key: &str, default: f64) -> Result<f64> {
        self.opt_f64(key, Some(default))?
            .ok_or_else(|| self.err(format!("field \"{}\" must be a number, got null", self.name(key))))
    }

    fn bool_or(&self, key: &str, default: bool) -> Result<bool> {
        match self.field(key) {
            Field::Absent | Field::Null => Ok(default),
            Field::Val(Value::Bool(b)) => Ok(*b),
            Field::Val(v) => {
                Err(self.err(format!("field \"{}\" must be true or false, got {v}", self.name(key))))
            }
        }
    }

    fn token_id(&self, key: &str, default: Option<u32>) -> Result<Option<u32>> {
        Ok(self.opt_usize(key, default.map(|d| d as usize))?.map(|n| n as u32))
    }

    /// `eos_token_id`: an int, a list of ints, or null
    fn token_ids(&self, key: &str, default: &[u32]) -> Result<Vec<u32>> {
        match self.field(key) {
            Field::Absent => Ok(default.to_vec()),
            Field::Null => Ok(Vec::new()),
            Field::Val(Value::Array(items)) => {
                items.iter().map(|v| self.as_usize(key, v).map(|n| n as u32)).collect()
            }
            Field::Val(v) => Ok(vec![self.as_usize(key, v)? as u32]),
        }
    }
}

/// RoPE parameters of one layer kind: (theta, linear factor).
fn rope_entry(r: &Reader, key: &str, obj: &Map<String, Value>, default_theta: f64) -> Result<(f64, f64)> {
    let theta = match obj.get("rope_theta") {
        None | Some(Value::Null) => default_theta,
        Some(v) => r.as_f64(&format!("{key}.rope_theta"), v)?,
    };
    let rope_type =
        obj.get("rope_type").or_else(|| obj.get("type")).and_then(Value::as_str).unwrap_or("default");
    let factor = match rope_type {
        "default" => 1.0,
        "linear" => match obj.get("factor") {
            Some(v) => r.as_f64(&format!("{key}.factor"), v)?,
            None => {
                return Err(
                    r.err(format!("field \"{}\": rope_type \"linear\" needs \"factor\"", r.name(key)))
                );
            }
        },
        other => {
            return Err(r.err(format!(
                "field \"{}\": rope_type \"{other}\" is not supported (only \"default\" and \"linear\")",
                r.name(key)
            )));
        }
    };
    if theta <= 0.0 || factor <= 0.0 {
        return Err(r.err(format!("field \"{}\": rope_theta and factor must be positive", r.name(key))));
    }
    Ok((theta, factor))
}

/// The largest sizes a config may give (far above every Gemma: 262144 tokens, hidden 4608, 62
/// layers, 32 heads of 256): a number past them is a broken or hostile file.
pub mod limits {
    /// `vocab_size`
    pub const VOCAB: usize = 1 << 22;
    /// `hidden_size`
    pub const WIDTH: usize = 1 << 16;
    /// `intermediate_size`
    pub const FFN: usize = 1 << 20;
    /// `num_hidden_layers`
    pub const LAYERS: usize = 1024;
    /// `num_attention_heads`, `num_key_value_heads`
    pub const HEADS: usize = 1024;
    /// `head_dim`
    pub const HEAD_DIM: usize = 4096;
    /// `max_position_embeddings`
    pub const CONTEXT: usize = 1 << 24;
}

fn resolve(obj: &Map<String, Value>, file: &str, model_type: ModelType, prefix: &str) -> Result<Config> {
    let r = Reader { obj, file, prefix };
    let gemma2 = model_type == ModelType::Gemma2;

    // Every size is capped before anything is sized by it (a config of 10^9 layers must be an
    // error, not a 32 GB allocation); the weights are then checked against these sizes.
    let vocab_size = r.capped("vocab_size", limits::VOCAB)?;
    let hidden_size = r.capped("hidden_size", limits::WIDTH)?;
    let intermediate_size = r.capped("intermediate_size", limits::FFN)?;
    let num_layers = r.capped("num_hidden_layers", limits::LAYERS)?;
    let num_heads = r.capped("num_attention_heads", limits::HEADS)?;
    let num_kv_heads = r.capped("num_key_value_heads", limits::HEADS)?;
    if num_heads % num_kv_heads != 0 {
        return Err(r.err(format!(
            "field \"{}\" must divide \"{}\" ({num_heads} / {num_kv_heads})",
            r.name("num_key_value_heads"),
            r.name("num_attention_heads")
        )));
    }
    let head_dim = r.opt_usize("head_dim", Some(256))?.unwrap_or(hidden_size / num_heads);
    if head_dim > limits::HEAD_DIM {
        return Err(r.err(format!(
            "field \"{}\" is {head_dim}, more than this loader accepts ({})",
            r.name("head_dim"),
            limits::HEAD_DIM
        )));
    }
    if head_dim == 0 || head_dim % 2 != 0 {
        return Err(r.err(format!(
            "field \"{}\" must be a positive even number, got {head_dim}",
            r.name("head_dim")
        )));
    }
    let rms_norm_eps = r.num("rms_norm_eps", 1e-6)?;
    if rms_norm_eps < 0.0 {
        return Err(r.err(format!("field \"{}\" must not be negative", r.name("rms_norm_eps"))));
    }
    let query_pre_attn_scalar = r.num("query_pre_attn_scalar", 256.0)?;
    if query_pre_attn_scalar <= 0.0 {
        return Err(r.err(format!("field \"{}\" must be positive", r.name("query_pre_attn_scalar"))));
    }
    let cap = |key: &str, default: Option<f64>| -> Result<Option<f32>> {
        match r.opt_f64(key, default)? {
            Some(c) if c <= 0.0 => {
                Err(r.err(format!("field \"{}\" must be positive or null, got {c}", r.name(key))))
            }
            c => Ok(c.map(|c| c as f32)),
        }
    };
    let attn_softcap = cap("attn_logit_softcapping", if gemma2 { Some(50.0) } else { None })?;
    let final_softcap = cap("final_logit_softcapping", if gemma2 { Some(30.0) } else { None })?;
    let sliding_window = r.opt_usize("sliding_window", Some(4096))?;
    if sliding_window == Some(0) {
        return Err(r.err(format!("field \"{}\" must be positive", r.name("sliding_window"))));
    }

    let act = match (r.field("hidden_activation"), r.field("hidden_act")) {
        (Field::Val(v), _) | (_, Field::Val(v)) => v
            .as_str()
            .ok_or_else(|| r.err(format!("field \"{}\" must be a string", r.name("hidden_activation"))))?
            .to_string(),
        _ => "gelu_pytorch_tanh".to_string(),
    };
    if act != "gelu_pytorch_tanh" {
        return Err(r.err(format!(
            "field \"{}\" must be \"gelu_pytorch_tanh\", got \"{act}\"",
            r.name("hidden_activation")
        )));
    }
    if r.bool_or("use_bidirectional_attention", false)? {
        return Err(r.err(format!(
            "field \"{}\": bidirectional attention is not supported",
            r.name("use_bidirectional_attention")
        )));
    }

    // Layer kinds.
    let kinds: Vec<LayerKind> = match r.field("layer_types") {
        Field::Val(Value::Array(items)) => {
            if items.len() != num_layers {
                return Err(r.err(format!(
                    "field \"{}\" has {} entries but \"{}\" is {num_layers}",
                    r.name("layer_types"),
                    items.len(),
                    r.name("num_hidden_layers")
                )));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, v)| match v.as_str() {
                    Some("sliding_attention") => Ok(LayerKind::Local),
                    Some("full_attention") => Ok(LayerKind::Global),
                    _ => Err(r.err(format!(
                        "field \"{}\"[{i}] must be \"sliding_attention\" or \"full_attention\", got {v}",
                        r.name("layer_types")
                    ))),
                })
                .collect::<Result<_>>()?
        }
        Field::Val(v) => {
            return Err(r.err(format!("field \"{}\" must be a list, got {v}", r.name("layer_types"))));
        }
        _ if gemma2 => {
            (0..num_layers).map(|i| if i % 2 == 0 { LayerKind::Local } else { LayerKind::Global }).collect()
        }
        _ => {
            let key = if obj.contains_key("sliding_window_pattern") {
                "sliding_window_pattern"
            } else {
                "_sliding_window_pattern"
            };
            let pattern = r.opt_usize(key, Some(6))?.unwrap_or(6);
            if pattern == 0 {
                return Err(r.err(format!("field \"{}\" must be positive", r.name(key))));
            }
            (0..num_layers)
                .map(|i| if (i + 1) % pattern == 0 { LayerKind::Global } else { LayerKind::Local })
                .collect()
        }
    };

    // RoPE: (theta, factor) for local and global layers.
    let default_global = if gemma2 { 10_000.0 } else { 1_000_000.0 };
    let ((local_theta, local_factor), (global_theta, global_factor)) = match r.field("rope_parameters") {
        Field::Val(Value::Object(rp)) if rp.contains_key("rope_theta") || rp.contains_key("rope_type") => {
            // one set for every layer
            let e = rope_entry(&r, "rope_parameters", rp, default_global)?;
            if gemma2 {
                (e, e)
            } else {
                let local = r.num("rope_local_base_freq", 10_000.0)?;
                ((local, 1.0), e)
            }
        }
        Field::Val(Value::Object(rp)) => {
            let get = |kind: &str, default: f64| -> Result<(f64, f64)> {
                match rp.get(kind) {
                    Some(Value::Object(o)) => rope_entry(&r, &format!("rope_parameters.{kind}"), o, default),
                    None | Some(Value::Null) => Ok((default, 1.0)),
                    Some(v) => Err(r.err(format!(
                        "field \"{}\" must be an object, got {v}",
                        r.name(&format!("rope_parameters.{kind}"))
                    ))),
                }
            };
            let local_default =
                if gemma2 { default_global } else { r.num("rope_local_base_freq", 10_000.0)? };
            (get("sliding_attention", local_default)?, get("full_attention", default_global)?)
        }
        Field::Val(v) => {
            return Err(r.err(format!("field \"{}\" must be an object, got {v}", r.name("rope_parameters"))));
        }
        _ => {
            let theta = r.num("rope_theta", default_global)?;
            let global = match r.field("rope_scaling") {
                Field::Val(Value::Object(rs)) => rope_entry(&r, "rope_scaling", rs, theta)?,
                Field::Val(v) => {
                    return Err(r.err(format!(
                        "field \"{}\" must be an object or null, got {v}",
                        r.name("rope_scaling")
                    )));
                }
                _ => (theta, 1.0),
            };
            if gemma2 { (global, global) } else { ((r.num("rope_local_base_freq", 10_000.0)?, 1.0), global) }
        }
    };
    if local_theta <= 0.0 || global_theta <= 0.0 {
        return Err(r.err("rope theta must be positive".to_string()));
    }

    let layers = kinds
        .into_iter()
        .map(|kind| match kind {
            LayerKind::Local => LayerConfig {
                kind,
                rope_theta: local_theta as f32,
                rope_factor: local_factor as f32,
                window: sliding_window,
            },
            LayerKind::Global => LayerConfig {
                kind,
                rope_theta: global_theta as f32,
                rope_factor: global_factor as f32,
                window: None,
            },
        })
        .collect();

    Ok(Config {
        model_type,
        vocab_size,
        hidden_size,
        intermediate_size,
        num_layers,
        num_heads,
        num_kv_heads,
        head_dim,
        rms_norm_eps: rms_norm_eps as f32,
        query_pre_attn_scalar: query_pre_attn_scalar as f32,
        attn_softcap,
        final_softcap,
        sliding_window,
        layers,
        qk_norm: model_type == ModelType::Gemma3Text,
        tie_word_embeddings: r.bool_or("tie_word_embeddings", true)?,
        bos_token_id: r.token_id("bos_token_id", Some(2))?,
        eos_token_ids: r.token_ids("eos_token_id", &[1])?,
        pad_token_id: r.token_id("pad_token_id", Some(0))?,
        hidden_activation: act,
        max_position_embeddings: match r.opt_usize("max_position_embeddings", None)? {
            Some(n) if !(2..=limits::CONTEXT).contains(&n) => {
                return Err(r.err(format!(
                    "field \"{}\" is {n}: a model's context must be 2..={} tokens",
                    r.name("max_position_embeddings"),
                    limits::CONTEXT
                )));
            }
            n => n,
        },
    })
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
