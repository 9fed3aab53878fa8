//! llama.cpp GGUF files -> a HuggingFace checkpoint directory (`config.json`,
//! `model.safetensors`, `tokenizer.json`) that [`crate::model`] loads.
//!
//! - [`reader`]: the GGUF v2/v3 container (header, metadata, tensor table,
//!   alignment), memory-mapped and checked on open.
//! - [`dequant`]: the block formats (F16, BF16, Q4_0 ... Q8_0, Q2_K ... Q8_K) to f32,
//!   value for value what gguf-py's `gguf.quants.dequantize` gives.
//! - [`names`]: llama.cpp tensor names and dimension order -> HuggingFace's.
//! - [`hf_config`]: the `config.json` a Gemma2 / Gemma3 GGUF's metadata describes.
//! - [`tokenizer`]: `tokenizer.json` from the GGUF vocabulary (SentencePiece BPE).
//! - [`convert`]: all of it into a directory, atomically.
//!
//! Every error is a [`GgufError`] naming the file and the key, tensor or value.

pub mod convert;
pub mod dequant;
pub mod hf_config;
pub mod names;
pub mod reader;
pub mod tokenizer;

pub use convert::{ConvertOptions, ConvertReport, OutDType, convert};
pub use dequant::GgmlType;
pub use reader::{GgufFile, MetaValue, TensorInfo};

/// What can be wrong with a GGUF file or its conversion. `Display` starts with the file.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    /// cannot read or write a file
    #[error("{file}: {message}")]
    Io { file: String, message: String },
    /// the first four bytes are not `GGUF`
    #[error("{file}: not a GGUF file: magic is {found:?}, expected \"GGUF\"")]
    BadMagic { file: String, found: String },
    /// a container version this reader does not know
    #[error("{file}: GGUF version {version} is not supported (only 2 and 3)")]
    UnsupportedVersion { file: String, version: u32 },
    /// the file ends inside the header, the metadata or the tensor table
    #[error("{file}: truncated: {what} needs {need} bytes at offset {offset}, the file has {len}")]
    Truncated { file: String, what: String, offset: u64, need: u64, len: u64 },
    /// a tensor's data runs past the end of the file
    #[error(
        "{file}: truncated tensor data: tensor \"{tensor}\" needs bytes {start}..{end}, the file has {len}"
    )]
    TruncatedTensorData { file: String, tensor: String, start: u64, end: u64, len: u64 },
    /// a ggml tensor type this converter cannot dequantize
    #[error("{file}: tensor \"{tensor}\" has type {type_name} (ggml type {type_id}), which is not supported")]
    UnsupportedTensorType { file: String, tensor: String, type_id: u32, type_name: String },
    /// a metadata key that is missing, of the wrong type, or at odds with another key or a tensor
    #[error("{file}: metadata \"{key}\": {message}")]
    BadMetadata { file: String, key: String, message: String },
    /// a tensor whose table entry is malformed or whose name or shape does not fit the model
    #[error("{file}: tensor \"{tensor}\": {message}")]
    BadTensor { file: String, tensor: String, message: String },
    /// an architecture or tokenizer model this converter does not handle
    #[error("{file}: {message}")]
    Unsupported { file: String, message: String },
}

impl GgufError {
    pub(crate) fn io(path: &std::path::Path, what: &str, e: std::io::Error) -> Self {
        GgufError::Io { file: path.display().to_string(), message: format!("{what}: {e}") }
    }
}

/// Result of this module.
pub type Result<T> = std::result::Result<T, GgufError>;
