//! Backward of the pointwise / per-row ops: rms_norm (1 + w), geglu, softcap, log-softmax /
//! cross-entropy. First the CPU f32 reference (`cpu::grad_pointwise`) against f64 finite
//! differences of L = sum(G * f(x)), then every GPU backward kernel against that reference on
//! small odd shapes, f32 / f16 / bf16 norm weights.

use std::sync::OnceLock;

use gpu_trainer::cpu::{grad_pointwise as grad, ops};
use gpu_trainer::kernels::{elementwise, rmsnorm, xent};
use gpu_trainer::{DType, Gpu, GpuOptions, Tensor};

fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| Gpu::new().unwrap_or_else(|e| panic!("cannot open a GPU for the kernel tests: {e}")))
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

/// |got - want| <= rtol * (|want| + rms(want)) elementwise.
#[track_caller]
fn assert_close(what: &str, got: &[f32], want: &[f32], rtol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let rms = (want.iter().map(|v| v * v).sum::<f32>() / want.len().max(1) as f32).sqrt();
    let mut worst = (0.0f32, 0usize);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(g.is_finite(), "{what}: non-finite {g} at {i}");
        let rel = (g - w).abs() / (w.abs() + rms + 1e-30);
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

fn up(name: &str, shape: &[usize], dtype: DType, data: &[f32]) -> Tensor {
    Tensor::from_f32(gpu(), name, shape, dtype, data).unwrap()
}

fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

/// Central finite differences of `f` at `x` (f64), as f32 for comparison.
fn fd_grad(x: &[f64], f: impl Fn(&[f64]) -> f64) -> Vec<f32> {
    let mut xp = x.to_vec();
    (0..x.len())
        .map(|i| {
            let h = 1e-6 * x[i].abs().max(1.0);
            xp[i] = x[i] + h;
            let fp = f(&xp);
            xp[i] = x[i] - h;
            let fm = f(&xp);
            xp[i] = x[i];
            ((fp - fm) / (2.0 * h)) as f32
        })
        .collect()
}

// ---- f64 forwards (independent of the f32 code under test) ----

fn rms_norm64(x: &[f64], w: &[f64], eps: f64) -> Vec<f64> {
    let dim = w.len();
    let mut y = Vec::with_capacity(x.len());
    for row in x.chunks_exact(dim) {
        let r = 1.0 / (row.iter().map(|v| v * v).sum::<f64>() / dim as f64 + eps).sqrt();
        y.extend(row.iter().zip(w).map(|(v, wi)| v * r * (1.0 + wi)));
    }
    y
}

fn gelu64(x: f64) -> f64 {
    0.5 * x * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x)).tanh())
}

fn dot(g: &[f64], y: &[f64]) -> f64 {
    g.iter().zip(y).map(|(a, b)| a * b).sum()
}

/// L = sum_r coef[r] * -(y[r, t_r] - logsumexp(y[r])), y = cap tanh(z / cap) or z.
fn xent_loss64(z: &[f64], targets: &[u32], coef: &[f32], cap: Option<f64>) -> f64 {
    let v = z.len() / targets.len();
    let mut loss = 0.0;
    for (r, row) in z.chunks_exact(v).enumerate() {
        let y: Vec<f64> = row.iter().map(|&z| cap.map_or(z, |c| c * (z / c).tanh())).collect();
        let m = y.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        let lse = m + y.iter().map(|&v| (v - m).exp()).sum::<f64>().ln();
        loss += coef[r] as f64 * -(y[targets[r] as usize] - lse);
    }
    loss
}

// ---- CPU reference vs finite differences ----

#[test]
fn cpu_rms_norm_backward_matches_finite_differences() {
    let mut rng = Rng(3);
    let (rows, dim, eps) = (3, 7, 1e-6f32);
    let x = rng.vec(rows * dim, 2.0);
    let w = rng.vec(dim, 0.5);
    let g = rng.vec(rows * dim, 1.0);
    let (dx, dw) = grad::rms_norm_backward(&x, &w, &g, dim, eps);
    let (x64, w64, g64) = (f64s(&x), f64s(&w), f64s(&g));
    let fd_x = fd_grad(&x64, |x| dot(&g64, &rms_norm64(x, &w64, eps as f64)));
    let fd_w = fd_grad(&w64, |w| dot(&g64, &rms_norm64(&x64, w, eps as f64)));
    assert_close("rms_norm dx vs fd", &dx, &fd_x, 1e-4);
    assert_close("rms_norm dw vs fd", &dw, &fd_w, 1e-4);
}

