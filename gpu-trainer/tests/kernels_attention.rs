//! The training attention over packed sequences: the CPU f32 reference (cpu::grad_attention)
//! against the single-sequence CPU attention (forward) and an f64 finite-difference gradient
//! (backward), then the GPU kernels (attention::packed_forward / packed_backward) against that
//! reference on packed batches of odd lengths, windows smaller than the sequences, small and
//! large softcaps, GQA, head_dim up to 256, sequences of more than a thousand tokens.

use std::sync::OnceLock;

use gpu_trainer::cpu::grad_attention::{self, AttnGrads};
use gpu_trainer::cpu::ops::{self, AttnParams};
use gpu_trainer::kernels::attention;
use gpu_trainer::{DType, Gpu, Tensor};

fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| match Gpu::new() {
        Ok(g) => g,
        Err(e) => panic!("cannot open a GPU for the kernel tests: {e}"),
    })
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
}

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

/// Positions of sequences of these lengths packed one after another.
fn packed_pos(lens: &[usize]) -> Vec<u32> {
    lens.iter().flat_map(|&l| 0..l as u32).collect()
}

/// A packed batch: q [n, heads*hd], k/v [n, kv_heads*hd], pos, and a gradient dout like q.
struct Packed {
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    pos: Vec<u32>,
    dout: Vec<f32>,
}

fn random_batch(rng: &mut Rng, lens: &[usize], p: &AttnParams, amp: f32) -> Packed {
    let pos = packed_pos(lens);
    let n = pos.len();
    let (qn, kvn) = (n * p.heads * p.head_dim, n * p.kv_heads * p.head_dim);
    Packed { q: rng.vec(qn, amp), k: rng.vec(kvn, amp), v: rng.vec(kvn, 1.0), pos, dout: rng.vec(qn, 1.0) }
}

/// f64 forward written independently of the reference: (out, lse) of every (row, head), with
/// the sequence of row i found by walking back to its position 0 and the window on positions.
fn forward_f64(q: &[f64], k: &[f64], v: &[f64], pos: &[u32], p: &AttnParams) -> (Vec<f64>, Vec<f64>) {
    let (h, kvh, d) = (p.heads, p.kv_heads, p.head_dim);
    let n = pos.len();
    let mut out = vec![0.0; n * h * d];
    let mut lse = vec![0.0; n * h];
    for i in 0..n {
        let start = i - pos[i] as usize;
        for qh in 0..h {
            let kh = qh / (h / kvh);
            let mut s = Vec::new();
            for j in start..=i {
                if let Some(w) = p.window
                    && pos[j] as usize + w <= pos[i] as usize
                {
                    continue;
                }
                let dot: f64 = (0..d).map(|t| q[(i * h + qh) * d + t] * k[(j * kvh + kh) * d + t]).sum();
                let mut x = dot * p.scale as f64;
                if let Some(c) = p.softcap {
                    x = c as f64 * (x / c as f64).tanh();
                }
                s.push((j, x));
            }
            let m = s.iter().fold(f64::NEG_INFINITY, |a, &(_, x)| a.max(x));
            let z: f64 = s.iter().map(|&(_, x)| (x - m).exp()).sum();
            lse[i * h + qh] = m + z.ln();
            for &(j, x) in &s {
                for t in 0..d {
                    out[(i * h + qh) * d + t] += (x - m).exp() / z * v[(j * kvh + kh) * d + t];
                }
            }
        }
    }
    (out, lse)
}

