//! The GGUF container (versions 2 and 3; llama.cpp's `gguf.h`), memory-mapped.
//!
//! ```text
//! "GGUF" | version u32 | tensor_count u64 | kv_count u64
//! kv_count x  (key: string, value_type u32, value)
//! tensor_count x  (name: string, n_dims u32, ne[n_dims] u64 (ne[0] varies fastest), type u32, offset u64)
//! padding to `general.alignment` (default 32) | tensor data (offsets relative to here)
//! ```
//! Strings are a u64 byte count then UTF-8 bytes; arrays are an element type
//! u32, a u64 count, then the elements. Everything is checked on open: every
//! read inside the file, counts against the bytes left, UTF-8, value types,
//! tensor types, block-aligned rows, offsets aligned and inside the file, no
//! duplicate names, no overlapping data.

use super::dequant::{GgmlType, type_name_of_id};
use super::{GgufError, Result};
use memmap2::Mmap;
use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};

/// The alignment of tensor data when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// A metadata value.
#[derive(Clone, Debug, PartialEq)]
pub enum MetaValue {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    Str(String),
    Array(Vec<MetaValue>),
}

impl MetaValue {
    /// The value as an unsigned integer, if it is a non-negative integer of any width.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            MetaValue::U8(v) => Some(v as u64),
            MetaValue::U16(v) => Some(v as u64),
            MetaValue::U32(v) => Some(v as u64),
            MetaValue::U64(v) => Some(v),
            MetaValue::I8(v) => u64::try_from(v).ok(),
            MetaValue::I16(v) => u64::try_from(v).ok(),
            MetaValue::I32(v) => u64::try_from(v).ok(),
            MetaValue::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a float (floats, and integers converted).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            MetaValue::F32(v) => Some(v as f64),
            MetaValue::F64(v) => Some(v),
            MetaValue::I8(v) => Some(v as f64),
            MetaValue::I16(v) => Some(v as f64),
            MetaValue::I32(v) => Some(v as f64),
            MetaValue::I64(v) => Some(v as f64),
            _ => self.as_u64().map(|v| v as f64),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            MetaValue::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            MetaValue::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[MetaValue]> {
        match self {
            MetaValue::Array(a) => Some(a),
            _ => None,
        }
    }

    /// a short description of the type, for errors
    pub fn type_name(&self) -> &'static str {
        match self {
            MetaValue::U8(_) => "u8",
            MetaValue::I8(_) => "i8",
            MetaValue::U16(_) => "u16",
            MetaValue::I16(_) => "i16",
            MetaValue::U32(_) => "u32",
            MetaValue::I32(_) => "i32",
            MetaValue::U64(_) => "u64",
            MetaValue::I64(_) => "i64",
            MetaValue::F32(_) => "f32",
            MetaValue::F64(_) => "f64",
            MetaValue::Bool(_) => "bool",
            MetaValue::Str(_) => "string",
            MetaValue::Array(_) => "array",
        }
    }
}

/// One entry of the tensor table.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    /// ggml order: `dims[0]` varies fastest (a row of a matrix has `dims[0]` elements)
    pub dims: Vec<u64>,
    pub ggml_type: GgmlType,
    /// byte offset in the file (absolute)
    pub start: u64,
    /// bytes of data
    pub size: u64,
}