#[test]
fn cpu_geglu_and_softcap_backward_match_finite_differences() {
    let mut rng = Rng(5);
    let n = 41;
    let gate = rng.vec(n, 6.0);
    let upv = rng.vec(n, 2.0);
    let g = rng.vec(n, 1.0);
    let (dgate, dup) = grad::geglu_backward(&gate, &upv, &g);
    let (gate64, up64, g64) = (f64s(&gate), f64s(&upv), f64s(&g));
    let geglu64 =
        |gt: &[f64], u: &[f64]| -> Vec<f64> { gt.iter().zip(u).map(|(&a, &b)| gelu64(a) * b).collect() };
    let fd_gate = fd_grad(&gate64, |x| dot(&g64, &geglu64(x, &up64)));
    let fd_up = fd_grad(&up64, |x| dot(&g64, &geglu64(&gate64, x)));
    assert_close("geglu dgate vs fd", &dgate, &fd_gate, 1e-4);
    assert_close("geglu dup vs fd", &dup, &fd_up, 1e-4);

    // softcap: the gradient w.r.t. x from the capped output y.
    let cap = 30.0f32;
    let x = rng.vec(n, 100.0);
    let mut y = x.clone();
    ops::softcap(&mut y, cap);
    let dx = grad::softcap_backward(&y, &g, cap);
    let fd = fd_grad(&f64s(&x), |x| {
        dot(&g64, &x.iter().map(|&v| cap as f64 * (v / cap as f64).tanh()).collect::<Vec<_>>())
    });
    assert_close("softcap dx vs fd", &dx, &fd, 1e-4);
}

#[test]
fn cpu_xent_matches_finite_differences_with_and_without_softcap() {
    let mut rng = Rng(9);
    let (rows, v) = (4, 13);
    let targets: Vec<u32> = vec![0, 12, rng.below(13), rng.below(13)];
    // Negative (an RL advantage) and zero coefficients included.
    let coef = [1.0f32, 0.0, -0.7, 2.5];
    for (cap, amp) in [(None, 4.0f32), (Some(30.0f32), 60.0)] {
        let z = rng.vec(rows * v, amp);
        let mut y = z.clone();
        if let Some(c) = cap {
            ops::softcap(&mut y, c);
        }
        let (lse, logprob) = grad::xent_forward(&y, &targets, v);
        // logprob against f64 (one row at a time: coef = onehot(r)).
        let z64 = f64s(&z);
        let cap64 = cap.map(|c| c as f64);
        for r in 0..rows {
            let mut one = [0.0f32; 4];
            one[r] = 1.0;
            let want = -xent_loss64(&z64, &targets, &one, cap64) as f32;
            assert!(
                (logprob[r] - want).abs() <= 1e-5 * (1.0 + want.abs()),
                "logprob row {r}: {} vs {want}",
                logprob[r]
            );
        }
        let dz = grad::xent_backward(&y, &targets, &lse, &coef, cap);
        let fd = fd_grad(&z64, |z| xent_loss64(z, &targets, &coef, cap64));
        assert_close(&format!("xent dz vs fd (softcap {cap:?})"), &dz, &fd, 1e-4);
        // Row 1 has coefficient 0: exactly zero gradient.
        assert!(dz[v..2 * v].iter().all(|&g| g == 0.0));
    }
}

// ---- GPU kernels vs the CPU reference ----

