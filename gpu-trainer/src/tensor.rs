//! [`Tensor`]: a shaped GPU buffer of f32, f16, bf16 (packed two per u32,
//! WGSL has no bf16) or u32 (token ids, positions). A tensor larger than one
//! storage binding is stored as several row parts, each its own buffer.

use crate::runtime::{Gpu, GpuError};

/// Element type of a tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    /// IEEE half, two per u32 (element 2i in the low 16 bits).
    F16,
    /// bfloat16, two per u32 (element 2i in the low 16 bits).
    BF16,
    /// Token ids and positions.
    U32,
}

impl DType {
    /// Bytes per element (2 for the packed halves).
    pub fn size(self) -> u64 {
        match self {
            DType::F32 | DType::U32 => 4,
            DType::F16 | DType::BF16 => 2,
        }
    }

    /// Round an f32 to this dtype and back (what the GPU will see); identity for F32.
    pub fn round(self, x: f32) -> f32 {
        match self {
            DType::F32 | DType::U32 => x,
            DType::F16 => half::f16::from_f32(x).to_f32(),
            DType::BF16 => half::bf16::from_f32(x).to_f32(),
        }
    }
}

/// One row range of a tensor, in its own buffer.
#[derive(Clone, Debug)]
pub struct TensorPart {
    pub buffer: wgpu::Buffer,
    /// first row (index along shape[0]) held by this part
    pub row_start: usize,
    pub rows: usize,
}

/// A shaped tensor on the GPU; row-major, rows = shape[0].
#[derive(Clone, Debug)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: DType,
    parts: Vec<TensorPart>,
}

const USAGE: wgpu::BufferUsages =
    wgpu::BufferUsages::STORAGE.union(wgpu::BufferUsages::COPY_SRC).union(wgpu::BufferUsages::COPY_DST);

impl Tensor {
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Elements per row (product of shape[1..]).
    pub fn row_len(&self) -> usize {
        self.shape.iter().skip(1).product()
    }

    pub fn rows(&self) -> usize {
        self.shape.first().copied().unwrap_or(1)
    }

    /// The row parts (one unless the tensor exceeds one storage binding).
    pub fn parts(&self) -> &[TensorPart] {
        &self.parts
    }

    /// The single buffer of an unsplit tensor; an error naming the kernel otherwise.
    pub fn buffer(&self, kernel: &'static str) -> Result<&wgpu::Buffer, GpuError> {
        match self.parts.as_slice() {
            [p] => Ok(&p.buffer),
            _ => Err(GpuError::Shape {
                kernel,
                message: format!(
                    "tensor {:?} is split into {} parts; this kernel needs one binding",
                    self.name,
                    self.parts.len()
                ),
            }),
        }
    }

    /// A view of the first `rows` rows, sharing the buffer (no copy, no
    /// allocation): kernels size their work from the shape, so one buffer
    /// preallocated for the largest step serves every smaller one. Only for
    /// unsplit tensors.
    pub fn rows_view(&self, rows: usize) -> Result<Tensor, GpuError> {
        match self.parts.as_slice() {
            [p] if rows <= p.rows => {
                let mut shape = self.shape.clone();
                if shape.is_empty() {
                    shape.push(rows);
                } else {
                    shape[0] = rows;
                }
                Ok(Tensor {
                    name: self.name.clone(),
                    shape,
                    dtype: self.dtype,
                    parts: vec![TensorPart { buffer: p.buffer.clone(), row_start: 0, rows }],
                })
            }
            _ => Err(GpuError::Shape {
                kernel: "rows_view",
                message: format!(
                    "tensor {:?} {:?} ({} parts) has no {rows}-row view",
                    self.name,
                    self.shape,
                    self.parts.len()
                ),
            }),
        }
    }

    /// Error unless the dtype is `want`.
    pub fn expect_dtype(&self, want: DType) -> Result<(), GpuError> {
        if self.dtype != want {
            return Err(GpuError::DType {
                tensor: self.name.clone(),
                got: format!("{:?}", self.dtype),
                want: format!("{want:?}"),
            });
        }
        Ok(())
    }

    /// Allocate (zero-filled) on `gpu`, split into row parts when one binding
    /// cannot hold it. Packed parts always start on an even element.
    pub fn zeros(gpu: &Gpu, name: &str, shape: &[usize], dtype: DType) -> Result<Tensor, GpuError> {
        let rows = shape.first().copied().unwrap_or(1).max(1);
        let row_len: usize = shape.iter().skip(1).product();
        let row_bytes = (row_len as u64 * dtype.size()).max(1);
        let total = rows as u64 * row_bytes;
        let max = gpu.max_binding();
        let mut rows_per_part =
            if total.next_multiple_of(4) <= max { rows } else { (max / row_bytes) as usize };
        if rows_per_part < rows && dtype.size() == 2 && row_len % 2 == 1 {
            rows_per_part &= !1; // keep every part starting on a u32 boundary
        }
        if rows_per_part == 0 {
            return Err(GpuError::TooLarge {
                tensor: name.to_string(),
                bytes: row_bytes,
                limit: max,
                what: "max_storage_buffer_binding_size (one row does not fit)",
            });
        }
        let mut parts = Vec::new();
        let mut start = 0;
        while start < rows {
            let n = rows_per_part.min(rows - start);
            let label = if rows_per_part >= rows {
                name.to_string()
            } else {
                format!("{name}[rows {start}..{}]", start + n)
            };
            let buffer = gpu.create_buffer(&label, n as u64 * row_bytes, USAGE)?;
            parts.push(TensorPart { buffer, row_start: start, rows: n });
            start += n;
        }
        Ok(Tensor { name: name.to_string(), shape: shape.to_vec(), dtype, parts })
    }

