//! Backward of the linear ops: matmul (dX = dY W, dW = dY^T X), embedding (scatter-add by a
//! host-built plan, scatter_rows) and RoPE.
//!
//! 1. The CPU f32 references (`cpu::grad_linear`) against central finite differences of the CPU
//!    forwards (`cpu::ops`) for L = sum(G * f(p)) accumulated in f64. These ops are linear in the
//!    perturbed argument, so the differences are exact up to f32 rounding of the forward:
//!    tolerance 1e-4 relative (to |fd| + rms(fd)).
//! 2. Every GPU kernel against those references on odd shapes (not multiples of the 64x64 tiles
//!    or 256-thread workgroups), all weight dtypes, accumulate on and off, and tensors split into
//!    row parts (forced with a small max binding). Tolerance 1e-4 relative for the matmuls
//!    (different summation order), 1e-5 for the rest.

use std::sync::OnceLock;

use gpu_trainer::cpu::{grad_linear, ops};
use gpu_trainer::kernels::{embedding, kv_cache, matmul, rope};
use gpu_trainer::{DType, Gpu, GpuOptions, Tensor};

fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| Gpu::new().unwrap_or_else(|e| panic!("cannot open a GPU for the kernel tests: {e}")))
}

/// A GPU whose storage bindings hold at most `bytes`, so big-enough tensors are split into parts.
fn small_binding_gpu(bytes: u64) -> Gpu {
    let g = Gpu::with_options(GpuOptions { max_binding_override: Some(bytes), ..Default::default() })
        .unwrap_or_else(|e| panic!("cannot open a GPU: {e}"));
    assert_eq!(g.max_binding(), bytes);
    g
}

/// xorshift64*, uniform in [-1, 1).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let r = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        ((r >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn vec(&mut self, n: usize, amp: f32) -> Vec<f32> {
        (0..n).map(|_| self.next() * amp).collect()
    }
    fn below(&mut self, n: u32) -> u32 {
        ((self.next() + 1.0) * 0.5 * n as f32) as u32 % n
    }
}

const DTYPES: [DType; 3] = [DType::F32, DType::F16, DType::BF16];

fn round(d: DType, v: &[f32]) -> Vec<f32> {
    v.iter().map(|&x| d.round(x)).collect()
}

fn add(a: &[f32], b: &[f32]) -> Vec<f32> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

/// |got - want| <= rtol * (|want| + rms(want)) elementwise.
#[track_caller]
fn assert_close(what: &str, got: &[f32], want: &[f32], rtol: f32) {
    let want64: Vec<f64> = want.iter().map(|&v| v as f64).collect();
    assert_close64(what, got, &want64, rtol as f64);
}

#[track_caller]
fn assert_close64(what: &str, got: &[f32], want: &[f64], rtol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let rms = (want.iter().map(|v| v * v).sum::<f64>() / want.len().max(1) as f64).sqrt();
    let mut worst = (0.0f64, 0usize);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(g.is_finite(), "{what}: non-finite {g} at {i}");
        let rel = (g as f64 - w).abs() / (w.abs() + rms + 1e-30);
        if rel > worst.0 {
            worst = (rel, i);
        }
    }
    assert!(
        worst.0 <= rtol,
        "{what}: relative error {:.3e} at {} (got {}, want {}) > {rtol:e}",
        worst.0,
        worst.1,
        got[worst.1],
        want[worst.1]
    );
}

fn up(g: &Gpu, name: &str, shape: &[usize], dtype: DType, data: &[f32]) -> Tensor {
    Tensor::from_f32(g, name, shape, dtype, data).unwrap()
}

// ---------------------------------------------------------------------------------------------
// 1. CPU references against finite differences.

/// sum(G * y) in f64.
fn dot64(g: &[f32], y: &[f32]) -> f64 {
    assert_eq!(g.len(), y.len());
    g.iter().zip(y).map(|(&a, &b)| a as f64 * b as f64).sum()
}

/// dL/dp by central differences, step ~h (the step actually taken in f32 is used).
fn finite_diff(p: &[f32], h: f32, loss: impl Fn(&[f32]) -> f64) -> Vec<f64> {
    let mut q = p.to_vec();
    (0..p.len())
        .map(|i| {
            let (hi, lo) = (p[i] + h, p[i] - h);
            q[i] = hi;
            let lp = loss(&q);
            q[i] = lo;
            let lm = loss(&q);
            q[i] = p[i];
            (lp - lm) / (hi as f64 - lo as f64)
        })
        .collect()
}

