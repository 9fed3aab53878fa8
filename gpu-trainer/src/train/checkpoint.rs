//! Training checkpoints: a HuggingFace-compatible model directory plus the optimizer and trainer
//! state, written atomically as a whole.
//!
//! ```text
//! <dir>/model.safetensors       the weights by HF name (f32, or bf16 / f16 on request),
//!                               metadata {"format": "pt"}: loadable by Weights::open_dir and
//!                               by transformers' from_pretrained
//!       config.json             the model config (as given)
//!       tokenizer.json          when given
//!       value_head.safetensors  `value_head.weight` [1, H], `value_head.bias` [1] (f32), when
//!                               the model has a value head (RL with GAE): kept out of
//!                               model.safetensors so the policy stays a plain HF checkpoint
//!       optimizer.safetensors   the optimizer state "<param>.<slot>" (f32), metadata
//!                               {"format": "pt", "optimizer": kind, "step": N}, when given
//!       trainer_state.json      the caller's JSON (step, RNG state, data cursor, lr, ...);
//!                               written last, it marks a complete checkpoint
//! ```
//!
//! Atomicity: [`save`] writes everything into a staging directory beside `<dir>`
//! ([`crate::atomic::StagedDir`], `.<name>.tmp.<pid>`), fsyncs every file, and swaps it into
//! place ([`crate::atomic::replace_dir`]: one atomic exchange on Linux, else the previous
//! checkpoint is moved to `.<name>.old.<pid>` first). Interrupted anywhere, the previous
//! checkpoint survives: [`recover`] (called by [`save`] and [`load`]) puts a displaced one back
//! and removes what dead writers left (also the `.<name>.old` / `.<name>.saving` of older
//! versions). An existing `<dir>` that is not a checkpoint (no trainer_state.json, not empty) is
//! never replaced.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;
use thiserror::Error;

use crate::model::{DType, ModelError, Weights};
use crate::runtime::{Gpu, GpuError};
use crate::tensor::Tensor;
use crate::train::Param;
use crate::train::optim::OptimizerState;

pub const MODEL_FILE: &str = "model.safetensors";
pub const CONFIG_FILE: &str = "config.json";
pub const TOKENIZER_FILE: &str = "tokenizer.json";
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
pub const VALUE_HEAD_FILE: &str = "value_head.safetensors";
/// Tensors under this prefix are written to [`VALUE_HEAD_FILE`], not [`MODEL_FILE`].
pub const VALUE_HEAD_PREFIX: &str = "value_head.";
pub const TRAINER_STATE_FILE: &str = "trainer_state.json";

/// A tensor on the host: f32 values, row-major, under its name.
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl HostTensor {
    /// Download `t` (any dtype, widened to f32) under `name`.
    pub fn download(gpu: &Gpu, name: &str, t: &Tensor) -> Result<HostTensor, GpuError> {
        Ok(HostTensor { name: name.to_string(), shape: t.shape.clone(), data: t.to_f32(gpu)? })
    }
}

/// Everything a checkpoint holds.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointData {
    /// the model weights by HuggingFace name
    pub tensors: Vec<HostTensor>,
    /// how the weights are stored in model.safetensors (F32, BF16 or F16; loading widens to f32)
    pub dtype: DType,
    /// config.json (a JSON object)
    pub config_json: Value,
    /// tokenizer.json, byte for byte
    pub tokenizer_json: Option<Vec<u8>>,
    pub optimizer: Option<OptimizerState>,
    /// trainer_state.json: whatever the trainer needs to resume
    pub trainer_state: Value,
}

/// A checkpoint error, naming the file (and in the message the tensor or field).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{file}: {message}")]
pub struct CheckpointError {
    pub file: String,
    pub message: String,
}

impl CheckpointError {
    fn new(file: impl AsRef<Path>, message: impl Into<String>) -> CheckpointError {
        CheckpointError { file: file.as_ref().display().to_string(), message: message.into() }
    }
}

impl From<ModelError> for CheckpointError {
    fn from(e: ModelError) -> Self {
        CheckpointError { file: e.file, message: e.message }
    }
}

/// `.<name>.<suffix>` beside `dir` (the names older versions used).
fn legacy_sibling(dir: &Path, suffix: &str) -> Result<PathBuf, CheckpointError> {
    let name = dir
        .file_name()
        .ok_or_else(|| CheckpointError::new(dir, "checkpoint path has no final directory name"))?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok(parent.join(format!(".{}.{suffix}", name.to_string_lossy())))
}