/// Two backward calls into the same dx / dw (the second always accumulating): dx = (dx0 if
/// accumulate) + dx(dy1) + dx(dy2), dw = dw0 + dw(dy1) + dw(dy2).
fn run_rmsnorm_backward(
    rng: &mut Rng,
    shape: &[usize],
    dim: usize,
    d: DType,
    accumulate: bool,
) -> (Vec<f32>, Vec<f32>) {
    let n: usize = shape.iter().product();
    let eps = 1e-6f32;
    let x = rng.vec(n, 2.0);
    let w = rng.vec(dim, 0.5);
    let (dy1, dy2) = (rng.vec(n, 1.0), rng.vec(n, 1.0));
    let dx0 = rng.vec(n, 1.0);
    let dw0 = rng.vec(dim, 1.0);
    let wt = up("w", &[dim], d, &w);
    let (xt, d1, d2) = (
        up("x", shape, DType::F32, &x),
        up("dy1", shape, DType::F32, &dy1),
        up("dy2", shape, DType::F32, &dy2),
    );
    let dxt = up("dx", shape, DType::F32, &dx0);
    let dwt = up("dw", &[dim], DType::F32, &dw0);
    let mut b = gpu().batch();
    rmsnorm::backward(&mut b, &xt, &wt, &d1, &dxt, &dwt, eps, accumulate).unwrap();
    rmsnorm::backward(&mut b, &xt, &wt, &d2, &dxt, &dwt, eps, true).unwrap();
    b.submit().unwrap();

    let wr: Vec<f32> = w.iter().map(|&v| d.round(v)).collect();
    let (dxa, dwa) = grad::rms_norm_backward(&x, &wr, &dy1, dim, eps);
    let (dxb, dwb) = grad::rms_norm_backward(&x, &wr, &dy2, dim, eps);
    let want_dx: Vec<f32> = (0..n).map(|i| if accumulate { dx0[i] } else { 0.0 } + dxa[i] + dxb[i]).collect();
    let want_dw: Vec<f32> = (0..dim).map(|i| dw0[i] + dwa[i] + dwb[i]).collect();
    let what = format!("rmsnorm backward {shape:?} dim {dim} {d:?} accumulate {accumulate}");
    let (got_dx, got_dw) = (dxt.to_f32(gpu()).unwrap(), dwt.to_f32(gpu()).unwrap());
    assert_close(&format!("{what} dx"), &got_dx, &want_dx, 1e-5);
    assert_close(&format!("{what} dw"), &got_dw, &want_dw, 2e-5);
    (got_dx, got_dw)
}

#[test]
fn rmsnorm_backward_matches_cpu_per_token_and_per_head() {
    let mut rng = Rng(21);
    for d in DTYPES {
        for accumulate in [false, true] {
            // per token: 7 rows of 45 (2 row blocks in the dw pass); 300 rows: 38 blocks, last partial
            run_rmsnorm_backward(&mut rng, &[7, 45], 45, d, accumulate);
            run_rmsnorm_backward(&mut rng, &[300, 45], 45, d, accumulate);
            // per head (Gemma3 q/k norm): [tokens 3, heads 4, head_dim 16]
            run_rmsnorm_backward(&mut rng, &[3, 4, 16], 16, d, accumulate);
            // rows longer than the 256 threads of a workgroup
            run_rmsnorm_backward(&mut rng, &[5, 301], 301, d, accumulate);
        }
    }
    // Deterministic: the same inputs give bit-identical dx and dw.
    let a = run_rmsnorm_backward(&mut Rng(99), &[300, 45], 45, DType::BF16, true);
    let b = run_rmsnorm_backward(&mut Rng(99), &[300, 45], 45, DType::BF16, true);
    assert_eq!(a, b);
}

#[test]
fn rmsnorm_backward_rejects_bad_shapes_and_aliasing() {
    let x = up("x", &[2, 8], DType::F32, &[0.5; 16]);
    let w = up("w", &[8], DType::F32, &[0.0; 8]);
    let dy = up("dy", &[2, 8], DType::F32, &[1.0; 16]);
    let dw = up("dw", &[8], DType::F32, &[0.0; 8]);
    let dw_bad = up("dw_bad", &[7], DType::F32, &[0.0; 7]);
    let mut b = gpu().batch();
    let e = rmsnorm::backward(&mut b, &x, &w, &dy, &dy, &dw, 1e-6, true).unwrap_err();
    assert!(e.to_string().contains("distinct"), "{e}");
    let dx = up("dx", &[2, 8], DType::F32, &[0.0; 16]);
    let e = rmsnorm::backward(&mut b, &x, &w, &dy, &dx, &dw_bad, 1e-6, false).unwrap_err();
    assert!(e.to_string().contains("dw_bad"), "{e}");
}