fn to_f64(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

fn to_f32(x: &[f64]) -> Vec<f32> {
    x.iter().map(|&v| v as f32).collect()
}

/// Central differences of L = sum(G * out) with respect to every element of `which` (0 = q,
/// 1 = k, 2 = v), in f64.
fn finite_diff(b: &Packed, p: &AttnParams, which: usize) -> Vec<f32> {
    let mut x = [to_f64(&b.q), to_f64(&b.k), to_f64(&b.v)];
    let g = to_f64(&b.dout);
    let loss = |x: &[Vec<f64>; 3]| -> f64 {
        let (out, _) = forward_f64(&x[0], &x[1], &x[2], &b.pos, p);
        out.iter().zip(&g).map(|(o, g)| o * g).sum()
    };
    let eps = 1e-5;
    let mut grad = vec![0.0; x[which].len()];
    for e in 0..grad.len() {
        let orig = x[which][e];
        x[which][e] = orig + eps;
        let up = loss(&x);
        x[which][e] = orig - eps;
        let down = loss(&x);
        x[which][e] = orig;
        grad[e] = (up - down) / (2.0 * eps);
    }
    to_f32(&grad)
}

#[test]
fn cpu_packed_forward_equals_attention_sequence_by_sequence() {
    let mut rng = Rng(11);
    let lens = [1usize, 7, 13];
    for (window, softcap) in [(None, None), (Some(4), Some(50.0)), (Some(1), Some(5.0)), (Some(30), None)] {
        let p = AttnParams { heads: 4, kv_heads: 2, head_dim: 16, scale: 0.3, softcap, window };
        let b = random_batch(&mut rng, &lens, &p, 2.0);
        let (out, _) = grad_attention::packed_forward(&b.q, &b.k, &b.v, &b.pos, &p);
        let (qrow, kvrow) = (p.heads * p.head_dim, p.kv_heads * p.head_dim);
        let mut start = 0;
        for &len in &lens {
            let rows = start..start + len;
            let seq_pos: Vec<u32> = (0..len as u32).collect();
            let want = ops::attention(
                &b.q[rows.start * qrow..rows.end * qrow],
                &b.k[rows.start * kvrow..rows.end * kvrow],
                &b.v[rows.start * kvrow..rows.end * kvrow],
                &seq_pos,
                &seq_pos,
                &p,
            );
            let got = &out[rows.start * qrow..rows.end * qrow];
            assert_close(&format!("sequence at {start} len {len} {p:?}"), got, &want, 1e-6);
            start += len;
        }
    }
}

#[test]
fn cpu_packed_backward_equals_finite_differences() {
    let mut rng = Rng(12);
    // query_pre_attn_scalar 10 != head_dim 6; GQA group 2; a small cap that bends the scores.
    let scale = 10f32.powf(-0.5);
    for (window, softcap) in [(None, None), (Some(2), Some(2.0)), (None, Some(2.0)), (Some(3), None)] {
        let p = AttnParams { heads: 4, kv_heads: 2, head_dim: 6, scale, softcap, window };
        let b = random_batch(&mut rng, &[3, 1, 5], &p, 2.0);
        let (out, lse) = grad_attention::packed_forward(&b.q, &b.k, &b.v, &b.pos, &p);
        let (out64, lse64) = forward_f64(&to_f64(&b.q), &to_f64(&b.k), &to_f64(&b.v), &b.pos, &p);
        assert_close(&format!("out {p:?}"), &out, &to_f32(&out64), 1e-5);
        assert_close(&format!("lse {p:?}"), &lse, &to_f32(&lse64), 1e-5);
        let g = grad_attention::packed_backward(&b.q, &b.k, &b.v, &b.pos, &out, &lse, &b.dout, &p);
        assert_close(&format!("dq {p:?}"), &g.dq, &finite_diff(&b, &p, 0), 1e-4);
        assert_close(&format!("dk {p:?}"), &g.dk, &finite_diff(&b, &p, 1), 1e-4);
        assert_close(&format!("dv {p:?}"), &g.dv, &finite_diff(&b, &p, 2), 1e-4);
    }
}

fn up(name: &str, shape: &[usize], data: &[f32]) -> Tensor {
    Tensor::from_f32(gpu(), name, shape, DType::F32, data).unwrap()
}

/// The GPU forward and backward outputs of one batch.
struct GpuRun {
    out: Vec<f32>,
    lse: Vec<f32>,
    grads: AttnGrads,
}

/// packed_forward then packed_backward (in one submit) on the GPU; the gradient, delta and
/// output buffers start with junk so that every element must be written.
fn run_gpu(rng: &mut Rng, b: &Packed, p: &AttnParams) -> GpuRun {
    let g = gpu();
    let n = b.pos.len();
    let (h, kvh, hd) = (p.heads, p.kv_heads, p.head_dim);
    let q = up("q", &[n, h * hd], &b.q);
    let k = up("k", &[n, kvh * hd], &b.k);
    let v = up("v", &[n, kvh * hd], &b.v);
    let pos = Tensor::from_u32(g, "pos", &[n], &b.pos).unwrap();
    let dout = up("dout", &[n, h * hd], &b.dout);
    let out = up("out", &[n, h * hd], &rng.vec(n * h * hd, 9.0));
    let lse = up("lse", &[n, h], &rng.vec(n * h, 9.0));
    let delta = up("delta", &[n, h], &rng.vec(n * h, 9.0));
    let dq = up("dq", &[n, h * hd], &rng.vec(n * h * hd, 9.0));
    let dk = up("dk", &[n, kvh * hd], &rng.vec(n * kvh * hd, 9.0));
    let dv = up("dv", &[n, kvh * hd], &rng.vec(n * kvh * hd, 9.0));
    let mut batch = g.batch();
    attention::packed_forward(&mut batch, &q, &k, &v, &pos, &out, &lse, p).unwrap();
    attention::packed_backward(&mut batch, &q, &k, &v, &pos, &out, &lse, &dout, &delta, &dq, &dk, &dv, p)
        .unwrap();
    batch.submit().unwrap();
    GpuRun {
        out: out.to_f32(g).unwrap(),
        lse: lse.to_f32(g).unwrap(),
        grads: AttnGrads { dq: dq.to_f32(g).unwrap(), dk: dk.to_f32(g).unwrap(), dv: dv.to_f32(g).unwrap() },
    }
}

/// The GPU against the CPU reference on one random packed batch; returns the GPU run.
fn check_gpu(rng: &mut Rng, lens: &[usize], p: &AttnParams, amp: f32) -> GpuRun {
    let b = random_batch(rng, lens, p, amp);
    let got = run_gpu(rng, &b, p);
    let (out, lse) = grad_attention::packed_forward(&b.q, &b.k, &b.v, &b.pos, p);
    let want = grad_attention::packed_backward(&b.q, &b.k, &b.v, &b.pos, &out, &lse, &b.dout, p);
    let what = format!("lens {lens:?} {p:?}");
    let tol = 1e-4;
    assert_close(&format!("out {what}"), &got.out, &out, tol);
    assert_close(&format!("lse {what}"), &got.lse, &lse, tol);
    assert_close(&format!("dq {what}"), &got.grads.dq, &want.dq, tol);
    assert_close(&format!("dk {what}"), &got.grads.dk, &want.dk, tol);
    assert_close(&format!("dv {what}"), &got.grads.dv, &want.dv, tol);
    got
}

#[test]
fn gpu_packed_attention_matches_cpu() {
    let mut rng = Rng(21);
    // Tiles are 16 rows: the first tile holds all three sequences and part of the third.
    for hd in [16usize, 40] {
        // query_pre_attn_scalar hd / 2: scores of a few units, so the cap 5 bends them.
        let scale = (hd as f32 / 2.0).powf(-0.5);
        for window in [Some(4), None] {
            for softcap in [Some(50.0), Some(5.0), None] {
                let p = AttnParams { heads: 4, kv_heads: 2, head_dim: hd, scale, softcap, window };
                check_gpu(&mut rng, &[1, 7, 13], &p, 3.0);
            }
        }
    }
    // Several tiles per sequence, a sequence starting mid-tile, a window of 20 inside a tile
    // boundary, MQA, head_dim 100 (two 64-wide chunks, the second partial).
    for window in [Some(20), None] {
        let p = AttnParams { heads: 2, kv_heads: 1, head_dim: 100, scale: 0.12, softcap: Some(5.0), window };
        check_gpu(&mut rng, &[37, 1, 50], &p, 3.0);
    }
    // Gemma head_dim 256, window 3, no GQA.
    let p = AttnParams {
        heads: 2,
        kv_heads: 2,
        head_dim: 256,
        scale: 256f32.powf(-0.5),
        softcap: Some(50.0),
        window: Some(3),
    };
    check_gpu(&mut rng, &[5, 19], &p, 3.0);
}

#[test]
fn gpu_packed_attention_long_sequences() {
    let mut rng = Rng(22);
    for window in [None, Some(100)] {
        let p = AttnParams { heads: 2, kv_heads: 1, head_dim: 16, scale: 0.25, softcap: Some(50.0), window };
        check_gpu(&mut rng, &[1200, 3, 500], &p, 2.0);
    }
}

#[test]
fn gpu_packed_backward_is_deterministic() {
    let mut rng = Rng(23);
    let p = AttnParams { heads: 4, kv_heads: 1, head_dim: 24, scale: 0.2, softcap: Some(5.0), window: None };
    let b = random_batch(&mut rng, &[40, 9], &p, 3.0);
    let first = run_gpu(&mut rng, &b, &p);
    let second = run_gpu(&mut rng, &b, &p);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&first.grads.dq), bits(&second.grads.dq));
    assert_eq!(bits(&first.grads.dk), bits(&second.grads.dk));
    assert_eq!(bits(&first.grads.dv), bits(&second.grads.dv));
}

