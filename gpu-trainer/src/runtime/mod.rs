//! GPU runtime: instance, adapter choice, device with the adapter's real
//! limits, buffer allocation under error scopes, the kernel registry and the
//! [`Batch`] recorder that puts many dispatches into one submit.

mod batch;
mod error;
pub mod profile;
mod registry;
pub mod xdg;

pub use batch::Batch;
pub use error::GpuError;
pub use registry::{Registry, SHADER_FILES};

use std::sync::Arc;

/// The environment variable that picks an adapter: its index in
/// [`Gpu::list_adapters`], `pci:<bus id>` (`pci:0000:18:00.0`, as `nvidia-smi --query-gpu=pci.bus_id`
/// prints it: the same physical GPU whatever order the driver lists them in; how the cluster
/// launchers pass the GPU a job was given), or a case-insensitive substring of its name.
pub const ADAPTER_ENV: &str = "GREEDY_ADAPTER";

/// A PCI address `[domain:]bus:device.function` (hex, any width) as numbers.
fn parse_pci(text: &str) -> Option<(u32, u32, u32, u32)> {
    let parts: Vec<&str> = text.trim().split(':').collect();
    let (domain, bus, devfn) = match parts.as_slice() {
        [d, b, df] => (*d, *b, *df),
        [b, df] => ("0", *b, *df),
        _ => return None,
    };
    let (dev, func) = devfn.split_once('.')?;
    let hex = |s: &str| u32::from_str_radix(s, 16).ok();
    Some((hex(domain)?, hex(bus)?, hex(dev)?, hex(func)?))
}

/// Does the selector `pci:<address>` name the adapter at `bus_id` (wgpu's `device_pci_bus_id`)?
fn pci_matches(address: &str, bus_id: &str) -> bool {
    matches!((parse_pci(address), parse_pci(bus_id)), (Some(a), Some(b)) if a == b)
}

/// How to open the GPU.
#[derive(Clone, Debug, Default)]
pub struct GpuOptions {
    /// Adapter selector (index or name substring); `None` reads [`ADAPTER_ENV`],
    /// and when that is unset too the first high-performance adapter is used.
    pub adapter: Option<String>,
    /// Test hook: pretend one storage binding holds at most this many bytes
    /// (rounded down to a multiple of 4), so tensor splitting can be exercised
    /// on any device. Never raises the real limit.
    pub max_binding_override: Option<u64>,
}

/// One opened GPU: device, queue, limits and the compiled kernels.
pub struct Gpu {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    features: wgpu::Features,
    max_binding: u64,
    pub(crate) registry: Registry,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu")
            .field("adapter", &self.info.name)
            .field("backend", &self.info.backend)
            .field("max_binding", &self.max_binding)
            .finish()
    }
}

fn new_instance() -> wgpu::Instance {
    xdg::ensure_runtime_dir();
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::all();
    wgpu::Instance::new(desc)
}

fn describe(i: usize, info: &wgpu::AdapterInfo) -> String {
    let pci = if info.device_pci_bus_id.is_empty() {
        String::new()
    } else {
        format!(", pci:{}", info.device_pci_bus_id)
    };
    format!("[{i}] {} ({:?}, {:?}{pci})", info.name, info.backend, info.device_type)
}

fn no_adapter_error() -> GpuError {
    GpuError::NoAdapter {
        hint: if cfg!(target_os = "linux") {
            "install a Vulkan driver; on Linux without a GPU the software one: \
             `apt-get install mesa-vulkan-drivers` (llvmpipe/lavapipe)"
        } else if cfg!(target_os = "macos") {
            "Metal should always be present on macOS; check that the process can reach the GPU"
        } else {
            "install or update the GPU driver (Vulkan or DX12)"
        },
    }
}

impl Gpu {
    /// Open the adapter chosen by `GREEDY_ADAPTER` (or the default one).
    pub fn new() -> Result<Gpu, GpuError> {
        Gpu::with_options(GpuOptions::default())
    }

    /// Every adapter wgpu can see, over all backends, in selection order.
    pub fn list_adapters() -> Vec<wgpu::AdapterInfo> {
        let instance = new_instance();
        pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
            .iter()
            .map(|a| a.get_info())
            .collect()
    }