#[test]
fn geglu_and_softcap_backward_match_cpu() {
    let mut rng = Rng(31);
    for &n in &[1usize, 257, 1037] {
        let gate = rng.vec(n, 6.0);
        let upv = rng.vec(n, 2.0);
        let dout = rng.vec(n, 1.0);
        let (gt, ut, ot) = (
            up("gate", &[n], DType::F32, &gate),
            up("up", &[n], DType::F32, &upv),
            up("dout", &[n], DType::F32, &dout),
        );
        let (dgt, dut) =
            (up("dgate", &[n], DType::F32, &rng.vec(n, 1.0)), up("dup", &[n], DType::F32, &rng.vec(n, 1.0)));
        let x = rng.vec(n, 100.0);
        let mut y = x.clone();
        ops::softcap(&mut y, 30.0);
        let dy = rng.vec(n, 1.0);
        let (yt, dyt) = (up("y", &[n], DType::F32, &y), up("dy", &[n], DType::F32, &dy));
        let mut b = gpu().batch();
        elementwise::geglu_backward(&mut b, &gt, &ut, &ot, &dgt, &dut).unwrap();
        elementwise::softcap_backward(&mut b, &yt, &dyt, 30.0).unwrap();
        b.submit().unwrap();
        let (want_dgate, want_dup) = grad::geglu_backward(&gate, &upv, &dout);
        assert_close(&format!("geglu dgate n {n}"), &dgt.to_f32(gpu()).unwrap(), &want_dgate, 1e-5);
        assert_close(&format!("geglu dup n {n}"), &dut.to_f32(gpu()).unwrap(), &want_dup, 1e-5);
        assert_close(
            &format!("softcap dx n {n}"),
            &dyt.to_f32(gpu()).unwrap(),
            &grad::softcap_backward(&y, &dy, 30.0),
            1e-5,
        );
    }
    let t = up("t", &[4], DType::F32, &[1.0; 4]);
    let mut b = gpu().batch();
    assert!(elementwise::softcap_backward(&mut b, &t, &t, 30.0).is_err());
    assert!(elementwise::geglu_backward(&mut b, &t, &t, &t, &t, &t).is_err());
}

/// xent forward + backward on `g` against the CPU reference; returns nothing, asserts.
fn run_xent(g: &Gpu, rng: &mut Rng, rows: usize, v: usize, softcap: Option<f32>) {
    let amp = if softcap.is_some() { 60.0 } else { 8.0 };
    let mut y = rng.vec(rows * v, amp);
    if let Some(c) = softcap {
        ops::softcap(&mut y, c);
    }
    let mut targets: Vec<u32> = (0..rows).map(|_| rng.below(v as u32)).collect();
    targets[0] = 0;
    targets[1] = v as u32 - 1;
    // Row 2's target is its argmax (log-prob close to 0 when capped logits spread wide).
    let row2 = &y[2 * v..3 * v];
    targets[2] = (0..v).max_by(|&a, &b| row2[a].total_cmp(&row2[b])).unwrap() as u32;
    let coef: Vec<f32> = [1.0f32, 0.0, -0.5, 2.0, 0.3].iter().copied().cycle().take(rows).collect();
    let lt = Tensor::from_f32(g, "logits", &[rows, v], DType::F32, &y).unwrap();
    let tt = Tensor::from_u32(g, "targets", &[rows], &targets).unwrap();
    let (lse_t, lp_t) = (
        Tensor::zeros(g, "lse", &[rows], DType::F32).unwrap(),
        Tensor::zeros(g, "logprob", &[rows], DType::F32).unwrap(),
    );
    let ct = Tensor::from_f32(g, "coef", &[rows], DType::F32, &coef).unwrap();
    let mut b = g.batch();
    xent::forward(&mut b, &lt, &tt, &lse_t, &lp_t).unwrap();
    xent::backward(&mut b, &lt, &tt, &lse_t, &ct, softcap).unwrap();
    b.submit().unwrap();
    let (lse, logprob) = grad::xent_forward(&y, &targets, v);
    let what = format!("xent R {rows} V {v} softcap {softcap:?} ({} parts)", lt.parts().len());
    assert_close(&format!("{what} lse"), &lse_t.to_f32(g).unwrap(), &lse, 1e-6);
    assert_close(&format!("{what} logprob"), &lp_t.to_f32(g).unwrap(), &logprob, 1e-5);
    let want = grad::xent_backward(&y, &targets, &lse, &coef, softcap);
    let got = lt.to_f32(g).unwrap();
    assert_close(&format!("{what} dlogits"), &got, &want, 1e-5);
    // coef 0 -> exactly zero gradient; each row's gradient sums to ~0 without softcap.
    assert!(got[v..2 * v].iter().all(|&x| x == 0.0), "{what}: row with coef 0 not zero");
    if softcap.is_none() {
        for r in 0..rows {
            let s: f32 = got[r * v..(r + 1) * v].iter().sum();
            assert!(s.abs() < 1e-4 * coef[r].abs().max(1.0), "{what}: row {r} sums to {s}");
        }
    }
}