/// A row whose position breaks the packing rule poisons its output with NaN (never silently
/// wrong numbers); the rows of well-formed sequences around it are unaffected.
#[test]
fn gpu_broken_positions_give_nan() {
    let mut rng = Rng(24);
    let p = AttnParams { heads: 2, kv_heads: 1, head_dim: 8, scale: 0.3, softcap: None, window: None };
    let mut b = random_batch(&mut rng, &[5, 3], &p, 1.0);
    b.pos = vec![0, 1, 2, 7, 8, 0, 1, 2];
    let got = run_gpu(&mut rng, &b, &p);
    let row = p.heads * p.head_dim;
    assert!(got.out[3 * row..4 * row].iter().all(|x| x.is_nan()), "row 3 (pos 7 after 2) is NaN");
    assert!(got.lse[3 * p.heads..4 * p.heads].iter().all(|x| x.is_nan()), "lse of row 3 is NaN");
    let (good_pos, good_rows) = ([0u32, 1, 2], 0..3);
    let (want, _) = grad_attention::packed_forward(
        &b.q[..3 * row],
        &b.k[..3 * p.kv_heads * p.head_dim],
        &b.v[..3 * p.kv_heads * p.head_dim],
        &good_pos,
        &p,
    );
    assert_close("rows before", &got.out[good_rows.start * row..good_rows.end * row], &want, 1e-5);
    let kvrow = p.kv_heads * p.head_dim;
    let (want, _) =
        grad_attention::packed_forward(&b.q[5 * row..], &b.k[5 * kvrow..], &b.v[5 * kvrow..], &good_pos, &p);
    assert_close("sequence after", &got.out[5 * row..], &want, 1e-5);
}