    /// Upload f32 data converted (round to nearest even) to `dtype`.
    pub fn from_f32(
        gpu: &Gpu,
        name: &str,
        shape: &[usize],
        dtype: DType,
        data: &[f32],
    ) -> Result<Tensor, GpuError> {
        let bytes: Vec<u8> = match dtype {
            DType::F32 => bytemuck::cast_slice(data).to_vec(),
            DType::F16 => data.iter().flat_map(|&x| half::f16::from_f32(x).to_bits().to_le_bytes()).collect(),
            DType::BF16 => {
                data.iter().flat_map(|&x| half::bf16::from_f32(x).to_bits().to_le_bytes()).collect()
            }
            DType::U32 => data.iter().flat_map(|&x| (x as u32).to_le_bytes()).collect(),
        };
        Tensor::from_bytes(gpu, name, shape, dtype, &bytes)
    }

    /// Upload u32 data (ids, positions).
    pub fn from_u32(gpu: &Gpu, name: &str, shape: &[usize], data: &[u32]) -> Result<Tensor, GpuError> {
        Tensor::from_bytes(gpu, name, shape, DType::U32, bytemuck::cast_slice(data))
    }

    /// Upload raw little-endian bytes already in `dtype` (e.g. bf16 straight
    /// from a safetensors file).
    pub fn from_bytes(
        gpu: &Gpu,
        name: &str,
        shape: &[usize],
        dtype: DType,
        bytes: &[u8],
    ) -> Result<Tensor, GpuError> {
        let numel: usize = shape.iter().product();
        if bytes.len() as u64 != numel as u64 * dtype.size() {
            return Err(GpuError::Shape {
                kernel: "upload",
                message: format!("tensor {name:?}: {} bytes for shape {shape:?} of {dtype:?}", bytes.len()),
            });
        }
        let t = Tensor::zeros(gpu, name, shape, dtype)?;
        t.write_bytes(gpu, bytes);
        Ok(t)
    }

    /// Overwrite the whole tensor with raw bytes (length must match).
    pub fn write_bytes(&self, gpu: &Gpu, bytes: &[u8]) {
        let row_bytes = self.row_len() * dtype_bytes(self.dtype);
        for p in &self.parts {
            let a = p.row_start * row_bytes;
            let b = ((p.row_start + p.rows) * row_bytes).min(bytes.len());
            let chunk = &bytes[a..b];
            if chunk.len().is_multiple_of(4) {
                gpu.queue().write_buffer(&p.buffer, 0, chunk);
            } else {
                let mut padded = chunk.to_vec();
                padded.resize(chunk.len().next_multiple_of(4), 0);
                gpu.queue().write_buffer(&p.buffer, 0, &padded);
            }
        }
    }

    /// Raw bytes of the whole tensor (blocking readback).
    pub fn to_bytes(&self, gpu: &Gpu) -> Result<Vec<u8>, GpuError> {
        let row_bytes = self.row_len() * dtype_bytes(self.dtype);
        let mut out = Vec::with_capacity(self.numel() * dtype_bytes(self.dtype));
        for p in &self.parts {
            out.extend(gpu.read_buffer(&p.buffer, 0, (p.rows * row_bytes) as u64)?);
        }
        Ok(out)
    }

    /// Download as f32 (halves widened exactly).
    pub fn to_f32(&self, gpu: &Gpu) -> Result<Vec<f32>, GpuError> {
        let b = self.to_bytes(gpu)?;
        Ok(match self.dtype {
            DType::F32 => bytemuck::pod_collect_to_vec(&b),
            DType::F16 => {
                b.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect()
            }
            DType::BF16 => {
                b.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect()
            }
            DType::U32 => {
                b.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32).collect()
            }
        })
    }

    /// Download u32 data.
    pub fn to_u32(&self, gpu: &Gpu) -> Result<Vec<u32>, GpuError> {
        self.expect_dtype(DType::U32)?;
        Ok(bytemuck::pod_collect_to_vec(&self.to_bytes(gpu)?))
    }
}

fn dtype_bytes(d: DType) -> usize {
    d.size() as usize
}