const FD_STEP: f32 = 0.25;
const FD_TOL: f64 = 1e-4;

#[test]
fn cpu_matmul_backward_matches_finite_differences() {
    let mut rng = Rng(11);
    for &(m, k, n) in &[(1, 5, 3), (4, 7, 6), (3, 9, 11)] {
        let x = rng.vec(m * k, 1.0);
        let w = rng.vec(n * k, 1.0);
        let g = rng.vec(m * n, 1.0);
        let dx = grad_linear::matmul_t_backward_input(&g, &w, m, k, n);
        let fd_x = finite_diff(&x, FD_STEP, |x| dot64(&g, &ops::matmul_t(x, &w, m, k, n)));
        assert_close64(&format!("cpu dX {m}x{k}x{n}"), &dx, &fd_x, FD_TOL);
        let dw = grad_linear::matmul_t_backward_weight(&g, &x, m, k, n);
        let fd_w = finite_diff(&w, FD_STEP, |w| dot64(&g, &ops::matmul_t(&x, w, m, k, n)));
        assert_close64(&format!("cpu dW {m}x{k}x{n}"), &dw, &fd_w, FD_TOL);
    }
}

#[test]
fn cpu_embedding_backward_matches_finite_differences() {
    let mut rng = Rng(12);
    let (vocab, hidden, scale) = (9, 5, 2.5f32);
    let ids = [3u32, 0, 3, 8, 3, 0, 5];
    let table = rng.vec(vocab * hidden, 1.0);
    let g = rng.vec(ids.len() * hidden, 1.0);
    let mut d_table = vec![0.0f32; vocab * hidden];
    grad_linear::embedding_backward(&ids, &g, &mut d_table, hidden, scale);
    let fd = finite_diff(&table, FD_STEP, |t| dot64(&g, &ops::embedding(&ids, t, hidden, scale)));
    assert_close64("cpu d_table", &d_table, &fd, FD_TOL);
    // Rows of ids that never occur get no gradient; it accumulates onto what is there.
    assert!(d_table[hidden..2 * hidden].iter().all(|&v| v == 0.0));
    let prior = rng.vec(vocab * hidden, 1.0);
    let mut acc = prior.clone();
    grad_linear::embedding_backward(&ids, &g, &mut acc, hidden, scale);
    assert_close("cpu d_table accumulates", &acc, &add(&prior, &d_table), 1e-6);
}

#[test]
fn cpu_rope_backward_matches_finite_differences() {
    let mut rng = Rng(13);
    let positions = [0u32, 1, 5000, 4097, 77];
    for &(heads, head_dim) in &[(1, 2), (3, 10), (2, 16)] {
        let x = rng.vec(positions.len() * heads * head_dim, 1.0);
        let g = rng.vec(x.len(), 1.0);
        let rope_of = |x: &[f32]| {
            let mut y = x.to_vec();
            ops::rope(&mut y, &positions, heads, head_dim, 1e4);
            y
        };
        let mut dx = g.clone();
        grad_linear::rope_backward(&mut dx, &positions, heads, head_dim, 1e4);
        let fd = finite_diff(&x, FD_STEP, |x| dot64(&g, &rope_of(x)));
        assert_close64(&format!("cpu rope dx {heads}x{head_dim}"), &dx, &fd, FD_TOL);
    }
}

// ---------------------------------------------------------------------------------------------
// 2. GPU kernels against the CPU references.

/// dX (+)= dY W on `g` against the CPU reference; returns the number of parts of W.
fn check_backward_input(
    g: &Gpu,
    (m, n, k): (usize, usize, usize),
    d: DType,
    accumulate: bool,
    rng: &mut Rng,
) -> usize {
    let dy = rng.vec(m * n, 1.0);
    let w = rng.vec(n * k, 1.0);
    let prior = rng.vec(m * k, 1.0);
    let dyt = up(g, "dy", &[m, n], DType::F32, &dy);
    let wt = up(g, "w", &[n, k], d, &w);
    let dxt = up(g, "dx", &[m, k], DType::F32, &prior);
    let mut b = g.batch();
    matmul::backward_input(&mut b, &dyt, &wt, &dxt, accumulate).unwrap();
    b.submit().unwrap();
    let mut want = grad_linear::matmul_t_backward_input(&dy, &round(d, &w), m, k, n);
    if accumulate {
        want = add(&prior, &want);
    }
    let what = format!("dX {m}x{n}x{k} {d:?} accumulate={accumulate} ({} parts)", wt.parts().len());
    assert_close(&what, &dxt.to_f32(g).unwrap(), &want, 1e-4);
    wt.parts().len()
}

