//! A Gemma2 / Gemma3 GGUF -> a HuggingFace checkpoint directory:
//! `config.json`, `model.safetensors` (f32: the dequantized values exactly; or
//! bf16, rounded to nearest even), `tokenizer.json`, `tokenizer_config.json`.
//!
//! Everything is checked before anything is written (the container, the
//! metadata, every tensor's name and shape against the config the metadata
//! gives), then the files are written into a hidden temporary directory beside
//! `out_dir`, loaded back with [`crate::model`]'s own loaders, and only then
//! renamed to `out_dir`. A failure at any point leaves nothing behind.

use super::dequant::dequantize;
use super::hf_config::{Arch, config_json};
use super::names::{hf_name, hf_shape, is_shifted_norm, layer_of};
use super::reader::{GgufFile, TensorInfo};
use super::tokenizer::Vocab;
use super::{GgufError, Result};
use crate::atomic::StagedDir;
use crate::model::weights::expected_tensors;
use crate::model::{Config, GemmaTokenizer, Weights};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Element type of the written weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OutDType {
    /// the dequantized values exactly
    #[default]
    F32,
    /// rounded to nearest even (half the size)
    Bf16,
}

impl OutDType {
    fn safetensors_name(self) -> &'static str {
        match self {
            OutDType::F32 => "F32",
            OutDType::Bf16 => "BF16",
        }
    }

    fn torch_name(self) -> &'static str {
        match self {
            OutDType::F32 => "float32",
            OutDType::Bf16 => "bfloat16",
        }
    }

    fn size(self) -> usize {
        match self {
            OutDType::F32 => 4,
            OutDType::Bf16 => 2,
        }
    }
}

/// How to convert.
#[derive(Clone, Debug, Default)]
pub struct ConvertOptions {
    pub dtype: OutDType,
    /// replace `out_dir` if it exists (otherwise that is an error)
    pub overwrite: bool,
}

/// What a conversion did.
#[derive(Clone, Debug)]
pub struct ConvertReport {
    pub out_dir: PathBuf,
    /// "gemma2" or "gemma3"
    pub architecture: &'static str,
    pub tensors: usize,
    pub parameters: u64,
    /// tensors per GGUF type name
    pub types: BTreeMap<&'static str, usize>,
    /// norm tensors that had 1 subtracted
    pub shifted_norms: usize,
    pub vocab_size: usize,
    pub merges: usize,
    pub layers: usize,
}

/// Converts `gguf_path` into `out_dir` (see the module doc).
pub fn convert(gguf_path: &Path, out_dir: &Path, opts: &ConvertOptions) -> Result<ConvertReport> {
    let out_label = out_dir.display().to_string();
    if out_dir.exists() && !opts.overwrite {
        return Err(GgufError::Io {
            file: out_label,
            message: "already exists (pass --force to replace it)".into(),
        });
    }
    if out_dir.exists() && !out_dir.is_dir() {
        return Err(GgufError::Io { file: out_label, message: "exists and is not a directory".into() });
    }
    let g = GgufFile::open(gguf_path)?;
    let arch = Arch::of(&g)?;
    let vocab = Vocab::from_gguf(&g)?;
    let config_value = config_json(
        &g,
        arch,
        vocab.len(),
        [vocab.bos_id, vocab.eos_id, vocab.pad_id],
        opts.dtype.torch_name(),
    )?;
    let config_text = serde_json::to_string_pretty(&config_value).map_err(|e| GgufError::Io {
        file: "config.json".into(),
        message: format!("cannot serialize: {e}"),
    })? + "\n";
    let config = Config::from_json_str(&config_text, "config.json").map_err(|e| GgufError::BadMetadata {
        file: g.label(),
        key: arch.prefix().into(),
        message: format!("the config it gives is not one this project loads: {e}"),
    })?;
    let plan = plan_tensors(&g, arch, &config, vocab.len())?;
    let tokenizer_json = vocab.tokenizer_json();
    let merge_count = tokenizer_json["model"]["merges"].as_array().map_or(0, Vec::len);
    let tokenizer_text = serde_json::to_string(&tokenizer_json).map_err(|e| GgufError::Io {
        file: "tokenizer.json".into(),
        message: format!("cannot serialize: {e}"),
    })?;
    let max_len = config.max_position_embeddings.map(|n| n as u64);
    let tokenizer_config =
        serde_json::to_string_pretty(&vocab.tokenizer_config_json(max_len)).unwrap_or_default();

    let tmp = StagedDir::beside(out_dir).map_err(|e| GgufError::io(out_dir, "cannot stage", e))?;
    let write = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).map_err(|e| GgufError::io(&p, "cannot write", e))
    };
    write("config.json", &config_text)?;
    write("tokenizer.json", &tokenizer_text)?;
    write("tokenizer_config.json", &(tokenizer_config + "\n"))?;
    let (parameters, shifted_norms) =
        write_weights(&g, &plan, &tmp.path().join("model.safetensors"), opts.dtype)?;

    // Load everything back with the project's own loaders.
    let reload = |e: crate::model::ModelError| GgufError::Io {
        file: tmp.path().display().to_string(),
        message: format!("the converted checkpoint does not load: {e}"),
    };
    GemmaTokenizer::from_dir(tmp.path()).map_err(reload)?;
    Weights::open_dir(tmp.path()).and_then(|w| w.check(&config)).map_err(reload)?;

    tmp.commit().map_err(|e| GgufError::io(out_dir, "cannot install the converted directory", e))?;
    let mut types = BTreeMap::new();
    for t in &g.tensors {
        *types.entry(t.ggml_type.name()).or_insert(0) += 1;
    }
    Ok(ConvertReport {
        out_dir: out_dir.to_path_buf(),
        architecture: arch.prefix(),
        tensors: plan.len(),
        parameters,
        types,
        shifted_norms,
        vocab_size: vocab.len(),
        merges: merge_count,
        layers: config.num_layers,
    })
}

