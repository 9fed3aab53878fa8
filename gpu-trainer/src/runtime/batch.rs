//! [`Batch`]: records many kernel dispatches (and buffer copies) and submits
//! them in ONE command encoder / compute pass, with all their uniform
//! parameters packed in one buffer. A decode step is then a handful of submits.

use std::sync::Arc;

use wgpu::util::DeviceExt;

use super::registry::Kernel;
use super::{Gpu, GpuError};

enum Op {
    Dispatch {
        kernel: Arc<Kernel>,
        params: Option<(u64, u64)>,
        bufs: Vec<(u32, wgpu::Buffer)>,
        groups: [u32; 3],
    },
    Copy {
        src: wgpu::Buffer,
        src_off: u64,
        dst: wgpu::Buffer,
        dst_off: u64,
        size: u64,
    },
    Clear {
        buf: wgpu::Buffer,
    },
}

/// A recording of GPU work; nothing runs until [`Batch::submit`].
pub struct Batch<'g> {
    gpu: &'g Gpu,
    ops: Vec<Op>,
    params: Vec<u8>,
    align: u64,
}

impl<'g> Batch<'g> {
    pub(crate) fn new(gpu: &'g Gpu) -> Batch<'g> {
        let align = gpu.limits().min_uniform_buffer_offset_alignment.max(16) as u64;
        Batch { gpu, ops: Vec::new(), params: Vec::new(), align }
    }

    /// The GPU this batch records for.
    pub fn gpu(&self) -> &'g Gpu {
        self.gpu
    }

    /// Number of recorded operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Workgroup grid for `n` workgroups, folded into 2D so it stays under
    /// max_compute_workgroups_per_dimension (shaders rebuild the flat index
    /// as `wg.y * num_workgroups.x + wg.x`).
    pub fn grid(&self, n: u64) -> [u32; 3] {
        let max = self.gpu.limits().max_compute_workgroups_per_dimension.max(1) as u64;
        if n <= max { [n.max(1) as u32, 1, 1] } else { [max as u32, n.div_ceil(max) as u32, 1] }
    }

    /// Record one dispatch. `params` goes to `@binding(0)` as a uniform (may
    /// be empty when the entry point has none); `bufs` are `(binding, buffer)`
    /// storage bindings of group 0.
    pub fn dispatch(
        &mut self,
        kernel: Arc<Kernel>,
        params: &[u8],
        bufs: &[(u32, &wgpu::Buffer)],
        groups: [u32; 3],
    ) {
        let params = if params.is_empty() {
            None
        } else {
            let off = (self.params.len() as u64).next_multiple_of(self.align);
            self.params.resize(off as usize, 0);
            self.params.extend_from_slice(params);
            let len = (params.len() as u64).next_multiple_of(16);
            self.params.resize((off + len) as usize, 0);
            Some((off, len))
        };
        let bufs = bufs.iter().map(|&(b, buf)| (b, buf.clone())).collect();
        self.ops.push(Op::Dispatch { kernel, params, bufs, groups });
    }

    /// Record a buffer-to-buffer copy (offsets and size multiples of 4).
    pub fn copy(&mut self, src: &wgpu::Buffer, src_off: u64, dst: &wgpu::Buffer, dst_off: u64, size: u64) {
        self.ops.push(Op::Copy { src: src.clone(), src_off, dst: dst.clone(), dst_off, size });
    }

    /// Record zeroing a whole buffer (gradients before accumulation, scatter targets).
    pub fn clear(&mut self, buf: &wgpu::Buffer) {
        self.ops.push(Op::Clear { buf: buf.clone() });
    }

    /// Record zeroing every part of `t`.
    pub fn clear_tensor(&mut self, t: &crate::tensor::Tensor) {
        for p in t.parts() {
            self.clear(&p.buffer);
        }
    }

    /// Encode everything into one command buffer and submit it. Validation
    /// errors (a wrong binding, a bad size) come back as [`GpuError::Validation`].
    pub fn submit(self) -> Result<(), GpuError> {
        if self.ops.is_empty() {
            return Ok(());
        }
        let dev = &self.gpu.device;
        let scope = dev.push_error_scope(wgpu::ErrorFilter::Validation);
        let ubuf = (!self.params.is_empty()).then(|| {
            dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("batch params"),
                contents: &self.params,
                usage: wgpu::BufferUsages::UNIFORM,
            })
        });
        let groups_of: Vec<Option<wgpu::BindGroup>> = self
            .ops
            .iter()
            .map(|op| match op {
                Op::Dispatch { kernel, params, bufs, .. } => {
                    let mut entries = Vec::with_capacity(bufs.len() + 1);
                    if let (Some((off, len)), Some(u)) = (params, &ubuf) {
                        entries.push(wgpu::BindGroupEntry {
                            binding: 0,
                            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                buffer: u,
                                offset: *off,
                                size: wgpu::BufferSize::new(*len),
                            }),
                        });
                    }
                    for (b, buf) in bufs {
                        entries.push(wgpu::BindGroupEntry { binding: *b, resource: buf.as_entire_binding() });
                    }
                    Some(dev.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some(&kernel.name),
                        layout: &kernel.layout,
                        entries: &entries,
                    }))
                }
                Op::Copy { .. } | Op::Clear { .. } => None,
            })
            .collect();
        let mut enc = dev.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("batch") });
        let mut i = 0;
        while i < self.ops.len() {
            if let Op::Copy { src, src_off, dst, dst_off, size } = &self.ops[i] {
                enc.copy_buffer_to_buffer(src, *src_off, dst, *dst_off, *size);
                i += 1;
                continue;
            }
            if let Op::Clear { buf } = &self.ops[i] {
                enc.clear_buffer(buf, 0, None);
                i += 1;
                continue;
            }
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("batch"),
                timestamp_writes: None,
            });
            while i < self.ops.len() {
                let Op::Dispatch { kernel, groups, .. } = &self.ops[i] else { break };
                pass.set_pipeline(&kernel.pipeline);
                pass.set_bind_group(0, groups_of[i].as_ref(), &[]);
                pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
                i += 1;
                if super::profile::enabled() {
                    // one dispatch per submit, timed to completion
                    drop(pass);
                    let t = std::time::Instant::now();
                    self.gpu.queue.submit([std::mem::replace(
                        &mut enc,
                        dev.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("batch") }),
                    )
                    .finish()]);
                    self.gpu.wait()?;
                    super::profile::record(&kernel.name, t.elapsed());
                    break;
                }
            }
        }
        self.gpu.queue.submit([enc.finish()]);
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(GpuError::Validation(e.to_string()));
        }
        Ok(())
    }
}