/// dW (+)= dY^T X on `g` against the CPU reference; returns the number of parts of dW.
fn check_backward_weight(
    g: &Gpu,
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
    rng: &mut Rng,
) -> usize {
    let dy = rng.vec(m * n, 1.0);
    let x = rng.vec(m * k, 1.0);
    let prior = rng.vec(n * k, 1.0);
    let dyt = up(g, "dy", &[m, n], DType::F32, &dy);
    let xt = up(g, "x", &[m, k], DType::F32, &x);
    let dwt = up(g, "dw", &[n, k], DType::F32, &prior);
    let mut b = g.batch();
    matmul::backward_weight(&mut b, &dyt, &xt, &dwt, accumulate).unwrap();
    b.submit().unwrap();
    let mut want = grad_linear::matmul_t_backward_weight(&dy, &x, m, k, n);
    if accumulate {
        want = add(&prior, &want);
    }
    let what = format!("dW {m}x{n}x{k} accumulate={accumulate} ({} parts)", dwt.parts().len());
    assert_close(&what, &dwt.to_f32(g).unwrap(), &want, 1e-4);
    dwt.parts().len()
}

/// (M, N, K): tile multiples, odd sizes, M = 1, K < 16, N > 64 with a partial last tile.
const MATMUL_SHAPES: [(usize, usize, usize); 6] =
    [(67, 45, 131), (1, 7, 5), (64, 64, 64), (130, 70, 33), (5, 129, 3), (17, 1, 80)];

#[test]
fn matmul_backward_input_matches_cpu_all_dtypes() {
    let mut rng = Rng(21);
    for shape in MATMUL_SHAPES {
        for d in DTYPES {
            for accumulate in [false, true] {
                check_backward_input(gpu(), shape, d, accumulate, &mut rng);
            }
        }
    }
}

#[test]
fn matmul_backward_weight_matches_cpu() {
    let mut rng = Rng(22);
    for shape in MATMUL_SHAPES {
        for accumulate in [false, true] {
            check_backward_weight(gpu(), shape, accumulate, &mut rng);
        }
    }
}

/// The tied LM head: W / dW split into row parts, each adding its share (dY columns).
#[test]
fn matmul_backward_over_split_weights() {
    let mut rng = Rng(23);
    // 4 KiB bindings: many parts of a few dozen rows (not multiples of the 64-row tile).
    let g = small_binding_gpu(4096);
    for d in DTYPES {
        for accumulate in [false, true] {
            assert!(check_backward_input(&g, (4, 211, 21), d, accumulate, &mut rng) > 2);
        }
    }
    for accumulate in [false, true] {
        assert!(check_backward_weight(&g, (4, 211, 21), accumulate, &mut rng) > 2);
        assert!(check_backward_weight(&g, (3, 300, 20), accumulate, &mut rng) > 2);
    }
    // 128 KiB bindings: M = 67 over two parts (the first of 250 rows for f32, 216 for the
    // packed halves with odd K, whose rows straddle words).
    let g = small_binding_gpu(1 << 17);
    for accumulate in [false, true] {
        assert_eq!(check_backward_input(&g, (67, 300, 131), DType::F32, accumulate, &mut rng), 2);
        for d in [DType::F16, DType::BF16] {
            assert_eq!(check_backward_input(&g, (67, 300, 301), d, accumulate, &mut rng), 2);
        }
        assert_eq!(check_backward_weight(&g, (67, 300, 131), accumulate, &mut rng), 2);
    }
}

#[test]
fn matmul_backward_shape_errors_name_the_tensors() {
    let g = gpu();
    let t = |name: &str, shape: &[usize]| Tensor::zeros(g, name, shape, DType::F32).unwrap();
    let (dy, w, x) = (t("grad.logits", &[3, 5]), t("w.q", &[5, 4]), t("h.in", &[3, 4]));
    let mut b = g.batch();
    let e = matmul::backward_input(&mut b, &dy, &w, &t("grad.h", &[3, 5]), false).unwrap_err().to_string();
    assert!(e.contains("grad.h") && e.contains("w.q"), "{e}");
    let e = matmul::backward_input(&mut b, &t("grad.bad", &[3, 4]), &w, &x, false).unwrap_err().to_string();
    assert!(e.contains("grad.bad") && e.contains("w.q"), "{e}");
    let e = matmul::backward_weight(&mut b, &dy, &t("h.bad", &[2, 4]), &w, false).unwrap_err().to_string();
    assert!(e.contains("h.bad") && e.contains("grad.logits"), "{e}");
    let e = matmul::backward_weight(&mut b, &dy, &x, &t("grad.w", &[6, 4]), true).unwrap_err().to_string();
    assert!(e.contains("grad.logits") && e.contains("grad.w"), "{e}");
    let half_dw = Tensor::zeros(g, "grad.w16", &[5, 4], DType::BF16).unwrap();
    let e = matmul::backward_weight(&mut b, &dy, &x, &half_dw, false).unwrap_err().to_string();
    assert!(e.contains("grad.w16"), "{e}");
    assert!(b.is_empty(), "nothing recorded on errors");
}