#[test]
fn xent_forward_backward_match_cpu() {
    let mut rng = Rng(41);
    for v in [1000usize, 5003] {
        for softcap in [None, Some(30.0)] {
            run_xent(gpu(), &mut rng, 5, v, softcap);
        }
    }
    // Tiny vocabulary: fewer columns than threads.
    run_xent(gpu(), &mut rng, 5, 3, None);
}

/// Logits larger than one storage binding are split into row parts: one dispatch per part.
#[test]
fn xent_over_split_logits() {
    let g = Gpu::with_options(GpuOptions { max_binding_override: Some(8192), ..Default::default() })
        .unwrap_or_else(|e| panic!("cannot open a GPU: {e}"));
    let mut rng = Rng(51);
    run_xent(&g, &mut rng, 7, 1000, Some(30.0));
    let probe = Tensor::zeros(&g, "p", &[7, 1000], DType::F32).unwrap();
    assert!(probe.parts().len() > 1);
}

#[test]
fn xent_rejects_bad_shapes() {
    let l = up("logits", &[2, 10], DType::F32, &[0.0; 20]);
    let t = Tensor::from_u32(gpu(), "targets", &[3], &[0, 1, 2]).unwrap();
    let t2 = Tensor::from_u32(gpu(), "targets2", &[2], &[0, 1]).unwrap();
    let (a, c) = (up("lse", &[2], DType::F32, &[0.0; 2]), up("logprob", &[2], DType::F32, &[0.0; 2]));
    let mut b = gpu().batch();
    let e = xent::forward(&mut b, &l, &t, &a, &c).unwrap_err();
    assert!(e.to_string().contains("targets"), "{e}");
    assert!(xent::forward(&mut b, &l, &t2, &a, &a).is_err());
    assert!(xent::backward(&mut b, &l, &t2, &a, &c, Some(0.0)).is_err());
    assert!(xent::backward(&mut b, &l, &t2, &a, &c, Some(f32::NAN)).is_err());
}

/// Real sizes: gemma-2-2b's 4096 tokens x 2304 (64 row blocks of 64 in the dw pass) and a
/// Gemma3 vocabulary of 262144 columns; times printed (--nocapture), correctness asserted.
#[test]
fn real_sizes_rmsnorm_4096x2304_and_xent_vocab_262144() {
    let g = gpu();
    let mut rng = Rng(61);
    let (rows, dim) = (4096, 2304);
    let x = rng.vec(rows * dim, 2.0);
    let w = rng.vec(dim, 0.5);
    let dy = rng.vec(rows * dim, 1.0);
    let (xt, wt, dyt) = (
        up("x", &[rows, dim], DType::F32, &x),
        up("w", &[dim], DType::BF16, &w),
        up("dy", &[rows, dim], DType::F32, &dy),
    );
    let dxt = Tensor::zeros(g, "dx", &[rows, dim], DType::F32).unwrap();
    let dwt = Tensor::zeros(g, "dw", &[dim], DType::F32).unwrap();
    let t0 = std::time::Instant::now();
    let mut b = g.batch();
    rmsnorm::backward(&mut b, &xt, &wt, &dyt, &dxt, &dwt, 1e-6, false).unwrap();
    b.submit().unwrap();
    let got_dx = dxt.to_f32(g).unwrap();
    let dt = t0.elapsed();
    let wr: Vec<f32> = w.iter().map(|&v| DType::BF16.round(v)).collect();
    let (want_dx, want_dw) = grad::rms_norm_backward(&x, &wr, &dy, dim, 1e-6);
    assert_close("rmsnorm backward 4096x2304 dx", &got_dx, &want_dx, 1e-5);
    assert_close("rmsnorm backward 4096x2304 dw", &dwt.to_f32(g).unwrap(), &want_dw, 1e-4);
    eprintln!("rmsnorm backward {rows}x{dim}: {:.1} ms (submit + readback)", dt.as_secs_f64() * 1e3);

    let t0 = std::time::Instant::now();
    run_xent(g, &mut rng, 5, 262144, Some(30.0));
    eprintln!(
        "xent forward+backward 5x262144 (with uploads, readbacks, CPU reference): {:.1} ms",
        t0.elapsed().as_secs_f64() * 1e3
    );
}