#[test]
fn gpu_bad_shapes_are_errors() {
    let g = gpu();
    let (n, h, kvh, hd) = (6usize, 4usize, 2usize, 8usize);
    let ok = AttnParams {
        heads: h,
        kv_heads: kvh,
        head_dim: hd,
        scale: 0.3,
        softcap: Some(50.0),
        window: Some(2),
    };
    let z = |name: &str, len: usize| Tensor::zeros(g, name, &[len], DType::F32).unwrap();
    let (q, k, v, out, lse) = (
        z("q", n * h * hd),
        z("k", n * kvh * hd),
        z("v", n * kvh * hd),
        z("out", n * h * hd),
        z("lse", n * h),
    );
    let (dout, delta, dq, dk, dv) = (
        z("dout", n * h * hd),
        z("delta", n * h),
        z("dq", n * h * hd),
        z("dk", n * kvh * hd),
        z("dv", n * kvh * hd),
    );
    let pos = Tensor::from_u32(g, "pos", &[n], &packed_pos(&[4, 2])).unwrap();
    let pos_f32 = z("pos", n);
    let fwd = |p: &AttnParams, q: &Tensor, pos: &Tensor, out: &Tensor, lse: &Tensor| {
        let mut b = g.batch();
        attention::packed_forward(&mut b, q, &k, &v, pos, out, lse, p)
    };
    let bwd = |p: &AttnParams, dk: &Tensor, delta: &Tensor| {
        let mut b = g.batch();
        attention::packed_backward(&mut b, &q, &k, &v, &pos, &out, &lse, &dout, delta, &dq, dk, &dv, p)
    };
    assert!(fwd(&ok, &q, &pos, &out, &lse).is_ok());
    assert!(bwd(&ok, &dk, &delta).is_ok());
    let bad_params = [
        AttnParams { kv_heads: 3, ..ok.clone() },
        AttnParams { kv_heads: 0, ..ok.clone() },
        AttnParams { head_dim: attention::MAX_HEAD_DIM + 1, ..ok.clone() },
        AttnParams { window: Some(0), ..ok.clone() },
        AttnParams { softcap: Some(0.0), ..ok.clone() },
        AttnParams { scale: f32::NAN, ..ok.clone() },
    ];
    for p in &bad_params {
        assert!(fwd(p, &q, &pos, &out, &lse).is_err(), "forward accepted {p:?}");
        assert!(bwd(p, &dk, &delta).is_err(), "backward accepted {p:?}");
    }
    let e = fwd(&ok, &q, &pos, &z("out", n * h * hd - 1), &lse).unwrap_err();
    assert!(e.to_string().contains("out"), "{e}");
    assert!(fwd(&ok, &q, &pos, &out, &z("lse", n)).is_err());
    assert!(fwd(&ok, &z("q", (n + 1) * h * hd), &pos, &out, &lse).is_err());
    assert!(fwd(&ok, &q, &pos_f32, &out, &lse).is_err());
    let f16_q = Tensor::zeros(g, "q", &[n * h * hd], DType::F16).unwrap();
    assert!(fwd(&ok, &f16_q, &pos, &out, &lse).is_err());
    assert!(bwd(&ok, &z("dk", n * h * hd), &delta).is_err());
    assert!(bwd(&ok, &dk, &z("delta", n * h + 1)).is_err());
}