impl TensorInfo {
    /// number of elements
    pub fn numel(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// An open GGUF file.
pub struct GgufFile {
    path: PathBuf,
    map: Mmap,
    pub version: u32,
    /// metadata in file order
    pub metadata: Vec<(String, MetaValue)>,
    /// tensor table in file order
    pub tensors: Vec<TensorInfo>,
    pub alignment: u64,
    /// absolute offset of the tensor data section
    pub data_offset: u64,
}

impl std::fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufFile")
            .field("path", &self.path)
            .field("version", &self.version)
            .field("metadata", &self.metadata.len())
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

/// A bounds-checked cursor over the file bytes.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    file: &'a str,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: u64, what: &dyn Fn() -> String) -> Result<&'a [u8]> {
        let left = (self.buf.len() - self.pos) as u64;
        if n > left {
            return Err(GgufError::Truncated {
                file: self.file.to_string(),
                what: what(),
                offset: self.pos as u64,
                need: n,
                len: self.buf.len() as u64,
            });
        }
        let s = &self.buf[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &dyn Fn() -> String) -> Result<[u8; N]> {
        let s = self.take(N as u64, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u32(&mut self, what: &dyn Fn() -> String) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &dyn Fn() -> String) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn string(&mut self, what: &dyn Fn() -> String) -> Result<String> {
        let n = self.u64(what)?;
        let bytes = self.take(n, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|e| GgufError::BadMetadata {
            file: self.file.to_string(),
            key: what(),
            message: format!("a string is not valid UTF-8: {e}"),
        })
    }

    fn left(&self) -> u64 {
        (self.buf.len() - self.pos) as u64
    }
}

/// Metadata value type ids (`enum gguf_type`).
const T_ARRAY: u32 = 9;
const T_STRING: u32 = 8;

/// smallest encoded size of a value of type `t` (for checking counts before allocating)
fn min_size(t: u32) -> u64 {
    match t {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        T_STRING | 10..=12 => 8,
        T_ARRAY => 12,
        _ => 1,
    }
}

fn read_value(c: &mut Cursor, t: u32, key: &str, depth: usize) -> Result<MetaValue> {
    let what = || format!("metadata \"{key}\"");
    let bad = |message: String| GgufError::BadMetadata { file: c.file.to_string(), key: key.into(), message };
    Ok(match t {
        0 => MetaValue::U8(c.array::<1>(&what)?[0]),
        1 => MetaValue::I8(c.array::<1>(&what)?[0] as i8),
        2 => MetaValue::U16(u16::from_le_bytes(c.array(&what)?)),
        3 => MetaValue::I16(i16::from_le_bytes(c.array(&what)?)),
        4 => MetaValue::U32(u32::from_le_bytes(c.array(&what)?)),
        5 => MetaValue::I32(i32::from_le_bytes(c.array(&what)?)),
        6 => MetaValue::F32(f32::from_le_bytes(c.array(&what)?)),
        7 => match c.array::<1>(&what)?[0] {
            0 => MetaValue::Bool(false),
            1 => MetaValue::Bool(true),
            b => return Err(bad(format!("a bool must be 0 or 1, got {b}"))),
        },
        T_STRING => MetaValue::Str(c.string(&what)?),
        T_ARRAY => {
            if depth > 0 {
                return Err(bad("arrays of arrays are not supported".into()));
            }
            let et = c.u32(&what)?;
            let n = c.u64(&what)?;
            if et > 12 {
                return Err(bad(format!("array element type {et} is not a GGUF value type (0..=12)")));
            }
            if n.saturating_mul(min_size(et)) > c.left() {
                return Err(GgufError::Truncated {
                    file: c.file.to_string(),
                    what: format!("metadata \"{key}\" ({n} elements)"),
                    offset: c.pos as u64,
                    need: n.saturating_mul(min_size(et)),
                    len: c.buf.len() as u64,
                });
            }
            let mut v = Vec::with_capacity(n as usize);
            for _ in 0..n {
                v.push(read_value(c, et, key, depth + 1)?);
            }
            MetaValue::Array(v)
        }
        10 => MetaValue::U64(u64::from_le_bytes(c.array(&what)?)),
        11 => MetaValue::I64(i64::from_le_bytes(c.array(&what)?)),
        12 => MetaValue::F64(f64::from_le_bytes(c.array(&what)?)),
        other => return Err(bad(format!("value type {other} is not a GGUF value type (0..=12)"))),
    })
}

impl GgufFile {
    /// Opens and checks `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| GgufError::io(path, "cannot open", e))?;
        // SAFETY: read-only map of a file we do not modify; a file truncated by someone else
        // while mapped is outside what this tool guards against.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| GgufError::io(path, "cannot map", e))?;
        let label = path.display().to_string();
        let parsed = parse(&map, &label)?;
        Ok(GgufFile {
            path: path.to_path_buf(),
            map,
            version: parsed.version,
            metadata: parsed.metadata,
            tensors: parsed.tensors,
            alignment: parsed.alignment,
            data_offset: parsed.data_offset,
        })
    }

    /// the path as given, for messages
    pub fn label(&self) -> String {
        self.path.display().to_string()
    }

    /// The metadata value of `key`.
    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The tensor called `name`.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The raw bytes of a tensor (checked to be inside the file on open).
    pub fn tensor_bytes(&self, t: &TensorInfo) -> &[u8] {
        &self.map[t.start as usize..(t.start + t.size) as usize]
    }

    /// The tensor dequantized to f32, in ggml order (row-major with `dims[0]` fastest).
    pub fn dequantize(&self, t: &TensorInfo) -> Result<Vec<f32>> {
        let mut out = vec![0f32; t.numel() as usize];
        super::dequant::dequantize(t.ggml_type, self.tensor_bytes(t), &mut out).map_err(|message| {
            GgufError::BadTensor { file: self.label(), tensor: t.name.clone(), message }
        })?;
        Ok(out)
    }
}

struct Parsed {
    version: u32,
    metadata: Vec<(String, MetaValue)>,
    tensors: Vec<TensorInfo>,
    alignment: u64,
    data_offset: u64,
}

/// Parses and checks a whole GGUF file held in `buf`; `file` names it in errors.
fn parse(buf: &[u8], file: &str) -> Result<Parsed> {
    let mut c = Cursor { buf, pos: 0, file };
    let magic = c.take(4, &|| "the magic".into()).map_err(|_| GgufError::BadMagic {
        file: file.into(),
        found: String::from_utf8_lossy(buf).escape_debug().to_string(),
    })?;
    if magic != b"GGUF" {
        return Err(GgufError::BadMagic {
            file: file.into(),
            found: String::from_utf8_lossy(magic).escape_debug().to_string(),
        });
    }
    let version = c.u32(&|| "the version".into())?;
    if version != 2 && version != 3 {
        return Err(GgufError::UnsupportedVersion { file: file.into(), version });
    }
    let n_tensors = c.u64(&|| "the tensor count".into())?;
    let n_kv = c.u64(&|| "the metadata count".into())?;
    // every key-value pair takes at least 12 bytes, every tensor entry at least 24
    if n_kv.saturating_mul(12) > c.left() || n_tensors.saturating_mul(24) > c.left() {
        return Err(GgufError::Truncated {
            file: file.into(),
            what: format!("{n_kv} metadata entries and {n_tensors} tensor entries"),
            offset: c.pos as u64,
            need: n_kv.saturating_mul(12).saturating_add(n_tensors.saturating_mul(24)),
            len: buf.len() as u64,
        });
    }

    let mut metadata: Vec<(String, MetaValue)> = Vec::with_capacity(n_kv as usize);
    let mut keys = HashSet::new();
    for i in 0..n_kv {
        let key = c.string(&|| format!("metadata key #{i}"))?;
        let t = c.u32(&|| format!("metadata \"{key}\""))?;
        let value = read_value(&mut c, t, &key, 0)?;
        if !keys.insert(key.clone()) {
            return Err(GgufError::BadMetadata { file: file.into(), key, message: "appears twice".into() });
        }
        metadata.push((key, value));
    }

    let alignment = match metadata.iter().find(|(k, _)| k == "general.alignment") {
        None => DEFAULT_ALIGNMENT,
        Some((_, v)) => match v.as_u64() {
            Some(a) if a > 0 && a.is_power_of_two() => a,
            _ => {
                return Err(GgufError::BadMetadata {
                    file: file.into(),
                    key: "general.alignment".into(),
                    message: format!("must be a power of two, got {v:?}"),
                });
            }
        },
    };

    struct Raw {
        name: String,
        dims: Vec<u64>,
        ggml_type: GgmlType,
        offset: u64,
    }
    let mut raw = Vec::with_capacity(n_tensors as usize);
    let mut names = HashSet::new();
    for i in 0..n_tensors {
        let name = c.string(&|| format!("tensor entry #{i}"))?;
        let what = || format!("tensor entry \"{name}\"");
        let bad = |message: String| GgufError::BadTensor { file: file.into(), tensor: name.clone(), message };
        let n_dims = c.u32(&what)?;
        if !(1..=4).contains(&n_dims) {
            return Err(bad(format!("has {n_dims} dimensions, expected 1 to 4")));
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            dims.push(c.u64(&what)?);
        }
        let type_id = c.u32(&what)?;
        let offset = c.u64(&what)?;
        let Some(ggml_type) = GgmlType::from_id(type_id) else {
            return Err(GgufError::UnsupportedTensorType {
                file: file.into(),
                tensor: name,
                type_id,
                type_name: type_name_of_id(type_id),
            });
        };
        if dims.contains(&0) {
            return Err(bad(format!("has a zero dimension: {dims:?}")));
        }
        if dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d)).is_none_or(|n| n > (1 << 40)) {
            return Err(bad(format!("dimensions {dims:?} are too large")));
        }
        if !dims[0].is_multiple_of(ggml_type.block_size() as u64) {
            return Err(bad(format!(
                "rows of {} elements are not whole {} blocks of {}",
                dims[0],
                ggml_type.name(),
                ggml_type.block_size()
            )));
        }
        if !offset.is_multiple_of(alignment) {
            return Err(bad(format!("data offset {offset} is not a multiple of the alignment {alignment}")));
        }
        if !names.insert(name.clone()) {
            return Err(bad("appears twice in the tensor table".into()));
        }
        raw.push(Raw { name, dims, ggml_type, offset });
    }

    let header_end = c.pos as u64;
    let data_offset = header_end.div_ceil(alignment) * alignment;
    let len = buf.len() as u64;
    let mut tensors: Vec<TensorInfo> = raw
        .into_iter()
        .map(|r| {
            let numel: u64 = r.dims.iter().product();
            let size = numel / r.ggml_type.block_size() as u64 * r.ggml_type.type_size() as u64;
            TensorInfo {
                name: r.name,
                dims: r.dims,
                ggml_type: r.ggml_type,
                start: data_offset + r.offset,
                size,
            }
        })
        .collect();
    for t in &tensors {
        let end = t.start.saturating_add(t.size);
        if end > len {
            return Err(GgufError::TruncatedTensorData {
                file: file.into(),
                tensor: t.name.clone(),
                start: t.start,
                end,
                len,
            });
        }
    }
    // no two tensors share bytes
    let mut by_start: Vec<&TensorInfo> = tensors.iter().collect();
    by_start.sort_by_key(|t| t.start);
    for w in by_start.windows(2) {
        if w[1].start < w[0].start + w[0].size {
            return Err(GgufError::BadTensor {
                file: file.into(),
                tensor: w[1].name.clone(),
                message: format!("its data overlaps that of \"{}\"", w[0].name),
            });
        }
    }
    tensors.shrink_to_fit();
    Ok(Parsed { version, metadata, tensors, alignment, data_offset })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(b: &mut Vec<u8>, x: &str) {
        b.extend((x.len() as u64).to_le_bytes());
        b.extend(x.as_bytes());
    }

    /// a v3 file with one u32 key and one 32-element F32 tensor
    fn tiny() -> Vec<u8> {
        let mut b = b"GGUF".to_vec();
        b.extend(3u32.to_le_bytes());
        b.extend(1u64.to_le_bytes());
        b.extend(1u64.to_le_bytes());
        s(&mut b, "x.n");
        b.extend(4u32.to_le_bytes());
        b.extend(7u32.to_le_bytes());
        s(&mut b, "t");
        b.extend(1u32.to_le_bytes());
        b.extend(32u64.to_le_bytes());
        b.extend(0u32.to_le_bytes());
        b.extend(0u64.to_le_bytes());
        while !b.len().is_multiple_of(32) {
            b.push(0);
        }
        b.extend((0..32).flat_map(|i| (i as f32).to_le_bytes()));
        b
    }

    #[test]
    fn parses_a_hand_written_file() {
        let b = tiny();
        let p = parse(&b, "t.gguf").unwrap();
        assert_eq!(p.metadata, vec![("x.n".to_string(), MetaValue::U32(7))]);
        assert_eq!(p.tensors[0].dims, vec![32]);
        assert_eq!(p.tensors[0].start, p.data_offset);
        assert_eq!(p.data_offset % 32, 0);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let b = tiny();
        for n in 0..b.len() {
            assert!(parse(&b[..n], "t.gguf").is_err(), "accepted {n} of {} bytes", b.len());
        }
    }
}
