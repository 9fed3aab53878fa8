//! Safetensors checkpoints, single-file (`model.safetensors`) or sharded
//! (`model.safetensors.index.json` + its shards), memory-mapped.
//!
//! The format: an 8-byte little-endian header length N, N bytes of JSON
//! `{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {..}}`,
//! then the data; offsets are relative to the start of the data. Everything is
//! checked on open (header length, JSON, dtype, offsets inside the data, byte
//! count = shape x dtype size, no two tensors overlapping), and
//! [`Weights::check`] checks names and shapes against a [`Config`].
//!
//! [`TensorView::bytes`] gives the raw little-endian bytes (for uploading
//! bf16/f16 to the GPU as they are); [`Weights::to_f32`] converts to f32.

use super::config::{Config, file_label};
use super::{ModelError, Result};
use memmap2::Mmap;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Element type of a stored tensor (the ones Gemma checkpoints use).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    BF16,
    F16,
}

impl DType {
    /// bytes per element
    pub fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::BF16 | DType::F16 => 2,
        }
    }

    /// the safetensors name ("F32", "BF16", "F16")
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "F32",
            DType::BF16 => "BF16",
            DType::F16 => "F16",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "F32" => Some(DType::F32),
            "BF16" => Some(DType::BF16),
            "F16" => Some(DType::F16),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
struct Entry {
    file: usize,
    dtype: DType,
    shape: Vec<usize>,
    /// absolute byte range in the file
    start: usize,
    end: usize,
}

/// One tensor, borrowed from the mapped file.
#[derive(Clone, Copy, Debug)]
pub struct TensorView<'a> {
    pub name: &'a str,
    pub dtype: DType,
    pub shape: &'a [usize],
    /// raw little-endian element bytes, `numel * dtype.size()` long
    pub bytes: &'a [u8],
    /// the file it is stored in
    pub file: &'a Path,
}

impl TensorView<'_> {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The elements converted to f32 (exact for every supported dtype).
    pub fn to_f32(&self) -> Vec<f32> {
        match self.dtype {
            DType::F32 => {
                self.bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
            }
            DType::BF16 => self
                .bytes
                .chunks_exact(2)
                .map(|b| half::bf16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32())
                .collect(),
            DType::F16 => self
                .bytes
                .chunks_exact(2)
                .map(|b| half::f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32())
                .collect(),
        }
    }
}

/// The tensors of a checkpoint, memory-mapped.
pub struct Weights {
    files: Vec<(PathBuf, Mmap)>,
    tensors: BTreeMap<String, Entry>,
}

impl std::fmt::Debug for Weights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Weights")
            .field("files", &self.files.iter().map(|(p, _)| p).collect::<Vec<_>>())
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

/// Name of the index of a sharded checkpoint.
pub const INDEX_FILE: &str = "model.safetensors.index.json";
/// Name of a single-file checkpoint.
pub const SINGLE_FILE: &str = "model.safetensors";

impl Weights {
    /// Opens a model directory: `model.safetensors.index.json` if present,
    /// otherwise `model.safetensors`.
    pub fn open_dir(dir: &Path) -> Result<Self> {
        let index = dir.join(INDEX_FILE);
        if index.exists() { Self::open_index(&index) } else { Self::open_file(&dir.join(SINGLE_FILE)) }
    }

    /// Opens one `.safetensors` file.
    pub fn open_file(path: &Path) -> Result<Self> {
        let mut w = Weights { files: Vec::new(), tensors: BTreeMap::new() };
        w.add_file(path, None)?;
        Ok(w)
    }