fn io_err(path: &Path, what: &str, e: std::io::Error) -> CheckpointError {
    CheckpointError::new(path, format!("{what}: {e}"))
}

/// Finish or undo an interrupted [`save`] of `dir`: a displaced previous checkpoint goes back
/// when `dir` is missing (the writer died between its two renames) and is removed otherwise; the
/// staging directories of dead writers are removed ([`crate::atomic::recover`], and the same for
/// the `.<name>.old` / `.<name>.saving` names of older versions).
pub fn recover(dir: &Path) -> Result<(), CheckpointError> {
    let old = legacy_sibling(dir, "old")?;
    if old.is_dir() {
        if dir.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| io_err(&old, "remove the replaced checkpoint", e))?;
        } else {
            std::fs::rename(&old, dir).map_err(|e| io_err(&old, "restore the previous checkpoint", e))?;
        }
    }
    let saving = legacy_sibling(dir, "saving")?;
    if saving.is_dir() {
        std::fs::remove_dir_all(&saving).map_err(|e| io_err(&saving, "remove a stale unfinished save", e))?;
    }
    crate::atomic::recover(dir).map_err(|e| io_err(dir, "recover an interrupted save", e))
}

/// Write the checkpoint atomically (see the module doc).
pub fn save(dir: &Path, data: &CheckpointData) -> Result<(), CheckpointError> {
    save_with_hook(dir, data, &mut |_| Ok(()))
}

/// [`save`], calling `after_file` with each file's path once it is written and synced (progress,
/// or a test injecting a failure: an error aborts the save, the previous checkpoint stays).
pub fn save_with_hook(
    dir: &Path,
    data: &CheckpointData,
    after_file: &mut dyn FnMut(&Path) -> std::io::Result<()>,
) -> Result<(), CheckpointError> {
    validate(dir, data)?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| io_err(parent, "create the parent directory", e))?;
    }
    recover(dir)?;
    if dir.exists() && !is_replaceable(dir) {
        return Err(CheckpointError::new(
            dir,
            format!("exists and is not a checkpoint (no {TRAINER_STATE_FILE}); refusing to replace it"),
        ));
    }
    let staged = crate::atomic::StagedDir::beside(dir).map_err(|e| io_err(dir, "stage", e))?;
    write_files(staged.path(), data, after_file)?;
    staged.commit().map_err(|e| io_err(dir, "install the new checkpoint", e))
}

/// An existing directory may be replaced when it is empty or holds a trainer_state.json.
fn is_replaceable(dir: &Path) -> bool {
    dir.join(TRAINER_STATE_FILE).is_file()
        || std::fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(false)
}

fn check_tensors(file: &Path, tensors: &[HostTensor]) -> Result<(), CheckpointError> {
    let mut seen = std::collections::HashSet::new();
    for t in tensors {
        if t.name.is_empty() || t.name == "__metadata__" {
            return Err(CheckpointError::new(file, format!("bad tensor name {:?}", t.name)));
        }
        if !seen.insert(t.name.as_str()) {
            return Err(CheckpointError::new(file, format!("tensor {:?} given twice", t.name)));
        }
        let numel: usize = t.shape.iter().product();
        if numel != t.data.len() {
            return Err(CheckpointError::new(
                file,
                format!(
                    "tensor {:?}: shape {:?} needs {numel} values, {} given",
                    t.name,
                    t.shape,
                    t.data.len()
                ),
            ));
        }
    }
    Ok(())
}

fn validate(dir: &Path, data: &CheckpointData) -> Result<(), CheckpointError> {
    check_tensors(&dir.join(MODEL_FILE), &data.tensors)?;
    if !data.config_json.is_object() {
        return Err(CheckpointError::new(dir.join(CONFIG_FILE), "config must be a JSON object"));
    }
    if let Some(o) = &data.optimizer {
        check_tensors(&dir.join(OPTIMIZER_FILE), &o.tensors)?;
    }
    Ok(())
}

