//! The device's f32 peak for "% of peak": `--peak-gflops`, else a small table of published
//! FP32 (non-tensor-core) peaks by adapter name, else, on CPU adapters (lavapipe / llvmpipe),
//! a measured estimate: an AVX2+FMA loop with independent accumulators on every thread (what
//! the host's vector units sustain; the JIT-compiled shaders can at best approach it).
//! Otherwise the peak is reported as unknown.

use rayon::prelude::*;
use std::time::Instant;

/// A peak and where it came from.
#[derive(Debug, Clone)]
pub struct Peak {
    /// GFLOP/s, when known.
    pub gflops: Option<f64>,
    /// `--peak-gflops`, `table: ...`, `measured: ...` or `unknown: ...`.
    pub source: String,
}

/// Published FP32 peaks (GFLOP/s, boost clock, non-tensor) by adapter-name substring.
const TABLE: &[(&str, f64)] = &[
    ("H200", 66_900.0),
    ("H100 PCIe", 51_200.0),
    ("H100", 66_900.0),
    ("A100", 19_500.0),
    ("L40S", 91_600.0),
    ("L4", 30_300.0),
    ("A10G", 31_200.0),
    ("RTX 4090", 82_600.0),
    ("RTX 3090", 35_600.0),
    ("T4", 8_100.0),
    ("Apple M1 Max", 10_400.0),
    ("Apple M1", 2_600.0),
    ("Apple M2", 3_600.0),
    ("Apple M3", 4_100.0),
];

/// The peak for `info`.
pub fn resolve(flag: Option<f64>, info: &wgpu::AdapterInfo) -> Peak {
    if let Some(p) = flag {
        return Peak { gflops: Some(p), source: "--peak-gflops".into() };
    }
    if let Some((name, p)) = TABLE.iter().find(|(n, _)| info.name.contains(n)) {
        return Peak { gflops: Some(*p), source: format!("table: {name} FP32 spec sheet") };
    }
    if info.device_type == wgpu::DeviceType::Cpu {
        return match measure_cpu_fma() {
            Some(g) => Peak {
                gflops: Some(g),
                source: format!(
                    "measured: host AVX2+FMA loop on {} threads (CPU adapter; an estimate, not a spec sheet)",
                    rayon::current_num_threads()
                ),
            },
            None => Peak { gflops: None, source: "unknown: CPU adapter without AVX2+FMA to measure".into() },
        };
    }
    Peak { gflops: None, source: format!("unknown: {} is not in the table (pass --peak-gflops)", info.name) }
}

#[cfg(target_arch = "x86_64")]
fn measure_cpu_fma() -> Option<f64> {
    if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
        return None;
    }
    const ITERS: u64 = 20_000_000;
    let threads = rayon::current_num_threads();
    // warm-up, then time
    let _ = (0..threads).into_par_iter().map(|_| unsafe { fma_loop(ITERS / 10) }).sum::<f32>();
    let t = Instant::now();
    let s: f32 = (0..threads).into_par_iter().map(|_| unsafe { fma_loop(ITERS) }).sum();
    std::hint::black_box(s);
    // 10 accumulators x 8 lanes x 2 flops per iteration
    Some(threads as f64 * ITERS as f64 * 10.0 * 8.0 * 2.0 / t.elapsed().as_secs_f64() / 1e9)
}

#[cfg(not(target_arch = "x86_64"))]
fn measure_cpu_fma() -> Option<f64> {
    None
}

/// `iters` rounds of 10 independent 8-wide fused multiply-adds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_loop(iters: u64) -> f32 {
    use std::arch::x86_64::*;
    let a = _mm256_set1_ps(0.999_999);
    let b = _mm256_set1_ps(1e-7);
    let mut acc = [_mm256_set1_ps(1.0); 10];
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = _mm256_fmadd_ps(*v, a, b);
        }
    }
    let mut out = [0f32; 8];
    let mut s = _mm256_setzero_ps();
    for v in acc {
        s = _mm256_add_ps(s, v);
    }
    unsafe { _mm256_storeu_ps(out.as_mut_ptr(), s) };
    out.iter().sum()
}
