//! Lists every adapter wgpu sees with its backend, driver, the optional features this project
//! uses (f16, subgroups, cooperative matrices), the cooperative-matrix configurations and the
//! limits that size our tensors.
//!
//!     cargo run --release -p gpu-trainer --example adapters

fn main() {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::all();
    let instance = wgpu::Instance::new(desc);
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    if adapters.is_empty() {
        println!("no adapter");
    }
    for (i, a) in adapters.iter().enumerate() {
        let info = a.get_info();
        let f = a.features();
        let l = a.limits();
        println!(
            "[{i}] {} ({:?}, {:?}) driver {} {}",
            info.name, info.backend, info.device_type, info.driver, info.driver_info
        );
        println!(
            "    shader_f16 {} subgroup {} cooperative_matrix {}",
            f.contains(wgpu::Features::SHADER_F16),
            f.contains(wgpu::Features::SUBGROUP),
            f.contains(wgpu::Features::EXPERIMENTAL_COOPERATIVE_MATRIX)
        );
        for p in a.cooperative_matrix_properties() {
            println!(
                "    coop M{} N{} K{} ab {:?} acc {:?} saturating {}",
                p.m_size, p.n_size, p.k_size, p.ab_type, p.cr_type, p.saturating_accumulation
            );
        }
        println!(
            "    max_storage_buffer_binding_size {} max_buffer_size {} max_compute_workgroup_storage_size {} max_compute_invocations_per_workgroup {} subgroup {}..{}",
            l.max_storage_buffer_binding_size,
            l.max_buffer_size,
            l.max_compute_workgroup_storage_size,
            l.max_compute_invocations_per_workgroup,
            info.subgroup_min_size,
            info.subgroup_max_size
        );
    }
}