/// Create `path`, let `write` fill it, flush and fsync.
fn write_file(
    path: &Path,
    after_file: &mut dyn FnMut(&Path) -> std::io::Result<()>,
    write: impl FnOnce(&mut BufWriter<&File>) -> std::io::Result<()>,
) -> Result<(), CheckpointError> {
    let f = File::create(path).map_err(|e| io_err(path, "create", e))?;
    let mut w = BufWriter::with_capacity(1 << 20, &f);
    write(&mut w).and_then(|_| w.flush()).map_err(|e| io_err(path, "write", e))?;
    drop(w);
    f.sync_all().map_err(|e| io_err(path, "fsync", e))?;
    after_file(path).map_err(|e| io_err(path, "after writing", e))
}

fn write_files(
    tmp: &Path,
    data: &CheckpointData,
    after_file: &mut dyn FnMut(&Path) -> std::io::Result<()>,
) -> Result<(), CheckpointError> {
    let json = |v: &Value| {
        serde_json::to_vec_pretty(v).map(|mut b| {
            b.push(b'\n');
            b
        })
    };
    let config =
        json(&data.config_json).map_err(|e| CheckpointError::new(tmp.join(CONFIG_FILE), e.to_string()))?;
    write_file(&tmp.join(CONFIG_FILE), after_file, |w| w.write_all(&config))?;
    if let Some(tok) = &data.tokenizer_json {
        write_file(&tmp.join(TOKENIZER_FILE), after_file, |w| w.write_all(tok))?;
    }
    let meta = BTreeMap::from([("format".to_string(), "pt".to_string())]);
    let (value, model): (Vec<HostTensor>, Vec<HostTensor>) =
        data.tensors.iter().cloned().partition(|t| t.name.starts_with(VALUE_HEAD_PREFIX));
    write_file(&tmp.join(MODEL_FILE), after_file, |w| write_safetensors(w, &model, data.dtype, &meta))?;
    if !value.is_empty() {
        write_file(&tmp.join(VALUE_HEAD_FILE), after_file, |w| {
            write_safetensors(w, &value, DType::F32, &meta)
        })?;
    }
    if let Some(o) = &data.optimizer {
        let meta = BTreeMap::from([
            ("format".to_string(), "pt".to_string()),
            ("optimizer".to_string(), o.kind.clone()),
            ("step".to_string(), o.step.to_string()),
        ]);
        write_file(&tmp.join(OPTIMIZER_FILE), after_file, |w| {
            write_safetensors(w, &o.tensors, DType::F32, &meta)
        })?;
    }
    let state = json(&data.trainer_state)
        .map_err(|e| CheckpointError::new(tmp.join(TRAINER_STATE_FILE), e.to_string()))?;
    write_file(&tmp.join(TRAINER_STATE_FILE), after_file, |w| w.write_all(&state))
}

/// Stream a safetensors file: header (with `__metadata__`, padded to 8 bytes), then each
/// tensor's data converted to `dtype`, in the order given.
fn write_safetensors(
    w: &mut impl Write,
    tensors: &[HostTensor],
    dtype: DType,
    metadata: &BTreeMap<String, String>,
) -> std::io::Result<()> {
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), serde_json::json!(metadata));
    let mut off = 0usize;
    for t in tensors {
        let len = t.data.len() * dtype.size();
        header.insert(
            t.name.clone(),
            serde_json::json!({"dtype": dtype.name(), "shape": t.shape, "data_offsets": [off, off + len]}),
        );
        off += len;
    }
    let mut h = serde_json::to_vec(&Value::Object(header)).map_err(std::io::Error::other)?;
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    w.write_all(&(h.len() as u64).to_le_bytes())?;
    w.write_all(&h)?;
    for t in tensors {
        for chunk in t.data.chunks(1 << 16) {
            let bytes: Vec<u8> = match dtype {
                DType::F32 => chunk.iter().flat_map(|x| x.to_le_bytes()).collect(),
                DType::BF16 => chunk.iter().flat_map(|&x| half::bf16::from_f32(x).to_le_bytes()).collect(),
                DType::F16 => chunk.iter().flat_map(|&x| half::f16::from_f32(x).to_le_bytes()).collect(),
            };
            w.write_all(&bytes)?;
        }
    }
    Ok(())
}

