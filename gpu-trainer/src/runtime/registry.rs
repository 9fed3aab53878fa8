//! Kernel registry: each WGSL file compiled once (with the shared prelude
//! `shaders/common.wgsl` in front), each (file, entry point, weight dtype)
//! pipeline created once and cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{Gpu, GpuError};
use crate::tensor::DType;

const COMMON: &str = include_str!("../../../shaders/common.wgsl");

/// Every op family's WGSL source, by file stem (shaders/<stem>.wgsl, whose
/// Rust dispatcher is src/kernels/<stem>.rs).
pub const SHADER_FILES: &[(&str, &str)] = &[
    ("matmul", include_str!("../../../shaders/matmul.wgsl")),
    ("rmsnorm", include_str!("../../../shaders/rmsnorm.wgsl")),
    ("embedding", include_str!("../../../shaders/embedding.wgsl")),
    ("rope", include_str!("../../../shaders/rope.wgsl")),
    ("attention", include_str!("../../../shaders/attention.wgsl")),
    ("elementwise", include_str!("../../../shaders/elementwise.wgsl")),
    ("kv_cache", include_str!("../../../shaders/kv_cache.wgsl")),
    ("xent", include_str!("../../../shaders/xent.wgsl")),
    ("reduce", include_str!("../../../shaders/reduce.wgsl")),
    ("adamw", include_str!("../../../shaders/adamw.wgsl")),
    ("adafactor", include_str!("../../../shaders/adafactor.wgsl")),
];

/// A compiled pipeline and the layout of its bind group 0.
#[derive(Debug)]
pub struct Kernel {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
    pub name: String,
}

/// (file, entry point, weight-dtype code) of one pipeline.
type PipelineKey = (&'static str, &'static str, u32);

/// Compiled modules and pipelines, shared by every batch of one [`Gpu`].
#[derive(Default)]
pub struct Registry {
    modules: Mutex<HashMap<&'static str, Arc<wgpu::ShaderModule>>>,
    pipelines: Mutex<HashMap<PipelineKey, Arc<Kernel>>>,
}

fn wdtype_code(d: DType) -> u32 {
    match d {
        DType::F32 | DType::U32 => 0,
        DType::F16 => 1,
        DType::BF16 => 2,
    }
}

impl Registry {
    fn module(&self, gpu: &Gpu, file: &'static str) -> Result<Arc<wgpu::ShaderModule>, GpuError> {
        if let Some(m) = self.modules.lock().expect("registry lock").get(file) {
            return Ok(m.clone());
        }
        let src = SHADER_FILES.iter().find(|(f, _)| *f == file).map(|(_, s)| *s).ok_or_else(|| {
            GpuError::Shader {
                file: file.into(),
                entry: String::new(),
                message: "unknown shader file".into(),
            }
        })?;
        let full = format!("{COMMON}\n{src}");
        let scope = gpu.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = gpu.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(file),
            source: wgpu::ShaderSource::Wgsl(full.into()),
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(GpuError::Shader { file: file.into(), entry: String::new(), message: e.to_string() });
        }
        let m = Arc::new(module);
        self.modules.lock().expect("registry lock").insert(file, m.clone());
        Ok(m)
    }

    /// The pipeline for `entry` of `shaders/<file>.wgsl`, specialised for
    /// weights of dtype `wdtype` (the `WDTYPE` override of common.wgsl).
    pub fn kernel(
        &self,
        gpu: &Gpu,
        file: &'static str,
        entry: &'static str,
        wdtype: DType,
    ) -> Result<Arc<Kernel>, GpuError> {
        let code = wdtype_code(wdtype);
        let key = (file, entry, code);
        if let Some(k) = self.pipelines.lock().expect("registry lock").get(&key) {
            return Ok(k.clone());
        }
        let module = self.module(gpu, file)?;
        let constants = [("WDTYPE", code as f64)];
        let scope = gpu.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let pipeline = gpu.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: None,
            module: &module,
            entry_point: Some(entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &constants,
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(GpuError::Shader { file: file.into(), entry: entry.into(), message: e.to_string() });
        }
        let layout = pipeline.get_bind_group_layout(0);
        let k = Arc::new(Kernel { pipeline, layout, name: format!("{file}::{entry}") });
        self.pipelines.lock().expect("registry lock").insert(key, k.clone());
        Ok(k)
    }

    /// Number of compiled shader modules (each file at most once).
    pub fn modules_compiled(&self) -> usize {
        self.modules.lock().expect("registry lock").len()
    }
}