#[test]
fn scatter_plan_groups_tokens_by_id() {
    let g = gpu();
    // ids by token: 3 1 3 0 1 3 -> sorted by (id, token): 3(0) 1(1) 4(1) 0(3) 2(3) 5(3).
    let plan = embedding::ScatterPlan::new(g, &[3, 1, 3, 0, 1, 3]).unwrap();
    assert_eq!((plan.tokens, plan.unique), (6, 3));
    assert_eq!(plan.order.to_u32(g).unwrap(), [3, 1, 4, 0, 2, 5]);
    assert_eq!(plan.segments.shape, [3, 3]);
    assert_eq!(plan.segments.to_u32(g).unwrap(), [0, 0, 1, 1, 1, 3, 3, 3, 6]);
    let e = embedding::ScatterPlan::new(g, &[]).unwrap_err().to_string();
    assert!(e.contains("no token ids"), "{e}");
}

/// d_table (prior + scale * scatter of dY) on `g` against the CPU reference; returns the parts.
fn check_embedding_backward(g: &Gpu, ids: &[u32], vocab: usize, hidden: usize, rng: &mut Rng) -> usize {
    let scale = (hidden as f32).sqrt();
    let dy = rng.vec(ids.len() * hidden, 1.0);
    let prior = rng.vec(vocab * hidden, 1.0);
    let plan = embedding::ScatterPlan::new(g, ids).unwrap();
    let dyt = up(g, "dy", &[ids.len(), hidden], DType::F32, &dy);
    let dtt = up(g, "d_table", &[vocab, hidden], DType::F32, &prior);
    let mut b = g.batch();
    embedding::backward(&mut b, &plan, &dyt, &dtt, scale).unwrap();
    b.submit().unwrap();
    let mut want = prior.clone();
    grad_linear::embedding_backward(ids, &dy, &mut want, hidden, scale);
    let got = dtt.to_f32(g).unwrap();
    assert_close(&format!("d_table {vocab}x{hidden} ({} parts)", dtt.parts().len()), &got, &want, 1e-5);
    // Deterministic: the same again from the same prior gives the same bits.
    dtt.write_bytes(g, bytemuck::cast_slice(&prior));
    let mut b = g.batch();
    embedding::backward(&mut b, &plan, &dyt, &dtt, scale).unwrap();
    b.submit().unwrap();
    assert_eq!(dtt.to_f32(g).unwrap(), got, "embedding backward is not deterministic");
    dtt.parts().len()
}

#[test]
fn embedding_backward_sums_repeated_ids() {
    let mut rng = Rng(31);
    // hidden 300: more than the 256 threads of a workgroup, not a multiple of them.
    let mut ids: Vec<u32> = (0..37).map(|_| rng.below(11)).collect();
    ids[5] = ids[30];
    assert_eq!(check_embedding_backward(gpu(), &ids, 11, 300, &mut rng), 1);
    assert_eq!(check_embedding_backward(gpu(), &[7], 11, 3, &mut rng), 1);
    // One id for every token.
    assert_eq!(check_embedding_backward(gpu(), &[4; 9], 5, 257, &mut rng), 1);
}

#[test]
fn embedding_backward_over_a_split_table() {
    let mut rng = Rng(32);
    let g = small_binding_gpu(4096);
    // [211, 21] f32 = 5 parts of 48 rows (+ 19): ids at and around the part boundaries.
    let mut ids: Vec<u32> = vec![0, 47, 48, 210, 95, 96, 48, 0, 210, 47];
    ids.extend((0..20).map(|_| rng.below(211)));
    assert_eq!(check_embedding_backward(&g, &ids, 211, 21, &mut rng), 5);
}