    /// Opens a sharded checkpoint from its `model.safetensors.index.json`;
    /// each shard must hold exactly the tensors the `weight_map` gives it.
    pub fn open_index(index: &Path) -> Result<Self> {
        let label = file_label(index);
        let text = std::fs::read_to_string(index)
            .map_err(|e| ModelError::new(&label, format!("cannot read: {e}")))?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| ModelError::new(&label, format!("not valid JSON: {e}")))?;
        let Some(map) = v.get("weight_map").and_then(Value::as_object) else {
            return Err(ModelError::new(&label, "missing object \"weight_map\""));
        };
        // shard file -> tensor names it should hold
        let mut shards: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, file) in map {
            let Some(file) = file.as_str() else {
                return Err(ModelError::new(
                    &label,
                    format!("weight_map: tensor \"{name}\" must map to a file name, got {file}"),
                ));
            };
            if file.contains('/') || file.contains('\\') || file.starts_with('.') {
                return Err(ModelError::new(
                    &label,
                    format!("weight_map: tensor \"{name}\": bad shard name \"{file}\""),
                ));
            }
            shards.entry(file.to_string()).or_default().push(name.clone());
        }
        let dir = index.parent().unwrap_or(Path::new("."));
        let mut w = Weights { files: Vec::new(), tensors: BTreeMap::new() };
        for (file, names) in &shards {
            let path = dir.join(file);
            if !path.exists() {
                return Err(ModelError::new(
                    &label,
                    format!("weight_map: shard \"{file}\" (holding tensor \"{}\") does not exist", names[0]),
                ));
            }
            w.add_file(&path, Some(names))?;
        }
        Ok(w)
    }

    fn add_file(&mut self, path: &Path, expected: Option<&[String]>) -> Result<()> {
        let label = file_label(path);
        let err = |m: String| ModelError::new(&label, m);
        let f = File::open(path).map_err(|e| err(format!("cannot open: {e}")))?;
        // SAFETY: the file is opened read-only and we never hand out a
        // mutable view; as with every memory-mapped loader, the checkpoint
        // must not be truncated or rewritten while the model is loaded.
        let mmap = unsafe { Mmap::map(&f) }.map_err(|e| err(format!("cannot memory-map: {e}")))?;
        let entries = parse_header(&mmap, &label)?;
        let file_idx = self.files.len();
        if let Some(expected) = expected {
            for name in expected {
                if !entries.iter().any(|(n, _)| n == name) {
                    return Err(err(format!(
                        "tensor \"{name}\" is missing (the index {INDEX_FILE} puts it in this shard)"
                    )));
                }
            }
            for (name, _) in &entries {
                if !expected.contains(name) {
                    return Err(err(format!(
                        "tensor \"{name}\" is not in the index {INDEX_FILE} for this shard"
                    )));
                }
            }
        }
        for (name, mut e) in entries {
            e.file = file_idx;
            if let Some(prev) = self.tensors.get(&name) {
                let other = file_label(&self.files[prev.file].0);
                return Err(err(format!("tensor \"{name}\" is also in {other}")));
            }
            self.tensors.insert(name, e);
        }
        self.files.push((path.to_path_buf(), mmap));
        Ok(())
    }

    /// Tensor names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// The files opened (one, or the shards).
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(|(p, _)| p.as_path())
    }

    /// The tensor `name`, if present.
    pub fn get(&self, name: &str) -> Option<TensorView<'_>> {
        let (key, e) = self.tensors.get_key_value(name)?;
        let (path, mmap) = &self.files[e.file];
        Some(TensorView {
            name: key,
            dtype: e.dtype,
            shape: &e.shape,
            bytes: &mmap[e.start..e.end],
            file: path,
        })
    }

    /// The tensor `name`, or an error naming it.
    pub fn tensor(&self, name: &str) -> Result<TensorView<'_>> {
        self.get(name).ok_or_else(|| ModelError::new(self.label(), format!("missing tensor \"{name}\"")))
    }

    /// The tensor `name` as f32 values.
    pub fn to_f32(&self, name: &str) -> Result<Vec<f32>> {
        Ok(self.tensor(name)?.to_f32())
    }

    /// The tensor `name` as f32, checking its shape.
    pub fn to_f32_shaped(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let t = self.tensor(name)?;
        if t.shape != shape {
            return Err(ModelError::at(
                t.file,
                format!("tensor \"{name}\" has shape {:?}, expected {shape:?}", t.shape),
            ));
        }
        Ok(t.to_f32())
    }

    fn label(&self) -> String {
        match self.files.as_slice() {
            [(p, _)] => file_label(p),
            [(p, _), ..] => file_label(&p.with_file_name(INDEX_FILE)),
            [] => "(no file)".to_string(),
        }
    }

    /// Checks that the tensors are exactly those `config` needs (names and
    /// shapes, see [`expected_tensors`]), all of one dtype. Returns that dtype.
    pub fn check(&self, config: &Config) -> Result<DType> {
        let expected = expected_tensors(config);
        let mut dtype: Option<(DType, &str)> = None;
        for (name, shape) in &expected {
            let t = self.tensor(name)?;
            if t.shape != shape.as_slice() {
                return Err(ModelError::at(
                    t.file,
                    format!("tensor \"{name}\" has shape {:?}, config.json wants {shape:?}", t.shape),
                ));
            }
            match dtype {
                None => dtype = Some((t.dtype, t.name)),
                Some((d, first)) if d != t.dtype => {
                    return Err(ModelError::at(
                        t.file,
                        format!("tensor \"{name}\" is {} but \"{first}\" is {}", t.dtype.name(), d.name()),
                    ));
                }
                _ => {}
            }
        }
        for name in self.names() {
            if !expected.iter().any(|(n, _)| n == name) {
                let t = self.get(name).expect("listed");
                let hint = if name == "lm_head.weight" { " (tie_word_embeddings is true)" } else { "" };
                return Err(ModelError::at(t.file, format!("unexpected tensor \"{name}\"{hint}")));
            }
        }
        Ok(dtype.map(|d| d.0).unwrap_or(DType::F32))
    }
}

/// HuggingFace names and shapes ([out, in] for projections) of every tensor
/// of a Gemma2 / Gemma3-text checkpoint, in load order.
pub fn expected_tensors(c: &Config) -> Vec<(String, Vec<usize>)> {
    super::names::tensors(c)
}