/// One tensor to write: the GGUF entry, its HuggingFace name and shape.
struct Planned<'a> {
    info: &'a TensorInfo,
    hf: String,
    shape: Vec<usize>,
}

/// Maps every GGUF tensor to its HuggingFace name and checks names and shapes against
/// what `config` needs; returns them in the config's order.
fn plan_tensors<'a>(
    g: &'a GgufFile,
    arch: Arch,
    config: &Config,
    n_tokens: usize,
) -> Result<Vec<Planned<'a>>> {
    let file = g.label();
    let bad_tensor =
        |t: &str, message: String| GgufError::BadTensor { file: file.clone(), tensor: t.into(), message };
    let blocks_key = format!("{}.block_count", arch.prefix());
    let mut by_hf: HashMap<String, &TensorInfo> = HashMap::new();
    for t in &g.tensors {
        let hf = hf_name(&t.name).ok_or_else(|| {
            bad_tensor(
                &t.name,
                format!("is not a tensor of a {} text model (no HuggingFace name)", arch.prefix()),
            )
        })?;
        if let Some(l) = layer_of(&t.name)
            && l >= config.num_layers
        {
            return Err(GgufError::BadMetadata {
                file: file.clone(),
                key: blocks_key,
                message: format!("is {} but the file has tensor \"{}\"", config.num_layers, t.name),
            });
        }
        by_hf.insert(hf, t);
    }
    if let Some(e) = g.tensor("token_embd.weight")
        && e.dims.get(1).is_some_and(|&rows| rows as usize != n_tokens)
    {
        return Err(GgufError::BadMetadata {
            file: file.clone(),
            key: "tokenizer.ggml.tokens".into(),
            message: format!("has {n_tokens} tokens but token_embd.weight has {} rows", e.dims[1]),
        });
    }
    let expected = expected_tensors(config);
    let mut plan = Vec::with_capacity(expected.len());
    for (hf, shape) in &expected {
        let Some(&info) = by_hf.get(hf) else {
            let msg = format!("is missing: the metadata ({blocks_key} = {}) needs it", config.num_layers);
            return Err(bad_tensor(hf, msg));
        };
        let got = hf_shape(&info.dims);
        if &got != shape {
            return Err(bad_tensor(
                &info.name,
                format!(
                    "has dims {:?} (HuggingFace {hf} {got:?}), but the metadata (hidden {}, ffn {}, heads {}, \
                     kv heads {}, head_dim {}, vocab {}) needs {shape:?}",
                    info.dims,
                    config.hidden_size,
                    config.intermediate_size,
                    config.num_heads,
                    config.num_kv_heads,
                    config.head_dim,
                    config.vocab_size
                ),
            ));
        }
        plan.push(Planned { info, hf: hf.clone(), shape: got });
    }
    if by_hf.len() != plan.len() {
        let extra =
            by_hf.iter().find(|(hf, _)| !expected.iter().any(|(e, _)| e == *hf)).map(|(_, t)| &t.name);
        if let Some(name) = extra {
            return Err(bad_tensor(name, "is not used by the model the metadata describes".into()));
        }
    }
    Ok(plan)
}

/// Writes the planned tensors as one safetensors file, streaming (a chunk of a tensor in memory at a time);
/// returns (parameters, norms shifted).
fn write_weights(g: &GgufFile, plan: &[Planned], path: &Path, dtype: OutDType) -> Result<(u64, usize)> {
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), serde_json::json!({"format": "pt"}));
    let mut off = 0usize;
    for p in plan {
        let n = p.shape.iter().product::<usize>() * dtype.size();
        header.insert(
            p.hf.clone(),
            serde_json::json!({"dtype": dtype.safetensors_name(), "shape": p.shape, "data_offsets": [off, off + n]}),
        );
        off += n;
    }
    let mut h = serde_json::to_vec(&serde_json::Value::Object(header)).unwrap_or_default();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let io = |e: std::io::Error| GgufError::io(path, "cannot write", e);
    let file = std::fs::File::create(path).map_err(io)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 22, file);
    w.write_all(&(h.len() as u64).to_le_bytes()).map_err(io)?;
    w.write_all(&h).map_err(io)?;
    let (mut params, mut shifted) = (0u64, 0usize);
    let (mut vals, mut bytes) = (Vec::new(), Vec::new());
    for p in plan {
        let t = p.info;
        let shift = is_shifted_norm(&t.name);
        shifted += shift as usize;
        params += t.numel();
        // about 1 M elements at a time: memory stays small whatever the tensor's size
        let (bs, ts) = (t.ggml_type.block_size(), t.ggml_type.type_size());
        let blocks_per_chunk = ((1 << 20) / bs).max(1);
        for chunk in g.tensor_bytes(t).chunks(blocks_per_chunk * ts) {
            vals.clear();
            vals.resize(chunk.len() / ts * bs, 0f32);
            dequantize(t.ggml_type, chunk, &mut vals).map_err(|message| GgufError::BadTensor {
                file: g.label(),
                tensor: t.name.clone(),
                message,
            })?;
            if shift {
                vals.iter_mut().for_each(|x| *x -= 1.0);
            }
            bytes.clear();
            match dtype {
                OutDType::F32 => bytes.extend(vals.iter().flat_map(|x| x.to_le_bytes())),
                OutDType::Bf16 => {
                    bytes.extend(vals.iter().flat_map(|&x| half::bf16::from_f32(x).to_le_bytes()))
                }
            }
            w.write_all(&bytes).map_err(io)?;
        }
    }
    let file = w.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    Ok((params, shifted))
}