#[test]
fn embedding_backward_errors() {
    let g = gpu();
    let plan = embedding::ScatterPlan::new(g, &[1, 9, 2]).unwrap();
    let table = Tensor::zeros(g, "grad.embed", &[9, 4], DType::F32).unwrap();
    let dy = Tensor::zeros(g, "grad.x", &[3, 4], DType::F32).unwrap();
    let mut b = g.batch();
    let e = embedding::backward(&mut b, &plan, &dy, &table, 1.0).unwrap_err().to_string();
    assert!(e.contains("9") && e.contains("grad.embed"), "{e}");
    let plan = embedding::ScatterPlan::new(g, &[1, 8]).unwrap();
    let e = embedding::backward(&mut b, &plan, &dy, &table, 1.0).unwrap_err().to_string();
    assert!(e.contains("grad.x"), "{e}");
    assert!(b.is_empty());
}

#[test]
fn scatter_rows_inverts_gather_rows() {
    let g = gpu();
    let mut rng = Rng(41);
    let (n, hidden) = (10, 37);
    let idx = [7u32, 0, 3, 9, 2];
    let src = rng.vec(idx.len() * hidden, 1.0);
    let prior = rng.vec(n * hidden, 1.0);
    let srct = up(g, "src", &[idx.len(), hidden], DType::F32, &src);
    let it = Tensor::from_u32(g, "idx", &[idx.len()], &idx).unwrap();
    let dst = up(g, "dst", &[n, hidden], DType::F32, &prior);
    let back = Tensor::zeros(g, "back", &[idx.len(), hidden], DType::F32).unwrap();
    let mut b = g.batch();
    embedding::scatter_rows(&mut b, &srct, &it, &dst).unwrap();
    kv_cache::gather_rows(&mut b, &dst, &it, &back).unwrap();
    b.submit().unwrap();
    let mut want = prior.clone();
    for (r, &i) in idx.iter().enumerate() {
        let i = i as usize;
        want[i * hidden..(i + 1) * hidden].copy_from_slice(&src[r * hidden..(r + 1) * hidden]);
    }
    assert_eq!(dst.to_f32(g).unwrap(), want);
    assert_eq!(back.to_f32(g).unwrap(), src);
    // Shape errors.
    let mut b = g.batch();
    let narrow = Tensor::zeros(g, "narrow", &[idx.len(), hidden - 1], DType::F32).unwrap();
    let e = embedding::scatter_rows(&mut b, &narrow, &it, &dst).unwrap_err().to_string();
    assert!(e.contains("narrow") && e.contains("dst"), "{e}");
    let few = Tensor::from_u32(g, "idx.short", &[3], &[1, 2, 3]).unwrap();
    let e = embedding::scatter_rows(&mut b, &srct, &few, &dst).unwrap_err().to_string();
    assert!(e.contains("src"), "{e}");
    assert!(b.is_empty());
}

#[test]
fn rope_backward_matches_cpu_and_undoes_forward() {
    let g = gpu();
    let mut rng = Rng(51);
    let positions = [0u32, 1, 5000, 4097, 77, 12345, 3];
    for &(heads, head_dim) in &[(3, 10), (2, 64), (1, 256)] {
        let table = rope::RopeTable::new(g, &positions, head_dim, 1e4).unwrap();
        let dy = rng.vec(positions.len() * heads * head_dim, 1.0);
        let dt = up(g, "dq", &[positions.len(), heads, head_dim], DType::F32, &dy);
        let mut b = g.batch();
        rope::backward(&mut b, &dt, &table, heads).unwrap();
        b.submit().unwrap();
        let mut want = dy.clone();
        grad_linear::rope_backward(&mut want, &positions, heads, head_dim, 1e4);
        assert_close(&format!("rope backward {heads}x{head_dim}"), &dt.to_f32(g).unwrap(), &want, 1e-5);
        // The transpose of a rotation is its inverse: forward then backward is the identity.
        let mut b = g.batch();
        rope::forward(&mut b, &dt, &table, heads).unwrap();
        b.submit().unwrap();
        assert_close("rope forward o backward", &dt.to_f32(g).unwrap(), &dy, 1e-5);
    }
    let table = rope::RopeTable::new(g, &positions, 10, 1e4).unwrap();
    let bad = Tensor::zeros(g, "dq.bad", &[positions.len(), 2, 8], DType::F32).unwrap();
    let e = rope::backward(&mut g.batch(), &bad, &table, 2).unwrap_err().to_string();
    assert!(e.contains("dq.bad"), "{e}");
}