/// The largest header safetensors allows (its own loader refuses more: 100 MB).
pub const MAX_HEADER: u64 = 100_000_000;

/// Parses and validates a safetensors header; returns the tensors with
/// absolute byte ranges (file index 0).
fn parse_header(buf: &[u8], label: &str) -> Result<Vec<(String, Entry)>> {
    let err = |m: String| ModelError::new(label, m);
    if buf.len() < 8 {
        return Err(err(format!("truncated: {} bytes, shorter than the 8-byte header length", buf.len())));
    }
    let n = u64::from_le_bytes(buf[..8].try_into().expect("8 bytes"));
    let avail = (buf.len() - 8) as u64;
    if n > avail {
        return Err(err(format!(
            "header length {n} is past the end of the file ({avail} bytes after the length)"
        )));
    }
    if n > MAX_HEADER {
        return Err(err(format!("header length {n} is more than the {MAX_HEADER} bytes safetensors allows")));
    }
    let n = n as usize;
    let header: Value =
        serde_json::from_slice(&buf[8..8 + n]).map_err(|e| err(format!("header is not valid JSON: {e}")))?;
    let Value::Object(map) = header else {
        return Err(err("header must be a JSON object".to_string()));
    };
    let data_start = 8 + n;
    let data_len = buf.len() - data_start;
    let mut out = Vec::with_capacity(map.len());
    for (name, info) in &map {
        if name == "__metadata__" {
            continue;
        }
        let terr = |m: String| err(format!("tensor \"{name}\": {m}"));
        let dtype_s =
            info.get("dtype").and_then(Value::as_str).ok_or_else(|| terr("missing \"dtype\"".into()))?;
        let dtype = DType::parse(dtype_s)
            .ok_or_else(|| terr(format!("dtype {dtype_s} is not supported (F32, BF16, F16)")))?;
        let shape: Vec<usize> = info
            .get("shape")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().map(|d| d.as_u64().map(|d| d as usize)).collect::<Option<Vec<_>>>())
            .ok_or_else(|| terr("missing or bad \"shape\"".into()))?;
        let offs = info
            .get("data_offsets")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().map(Value::as_u64).collect::<Option<Vec<_>>>())
            .filter(|a| a.len() == 2)
            .ok_or_else(|| terr("missing or bad \"data_offsets\" (want [begin, end])".into()))?;
        let (b, e) = (offs[0], offs[1]);
        if b > e {
            return Err(terr(format!("data_offsets [{b}, {e}] end before they begin")));
        }
        if e > data_len as u64 {
            return Err(terr(format!(
                "data_offsets [{b}, {e}] reach past the end of the data ({data_len} bytes)"
            )));
        }
        let numel = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        let want = numel.and_then(|n| n.checked_mul(dtype.size()));
        if want != Some((e - b) as usize) {
            return Err(terr(format!(
                "data_offsets [{b}, {e}] hold {} bytes but shape {shape:?} of {dtype_s} needs {}",
                e - b,
                want.map(|w| w.to_string()).unwrap_or_else(|| "too many".into())
            )));
        }
        out.push((
            name.clone(),
            Entry { file: 0, dtype, shape, start: data_start + b as usize, end: data_start + e as usize },
        ));
    }
    // no two tensors may share bytes
    let mut by_start: Vec<&(String, Entry)> = out.iter().collect();
    by_start.sort_by_key(|(_, e)| (e.start, e.end));
    for pair in by_start.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if b.1.start < a.1.end && b.1.end > b.1.start {
            return Err(err(format!("tensors \"{}\" and \"{}\" overlap", a.0, b.0)));
        }
    }
    Ok(out)
}

/// Writes a safetensors file (checkpoints, converters, tests); tensors are written in the order
/// given, data as little-endian. Atomic: written to `<path>.tmp`, synced, then renamed, so an
/// interrupted write never leaves a truncated file under `path`.
pub fn write_safetensors(path: &Path, tensors: &[(&str, DType, &[usize], &[u8])]) -> std::io::Result<()> {
    let mut header = serde_json::Map::new();
    let mut off = 0usize;
    for (name, dtype, shape, bytes) in tensors {
        header.insert(
            name.to_string(),
            serde_json::json!({"dtype": dtype.name(), "shape": shape, "data_offsets": [off, off + bytes.len()]}),
        );
        off += bytes.len();
    }
    let mut h = serde_json::to_vec(&Value::Object(header)).expect("json");
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + h.len() + off);
    out.extend_from_slice(&(h.len() as u64).to_le_bytes());
    out.extend_from_slice(&h);
    for (_, _, _, bytes) in tensors {
        out.extend_from_slice(bytes);
    }
    crate::atomic::write_file(path, &out)
}

/// f32 values as little-endian bytes.
pub fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[cfg(test)]
#[path = "weights_tests.rs"]
mod tests;