/// The header of a safetensors file: its `__metadata__` (empty when none) and the tensor names
/// in the order of their data (the order they were written in).
fn read_header(path: &Path) -> Result<(BTreeMap<String, String>, Vec<String>), CheckpointError> {
    let err = |m: String| CheckpointError::new(path, m);
    let mut f = File::open(path).map_err(|e| err(format!("cannot open: {e}")))?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len).map_err(|e| err(format!("cannot read the header length: {e}")))?;
    let len = u64::from_le_bytes(len);
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    if len > size.saturating_sub(8) || len > 100 << 20 {
        return Err(err(format!("header length {len} is past the end of the file ({size} bytes)")));
    }
    let mut h = vec![0u8; len as usize];
    f.read_exact(&mut h).map_err(|e| err(format!("cannot read the header: {e}")))?;
    let v: Value = serde_json::from_slice(&h).map_err(|e| err(format!("header is not valid JSON: {e}")))?;
    let Value::Object(map) = v else { return Err(err("header is not a JSON object".into())) };
    let mut meta = BTreeMap::new();
    let mut names = Vec::new();
    for (k, v) in &map {
        if k == "__metadata__" {
            for (mk, mv) in v.as_object().into_iter().flatten() {
                meta.insert(mk.clone(), mv.as_str().unwrap_or_default().to_string());
            }
        } else {
            let start =
                v.get("data_offsets").and_then(|o| o.get(0)).and_then(Value::as_u64).unwrap_or(u64::MAX);
            names.push((start, k.clone()));
        }
    }
    names.sort();
    Ok((meta, names.into_iter().map(|(_, n)| n).collect()))
}

fn read_json(path: &Path) -> Result<Value, CheckpointError> {
    let text = std::fs::read(path).map_err(|e| io_err(path, "cannot read", e))?;
    serde_json::from_slice(&text).map_err(|e| CheckpointError::new(path, format!("not valid JSON: {e}")))
}

/// The tensors (f32, in the order written), their dtype and the metadata of a safetensors file.
type SafetensorsFile = (Vec<HostTensor>, DType, BTreeMap<String, String>);

/// Every tensor of a safetensors file as f32 (in the order written), its (single) dtype and
/// the metadata.
fn read_tensors(path: &Path) -> Result<SafetensorsFile, CheckpointError> {
    if !path.is_file() {
        return Err(CheckpointError::new(path, "missing"));
    }
    let w = Weights::open_file(path)?;
    let (meta, names) = read_header(path)?;
    let mut dtype: Option<(DType, String)> = None;
    let mut out = Vec::with_capacity(w.len());
    for name in &names {
        let t = w.tensor(name)?;
        match &dtype {
            None => dtype = Some((t.dtype, name.to_string())),
            Some((d, first)) if *d != t.dtype => {
                return Err(CheckpointError::new(
                    path,
                    format!("tensor {name:?} is {} but {first:?} is {}", t.dtype.name(), d.name()),
                ));
            }
            _ => {}
        }
        out.push(HostTensor { name: name.to_string(), shape: t.shape.to_vec(), data: t.to_f32() });
    }
    Ok((out, dtype.map(|d| d.0).unwrap_or(DType::F32), meta))
}

fn read_optimizer(path: &Path) -> Result<OptimizerState, CheckpointError> {
    let (tensors, dtype, meta) = read_tensors(path)?;
    let kind = meta
        .get("optimizer")
        .ok_or_else(|| CheckpointError::new(path, "metadata has no \"optimizer\" (the optimizer kind)"))?
        .clone();
    let step = meta.get("step").ok_or_else(|| CheckpointError::new(path, "metadata has no \"step\""))?;
    let step = step.parse::<u64>().map_err(|_| {
        CheckpointError::new(path, format!("metadata \"step\" = {step:?} is not a step count"))
    })?;
    if dtype != DType::F32 && !tensors.is_empty() {
        return Err(CheckpointError::new(
            path,
            format!("optimizer state must be F32, found {}", dtype.name()),
        ));
    }
    Ok(OptimizerState { kind, step, tensors })
}

