use thiserror::Error;

/// Everything that can go wrong on the GPU side, as values (never a panic).
#[derive(Debug, Error)]
pub enum GpuError {
    #[error("no GPU adapter found (wgpu sees none over Vulkan/Metal/DX12/GL): {hint}")]
    NoAdapter { hint: &'static str },

    #[error(
        "no adapter matches GREEDY_ADAPTER={selector:?} (an index, pci:<bus id>, or a case-insensitive name substring); available:\n  {available}"
    )]
    AdapterNotFound { selector: String, available: String },

    #[error("request_device on adapter {adapter:?} failed: {source}")]
    RequestDevice {
        adapter: String,
        #[source]
        source: wgpu::RequestDeviceError,
    },

    #[error("tensor {tensor:?} needs {bytes} bytes, over the device limit {what} = {limit}")]
    TooLarge { tensor: String, bytes: u64, limit: u64, what: &'static str },

    #[error("allocating tensor {tensor:?} ({bytes} bytes) failed: {message}")]
    Alloc { tensor: String, bytes: u64, message: String },

    #[error("shader {file}.wgsl entry {entry}: {message}")]
    Shader { file: String, entry: String, message: String },

    #[error("kernel {kernel}: {message}")]
    Shape { kernel: &'static str, message: String },

    #[error("tensor {tensor:?} holds {got} but {want} was asked")]
    DType { tensor: String, got: String, want: String },

    #[error("GPU validation error in batch: {0}")]
    Validation(String),

    #[error("waiting on the GPU failed: {0}")]
    Poll(String),

    #[error("mapping a buffer for readback failed: {0}")]
    Map(String),
}