    /// Open a GPU with explicit options.
    pub fn with_options(opts: GpuOptions) -> Result<Gpu, GpuError> {
        let instance = new_instance();
        let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
        if adapters.is_empty() {
            return Err(no_adapter_error());
        }
        let selector = opts.adapter.clone().or_else(|| std::env::var(ADAPTER_ENV).ok());
        let adapter = match selector.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(sel) => {
                let infos: Vec<_> = adapters.iter().map(|a| a.get_info()).collect();
                let idx = match sel.parse::<usize>() {
                    Ok(i) if i < adapters.len() => Some(i),
                    _ if sel.to_lowercase().starts_with("pci:") => {
                        infos.iter().position(|inf| pci_matches(&sel[4..], &inf.device_pci_bus_id))
                    }
                    _ => {
                        let low = sel.to_lowercase();
                        infos.iter().position(|inf| inf.name.to_lowercase().contains(&low))
                    }
                };
                match idx {
                    Some(i) => adapters.into_iter().nth(i).expect("index checked"),
                    None => {
                        return Err(GpuError::AdapterNotFound {
                            selector: sel.to_string(),
                            available: infos
                                .iter()
                                .enumerate()
                                .map(|(i, inf)| describe(i, inf))
                                .collect::<Vec<_>>()
                                .join("\n  "),
                        });
                    }
                }
            }
            None => {
                let opts = wgpu::RequestAdapterOptions {
                    power_preference: wgpu::PowerPreference::HighPerformance,
                    ..Default::default()
                };
                match pollster::block_on(instance.request_adapter(&opts)) {
                    Ok(a) => a,
                    Err(_) => adapters.into_iter().next().expect("non-empty"),
                }
            }
        };
        Gpu::from_adapter(adapter, opts.max_binding_override)
    }

    fn from_adapter(adapter: wgpu::Adapter, max_binding_override: Option<u64>) -> Result<Gpu, GpuError> {
        let info = adapter.get_info();
        // The adapter's real limits, not the WebGPU defaults (128 MiB bindings
        // would not hold a 256000 x 2304 embedding even split in a few parts).
        let limits = adapter.limits();
        let wanted = wgpu::Features::SHADER_F16 | wgpu::Features::SUBGROUP;
        let features = adapter.features() & wanted;
        let desc = wgpu::DeviceDescriptor {
            label: Some("greedy gpu-trainer"),
            required_features: features,
            required_limits: limits.clone(),
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc))
            .map_err(|e| GpuError::RequestDevice { adapter: info.name.clone(), source: e })?;
        // Errors we do not catch in a scope are reported, not turned into panics
        // on some wgpu thread; the scoped paths below return them as values.
        device.on_uncaptured_error(Arc::new(|e: wgpu::Error| {
            eprintln!("gpu-trainer: uncaptured wgpu error: {e}");
        }));
        let mut max_binding = limits.max_storage_buffer_binding_size.min(limits.max_buffer_size);
        if let Some(o) = max_binding_override {
            max_binding = max_binding.min(o);
        }
        max_binding &= !3;
        let registry = Registry::default();
        Ok(Gpu { device, queue, info, limits, features, max_binding, registry })
    }

    /// Name, backend, device type of the adapter in use.
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// The limits the device was opened with (the adapter's own).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// The optional features that were enabled (SHADER_F16, SUBGROUP when present).
    pub fn features(&self) -> wgpu::Features {
        self.features
    }

    /// Largest byte size of one storage binding (after the test override);
    /// tensors larger than this are split into row parts.
    pub fn max_binding(&self) -> u64 {
        self.max_binding
    }

    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// The kernel registry (compiled modules and cached pipelines).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Start recording a batch of kernels (submitted once by [`Batch::submit`]).
    pub fn batch(&self) -> Batch<'_> {
        Batch::new(self)
    }

    /// Block until all submitted work is done.
    pub fn wait(&self) -> Result<(), GpuError> {
        self.device
            .poll(wgpu::PollType::Wait { submission_index: None, timeout: None })
            .map(|_| ())
            .map_err(|e| GpuError::Poll(e.to_string()))
    }

    /// Allocate a buffer, turning an over-limit size or an out-of-memory into
    /// an error that names the tensor and its size.
    pub(crate) fn create_buffer(
        &self,
        name: &str,
        size: u64,
        usage: wgpu::BufferUsages,
    ) -> Result<wgpu::Buffer, GpuError> {
        let size = size.max(4).next_multiple_of(4);
        if size > self.limits.max_buffer_size {
            return Err(GpuError::TooLarge {
                tensor: name.to_string(),
                bytes: size,
                limit: self.limits.max_buffer_size,
                what: "max_buffer_size",
            });
        }
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let val = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(name),
            size,
            usage,
            mapped_at_creation: false,
        });
        let v = pollster::block_on(val.pop());
        let o = pollster::block_on(oom.pop());
        if let Some(e) = o.or(v) {
            return Err(GpuError::Alloc { tensor: name.to_string(), bytes: size, message: e.to_string() });
        }
        Ok(buf)
    }

    /// Allocate a plain storage buffer of `bytes` (checked like every tensor
    /// allocation: over-limit or out-of-memory is an error naming `name`).
    pub fn create_buffer_checked(&self, name: &str, bytes: u64) -> Result<wgpu::Buffer, GpuError> {
        self.create_buffer(
            name,
            bytes,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        )
    }

    /// Copy a GPU buffer range back to the host (blocking).
    pub(crate) fn read_buffer(
        &self,
        buf: &wgpu::Buffer,
        offset: u64,
        size: u64,
    ) -> Result<Vec<u8>, GpuError> {
        let size4 = size.next_multiple_of(4);
        let staging = self.create_buffer(
            "readback staging",
            size4,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        )?;
        let mut enc =
            self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("readback") });
        enc.copy_buffer_to_buffer(buf, offset, &staging, 0, size4);
        self.queue.submit([enc.finish()]);
        let (tx, rx) = std::sync::mpsc::channel();
        staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.wait()?;
        rx.recv()
            .map_err(|_| GpuError::Map("map callback dropped".into()))?
            .map_err(|e| GpuError::Map(e.to_string()))?;
        let out = {
            let view = staging.slice(..).get_mapped_range().map_err(|e| GpuError::Map(e.to_string()))?;
            view[..size as usize].to_vec()
        };
        staging.unmap();
        Ok(out)
    }
}

#[cfg(test)]
mod pci_tests {
    use super::*;

    #[test]
    fn pci_addresses_match_whatever_their_width() {
        assert!(pci_matches("00000000:18:00.0", "0000:18:00.0"));
        assert!(pci_matches("18:00.0", "0000:18:00.0"));
        assert!(pci_matches(" 0000:1A:00.0", "0000:1a:00.0"));
        assert!(!pci_matches("0000:19:00.0", "0000:18:00.0"));
        assert!(!pci_matches("0000:18:00.0", ""), "an adapter without a PCI address never matches");
        assert!(!pci_matches("nvidia", "0000:18:00.0"));
        assert_eq!(parse_pci("0001:af:1f.7"), Some((1, 0xaf, 0x1f, 7)));
    }
}