/// Read a checkpoint written by [`save`] (after [`recover`]ing an interrupted save). The weights
/// come back as f32 with the stored dtype in `dtype`; tokenizer.json and optimizer.safetensors
/// are optional, the other files required.
pub fn load(dir: &Path) -> Result<CheckpointData, CheckpointError> {
    recover(dir)?;
    if !dir.is_dir() {
        return Err(CheckpointError::new(dir, "no checkpoint directory"));
    }
    let config_json = read_json(&dir.join(CONFIG_FILE))?;
    if !config_json.is_object() {
        return Err(CheckpointError::new(dir.join(CONFIG_FILE), "not a JSON object"));
    }
    let trainer_state = read_json(&dir.join(TRAINER_STATE_FILE))?;
    let (mut tensors, dtype, _) = read_tensors(&dir.join(MODEL_FILE))?;
    if dir.join(VALUE_HEAD_FILE).is_file() {
        tensors.extend(read_value_head(dir)?);
    }
    let tok = dir.join(TOKENIZER_FILE);
    let tokenizer_json = match tok.is_file() {
        true => Some(std::fs::read(&tok).map_err(|e| io_err(&tok, "cannot read", e))?),
        false => None,
    };
    let opt = dir.join(OPTIMIZER_FILE);
    let optimizer = match opt.exists() {
        true => Some(read_optimizer(&opt)?),
        false => None,
    };
    Ok(CheckpointData { tensors, dtype, config_json, tokenizer_json, optimizer, trainer_state })
}

/// The value head of the checkpoint or model directory `dir` (`value_head.safetensors`): its
/// two tensors, checked (names, shapes [1, H] and [1]).
pub fn read_value_head(dir: &Path) -> Result<Vec<HostTensor>, CheckpointError> {
    let path = dir.join(VALUE_HEAD_FILE);
    let (tensors, _, _) = read_tensors(&path)?;
    let get = |name: &str| tensors.iter().find(|t| t.name == name);
    let (Some(w), Some(b)) = (get(crate::train::VALUE_HEAD_WEIGHT), get(crate::train::VALUE_HEAD_BIAS))
    else {
        return Err(CheckpointError::new(
            &path,
            "needs tensors \"value_head.weight\" and \"value_head.bias\"",
        ));
    };
    if tensors.len() != 2 || w.shape.len() != 2 || w.shape[0] != 1 || b.shape != [1] {
        return Err(CheckpointError::new(
            &path,
            format!(
                "expected exactly value_head.weight [1, H] and value_head.bias [1], found {:?}",
                tensors.iter().map(|t| (&t.name, &t.shape)).collect::<Vec<_>>()
            ),
        ));
    }
    Ok(vec![w.clone(), b.clone()])
}

/// Download every parameter's weights (f32) under its HF name, in order.
pub fn download_params(gpu: &Gpu, params: &[Param]) -> Result<Vec<HostTensor>, GpuError> {
    params.iter().map(|p| HostTensor::download(gpu, &p.name, &p.value)).collect()
}

/// Overwrite every parameter's weights from `tensors` (by name, shapes checked). Every
/// parameter needs its tensor and every tensor its parameter; nothing is written unless all match.
pub fn upload_params(gpu: &Gpu, params: &[Param], tensors: &[HostTensor]) -> Result<(), CheckpointError> {
    let by_name: BTreeMap<&str, &HostTensor> = tensors.iter().map(|t| (t.name.as_str(), t)).collect();
    for t in tensors {
        if !params.iter().any(|p| p.name == t.name) {
            return Err(CheckpointError::new(
                MODEL_FILE,
                format!("tensor {:?} is not a parameter of the model", t.name),
            ));
        }
    }
    let mut pairs = Vec::with_capacity(params.len());
    for p in params {
        let t = by_name
            .get(p.name.as_str())
            .ok_or_else(|| CheckpointError::new(MODEL_FILE, format!("missing tensor {:?}", p.name)))?;
        if t.shape != p.value.shape || t.data.len() != p.numel() {
            return Err(CheckpointError::new(
                MODEL_FILE,
                format!(
                    "tensor {:?} has shape {:?} ({} values), the parameter is {:?}",
                    t.name,
                    t.shape,
                    t.data.len(),
                    p.value.shape
                ),
            ));
        }
        pairs.push((p, *t));
    }
    for (p, t) in pairs {
        p.value.write_bytes(gpu, bytemuck::cast_slice(&t.data));
    }
    Ok(())
}

/// Overwrite every parameter's weights straight from opened weights (any stored dtype, widened
/// to f32), one tensor at a time: resuming a large model without holding all of it on the host.
pub fn upload_params_from_weights(
    gpu: &Gpu,
    params: &[Param],
    weights: &Weights,
) -> Result<(), CheckpointError> {
    for p in params {
        let data = weights.to_f32_shaped(&p.name, &p.value.shape)?;
        p.value.write_bytes(gpu, bytemuck::cast_slice(&data));
    }
    Ok(())
}
