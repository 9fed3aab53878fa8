//! Every forward kernel against the CPU f32 reference (cpu::ops), on small
//! random shapes (including ones that are not multiples of the workgroup or
//! tile sizes), f32 / f16 / bf16 weights. Runs on any adapter; CI uses the
//! software Vulkan driver (lavapipe). No adapter = FAIL with the install hint.

use std::sync::OnceLock;
use std::time::Instant;

use gpu_trainer::cpu::ops::{self, AttnParams};
use gpu_trainer::kernels::{elementwise, embedding, kv_cache, matmul, rmsnorm, rope};
use gpu_trainer::{DType, Gpu, GpuOptions, Tensor};

fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| match Gpu::new() {
        Ok(g) => {
            eprintln!("adapter: {:?}", g.adapter_info());
            g
        }
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
    fn below(&mut self, n: u32) -> u32 {
        ((self.next() + 1.0) * 0.5 * n as f32) as u32 % n
    }
}

const DTYPES: [DType; 3] = [DType::F32, DType::F16, DType::BF16];

fn round(d: DType, v: &[f32]) -> Vec<f32> {
    v.iter().map(|&x| d.round(x)).collect()
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

fn up(name: &str, shape: &[usize], dtype: DType, data: &[f32]) -> Tensor {
    Tensor::from_f32(gpu(), name, shape, dtype, data).unwrap()
}

fn zeros(name: &str, shape: &[usize]) -> Tensor {
    Tensor::zeros(gpu(), name, shape, DType::F32).unwrap()
}

fn run_matmul(g: &Gpu, m: usize, k: usize, n: usize, d: DType, rng: &mut Rng) {
    run_matmul_path(g, m, k, n, d, rng, matmul::Path::Auto);
}

fn run_matmul_path(g: &Gpu, m: usize, k: usize, n: usize, d: DType, rng: &mut Rng, path: matmul::Path) {
    let x = rng.vec(m * k, 1.0);
    let w = rng.vec(n * k, 1.0);
    let xt = Tensor::from_f32(g, "x", &[m, k], DType::F32, &x).unwrap();
    let wt = Tensor::from_f32(g, "w", &[n, k], d, &w).unwrap();
    let yt = Tensor::zeros(g, "y", &[m, n], DType::F32).unwrap();
    let mut b = g.batch();
    matmul::forward_with(&mut b, &xt, &wt, &yt, path).unwrap();
    b.submit().unwrap();
    let want = ops::matmul_t(&x, &round(d, &w), m, k, n);
    assert_close(
        &format!("matmul {m}x{k}x{n} {d:?} {path:?} ({} parts)", wt.parts().len()),
        &yt.to_f32(g).unwrap(),
        &want,
        1e-5,
    );
}

#[test]
fn matmul_matches_cpu_all_dtypes_and_odd_shapes() {
    let mut rng = Rng(0x1234_5678);
    for &(m, k, n) in &[
        (1, 7, 5),
        (1, 300, 257),
        (3, 33, 70),
        (4, 64, 64),
        (5, 17, 130),
        (64, 64, 64),
        (67, 129, 71),
        (130, 40, 3),
    ] {
        for d in DTYPES {
            run_matmul(gpu(), m, k, n, d, &mut rng);
        }
    }
    // Every kernel path on decode-sized M, whatever the adapter picks.
    use matmul::Path;
    // (1, 66, 9) / (1, 65, 33): the M = 1 CPU kernel's word tail (f16/bf16) and element tail (f32),
    // rows past N in its last group of 4.
    for &(m, k, n) in &[(1, 7, 5), (1, 66, 9), (1, 65, 33), (2, 300, 257), (4, 65, 33)] {
        for path in [Path::Tiled, Path::Matvec, Path::MatvecRows] {
            for d in DTYPES {
                run_matmul_path(gpu(), m, k, n, d, &mut rng, path);
            }
        }
    }
}

#[test]
fn rmsnorm_matches_cpu_per_token_and_per_head() {
    let mut rng = Rng(42);
    for &(rows, dim) in &[(1, 5), (3, 256), (7, 300), (2, 1000), (12, 64)] {
        for d in DTYPES {
            let x = rng.vec(rows * dim, 3.0);
            let w = rng.vec(dim, 0.5);
            let xt = up("x", &[rows, dim], DType::F32, &x);
            let wt = up("w", &[dim], d, &w);
            let yt = zeros("y", &[rows, dim]);
            let resid = rng.vec(rows * dim, 1.0);
            let rt = up("resid", &[rows, dim], DType::F32, &resid);
            let mut b = gpu().batch();
            rmsnorm::forward(&mut b, &xt, &wt, &yt, 1e-6).unwrap();
            rmsnorm::residual_forward(&mut b, &xt, &wt, &rt, 1e-6).unwrap();
            b.submit().unwrap();
            let want = ops::rms_norm(&x, &round(d, &w), dim, 1e-6);
            assert_close(&format!("rmsnorm {rows}x{dim} {d:?}"), &yt.to_f32(gpu()).unwrap(), &want, 1e-5);
            assert_close("residual rmsnorm", &rt.to_f32(gpu()).unwrap(), &ops::add(&resid, &want), 1e-5);
        }
    }
    // Per head (Gemma3 q_norm): x [tokens, heads, head_dim], w [head_dim].
    let (t, h, hd) = (5, 3, 32);
    let x = rng.vec(t * h * hd, 2.0);
    let w = rng.vec(hd, 0.3);
    let (xt, wt, yt) =
        (up("q", &[t, h, hd], DType::F32, &x), up("q_norm", &[hd], DType::F32, &w), zeros("y", &[t, h, hd]));
    let mut b = gpu().batch();
    rmsnorm::forward(&mut b, &xt, &wt, &yt, 1e-6).unwrap();
    b.submit().unwrap();
    assert_close("per-head rmsnorm", &yt.to_f32(gpu()).unwrap(), &ops::rms_norm(&x, &w, hd, 1e-6), 1e-5);
}

#[test]
fn embedding_matches_cpu() {
    let mut rng = Rng(7);
    for &(vocab, hidden, tokens) in &[(50, 8, 1), (301, 33, 17), (1000, 256, 9)] {
        for d in DTYPES {
            let table = rng.vec(vocab * hidden, 1.0);
            let ids: Vec<u32> = (0..tokens).map(|_| rng.below(vocab as u32)).collect();
            let scale = (hidden as f32).sqrt();
            let tt = up("embed", &[vocab, hidden], d, &table);
            let it = Tensor::from_u32(gpu(), "ids", &[tokens], &ids).unwrap();
            let yt = zeros("x", &[tokens, hidden]);
            let mut b = gpu().batch();
            embedding::forward(&mut b, &it, &tt, &yt, scale).unwrap();
            b.submit().unwrap();
            let want = ops::embedding(&ids, &round(d, &table), hidden, scale);
            assert_close(
                &format!("embedding {vocab}x{hidden} {d:?}"),
                &yt.to_f32(gpu()).unwrap(),
                &want,
                1e-6,
            );
        }
    }
}

#[test]
fn rope_matches_cpu_including_large_positions() {
    let mut rng = Rng(99);
    for &(tokens, heads, hd, theta) in
        &[(1, 1, 8, 10_000.0f32), (13, 3, 64, 10_000.0), (6, 2, 256, 1_000_000.0)]
    {
        let mut x = rng.vec(tokens * heads * hd, 1.0);
        let pos: Vec<u32> =
            (0..tokens).map(|i| if i % 2 == 0 { rng.below(9000) } else { i as u32 }).collect();
        let xt = up("q", &[tokens, heads, hd], DType::F32, &x);
        let table = rope::RopeTable::new(gpu(), &pos, hd, theta).unwrap();
        let mut b = gpu().batch();
        rope::forward(&mut b, &xt, &table, heads).unwrap();
        b.submit().unwrap();
        ops::rope(&mut x, &pos, heads, hd, theta);
        assert_close(&format!("rope {tokens}x{heads}x{hd}"), &xt.to_f32(gpu()).unwrap(), &x, 1e-5);
    }
}

/// Single-sequence attention through the inference kernel (`kv_cache::attention`, sequence 0 of
/// a cache of `kv_rows` rows): queries at `q_pos` against keys 0..=q_pos, the rows past `kv_len`
/// hold values that must not be read. The packed training attention has its own tests
/// (kernels_attention.rs).
fn run_attention(rng: &mut Rng, kv_rows: usize, kv_len: usize, q_pos: Vec<u32>, p: AttnParams) {
    let (h, kvh, hd) = (p.heads, p.kv_heads, p.head_dim);
    let q_len = q_pos.len();
    let q = rng.vec(q_len * h * hd, 2.0);
    let k = rng.vec(kv_rows * kvh * hd, 2.0);
    let v = rng.vec(kv_rows * kvh * hd, 1.0);
    let k_pos: Vec<u32> = (0..kv_rows as u32).collect();
    let g = gpu();
    let qt = up("q", &[q_len, h, hd], DType::F32, &q);
    let kt = up("k cache", &[kv_rows, kvh, hd], DType::F32, &k);
    let vt = up("v cache", &[kv_rows, kvh, hd], DType::F32, &v);
    let tok: Vec<u32> = q_pos.iter().flat_map(|&p| [0, p]).collect();
    let tt = Tensor::from_u32(g, "tok", &[q_len, 2], &tok).unwrap();
    let ot = zeros("o", &[q_len, h, hd]);
    let mut b = g.batch();
    kv_cache::attention(&mut b, &qt, &tt, &kt, &vt, kv_rows, &ot, &p).unwrap();
    b.submit().unwrap();
    let n = kv_len * kvh * hd;
    let want = ops::attention(&q, &k[..n], &v[..n], &q_pos, &k_pos[..kv_len], &p);
    assert_close(&format!("attention q{q_len} kv{kv_len} {p:?}"), &ot.to_f32(g).unwrap(), &want, 2e-5);
}

#[test]
fn attention_prefill_window_gqa_softcap() {
    let mut rng = Rng(5);
    let scale = 256f32.powf(-0.5);
    // Gemma2-like local layer: window < seq, GQA 2, softcap 50.
    let p = AttnParams { heads: 4, kv_heads: 2, head_dim: 64, scale, softcap: Some(50.0), window: Some(8) };
    run_attention(&mut rng, 37, 37, (0..37).collect(), p);
    // Global layer, GQA 4, head_dim 256, more than one 64-key block.
    let p = AttnParams { heads: 8, kv_heads: 2, head_dim: 256, scale, softcap: Some(50.0), window: None };
    run_attention(&mut rng, 70, 70, (0..70).collect(), p);
    // Gemma3-like: no softcap, MQA, window 5, odd head_dim.
    let p = AttnParams { heads: 3, kv_heads: 1, head_dim: 40, scale: 0.3, softcap: None, window: Some(5) };
    run_attention(&mut rng, 20, 20, (0..20).collect(), p);
}

#[test]
fn attention_decode_against_kv_cache() {
    let mut rng = Rng(6);
    let scale = 144f32.powf(-0.5);
    // One new token at position 40; the cache has 64 rows, 41 valid.
    let p = AttnParams { heads: 4, kv_heads: 2, head_dim: 128, scale, softcap: Some(50.0), window: Some(16) };
    run_attention(&mut rng, 64, 41, vec![40], p.clone());
    let p = AttnParams { window: None, ..p };
    run_attention(&mut rng, 64, 41, vec![40], p.clone());
    // Chunked prefill: queries 30..40 against keys 0..40.
    run_attention(&mut rng, 64, 40, (30..40).collect(), AttnParams { window: Some(7), ..p });
}

/// Decode steps as a model runs them: store this step's k/v in the cache and attend, in the
/// same batch.
#[test]
fn decode_steps_store_in_kv_cache_in_one_batch() {
    let g = gpu();
    let mut rng = Rng(8);
    let (max_len, h, kvh, hd) = (16usize, 4usize, 2usize, 32usize);
    let p = AttnParams {
        heads: h,
        kv_heads: kvh,
        head_dim: hd,
        scale: 0.2,
        softcap: Some(50.0),
        window: Some(4),
    };
    let kc = zeros("k cache", &[max_len, kvh, hd]);
    let vc = zeros("v cache", &[max_len, kvh, hd]);
    let (mut ks, mut vs) = (Vec::new(), Vec::new());
    for step in 0..7usize {
        let (q, k, v) = (rng.vec(h * hd, 1.5), rng.vec(kvh * hd, 1.5), rng.vec(kvh * hd, 1.0));
        ks.extend_from_slice(&k);
        vs.extend_from_slice(&v);
        let (qt, kt, vt) = (
            up("q", &[1, h, hd], DType::F32, &q),
            up("k", &[1, kvh, hd], DType::F32, &k),
            up("v", &[1, kvh, hd], DType::F32, &v),
        );
        let tt = Tensor::from_u32(g, "tok", &[1, 2], &[0, step as u32]).unwrap();
        let ot = zeros("o", &[1, h, hd]);
        let mut b = g.batch();
        kv_cache::store(&mut b, &kt, &tt, &kc, max_len).unwrap();
        kv_cache::store(&mut b, &vt, &tt, &vc, max_len).unwrap();
        kv_cache::attention(&mut b, &qt, &tt, &kc, &vc, max_len, &ot, &p).unwrap();
        b.submit().unwrap();
        let kpos: Vec<u32> = (0..=step as u32).collect();
        let want = ops::attention(&q, &ks, &vs, &[step as u32], &kpos, &p);
        assert_close(&format!("decode step {step}"), &ot.to_f32(g).unwrap(), &want, 2e-5);
    }
    let mut b = g.batch();
    let tt = Tensor::from_u32(g, "tok", &[1, 2], &[0, 0]).unwrap();
    assert!(kv_cache::store(&mut b, &zeros("k", &[1, kvh, hd + 1]), &tt, &kc, max_len).is_err());
}

/// More than 65535 workgroups: the grid is folded into 2D.
#[test]
fn large_grids_are_folded() {
    let g = gpu();
    let rows = g.limits().max_compute_workgroups_per_dimension as usize + 100;
    let mut rng = Rng(9);
    let x = rng.vec(rows * 2, 2.0);
    let w = [0.1f32, -0.2];
    let (xt, wt, yt) =
        (up("x", &[rows, 2], DType::F32, &x), up("w", &[2], DType::F32, &w), zeros("y", &[rows, 2]));
    let mut b = g.batch();
    rmsnorm::forward(&mut b, &xt, &wt, &yt, 1e-6).unwrap();
    b.submit().unwrap();
    assert_close("rmsnorm 2D grid", &yt.to_f32(g).unwrap(), &ops::rms_norm(&x, &w, 2, 1e-6), 1e-5);
}

#[test]
fn elementwise_match_cpu() {
    let mut rng = Rng(11);
    for &n in &[1usize, 255, 257, 5000] {
        let a = rng.vec(n, 6.0);
        let c = rng.vec(n, 2.0);
        let (at, ct, ot) =
            (up("gate", &[n], DType::F32, &a), up("up", &[n], DType::F32, &c), zeros("out", &[n]));
        let st = up("logits", &[n], DType::F32, &rng.vec(n, 100.0));
        let mut s_want = st.to_f32(gpu()).unwrap();
        let mut b = gpu().batch();
        elementwise::geglu_forward(&mut b, &at, &ct, &ot).unwrap();
        elementwise::softcap_forward(&mut b, &st, 30.0).unwrap();
        b.submit().unwrap();
        assert_close("geglu", &ot.to_f32(gpu()).unwrap(), &ops::geglu(&a, &c), 1e-5);
        ops::softcap(&mut s_want, 30.0);
        assert_close("softcap", &st.to_f32(gpu()).unwrap(), &s_want, 1e-5);
        let mut b = gpu().batch();
        elementwise::add_forward(&mut b, &at, &ct, &ot).unwrap();
        b.submit().unwrap();
        assert_close("add", &ot.to_f32(gpu()).unwrap(), &ops::add(&a, &c), 1e-6);
    }
    // Huge inputs stay finite (tanh never overflows to NaN).
    let big = up("big", &[4], DType::F32, &[1e4, -1e4, 80.0, -80.0]);
    let (o2, c2) = (zeros("o", &[4]), up("one", &[4], DType::F32, &[1.0; 4]));
    let mut b = gpu().batch();
    elementwise::geglu_forward(&mut b, &big, &c2, &o2).unwrap();
    b.submit().unwrap();
    assert_close(
        "geglu big",
        &o2.to_f32(gpu()).unwrap(),
        &ops::geglu(&[1e4, -1e4, 80.0, -80.0], &[1.0; 4]),
        1e-6,
    );
}

/// A mini Gemma2 MLP block recorded in ONE batch / one submit.
#[test]
fn batch_of_many_kernels_one_submit() {
    let mut rng = Rng(21);
    let (t, hid, ffn) = (6, 48, 80);
    let x = rng.vec(t * hid, 1.0);
    let (wn, wg, wu, wd, wp) = (
        rng.vec(hid, 0.2),
        rng.vec(ffn * hid, 0.3),
        rng.vec(ffn * hid, 0.3),
        rng.vec(hid * ffn, 0.3),
        rng.vec(hid, 0.2),
    );
    let xt = up("x", &[t, hid], DType::F32, &x);
    let (wnt, wgt, wut, wdt, wpt) = (
        up("pre_ffw", &[hid], DType::BF16, &wn),
        up("gate", &[ffn, hid], DType::BF16, &wg),
        up("up", &[ffn, hid], DType::BF16, &wu),
        up("down", &[hid, ffn], DType::BF16, &wd),
        up("post_ffw", &[hid], DType::BF16, &wp),
    );
    let (h, gt, ut, at, dt) = (
        zeros("h", &[t, hid]),
        zeros("g", &[t, ffn]),
        zeros("u", &[t, ffn]),
        zeros("a", &[t, ffn]),
        zeros("d", &[t, hid]),
    );
    let mut b = gpu().batch();
    rmsnorm::forward(&mut b, &xt, &wnt, &h, 1e-6).unwrap();
    matmul::forward(&mut b, &h, &wgt, &gt).unwrap();
    matmul::forward(&mut b, &h, &wut, &ut).unwrap();
    elementwise::geglu_forward(&mut b, &gt, &ut, &at).unwrap();
    matmul::forward(&mut b, &at, &wdt, &dt).unwrap();
    rmsnorm::residual_forward(&mut b, &dt, &wpt, &xt, 1e-6).unwrap();
    assert_eq!(b.len(), 6);
    b.submit().unwrap();
    let r = |v: &[f32]| round(DType::BF16, v);
    let hh = ops::rms_norm(&x, &r(&wn), hid, 1e-6);
    let a = ops::geglu(&ops::matmul_t(&hh, &r(&wg), t, hid, ffn), &ops::matmul_t(&hh, &r(&wu), t, hid, ffn));
    let d = ops::matmul_t(&a, &r(&wd), t, ffn, hid);
    let want = ops::add(&x, &ops::rms_norm(&d, &r(&wp), hid, 1e-6));
    assert_close("mlp block", &xt.to_f32(gpu()).unwrap(), &want, 2e-5);
    assert!(gpu().registry().modules_compiled() <= gpu_trainer::runtime::SHADER_FILES.len());
}

/// Tables larger than one storage binding are split into row parts; the
/// embedding gather and the tied LM head handle them (forced small binding).
#[test]
fn split_tensors_embedding_and_lm_head() {
    let g = Gpu::with_options(GpuOptions { max_binding_override: Some(4096), ..Default::default() })
        .unwrap_or_else(|e| panic!("cannot open a GPU: {e}"));
    assert_eq!(g.max_binding(), 4096);
    let mut rng = Rng(77);
    for d in DTYPES {
        for &(vocab, hidden) in &[(300usize, 20usize), (211, 21)] {
            let table = rng.vec(vocab * hidden, 1.0);
            let tt = Tensor::from_f32(&g, "model.embed_tokens.weight", &[vocab, hidden], d, &table).unwrap();
            assert!(tt.parts().len() > 1, "{d:?} {vocab}x{hidden} not split");
            for p in tt.parts() {
                assert!(p.buffer.size() <= 4096);
            }
            // Round trip through the parts.
            assert_eq!(tt.to_f32(&g).unwrap(), round(d, &table));
            let ids: Vec<u32> =
                (0..3).map(|i| if i == 0 { vocab as u32 - 1 } else { rng.below(vocab as u32) }).collect();
            let it = Tensor::from_u32(&g, "ids", &[ids.len()], &ids).unwrap();
            let xt = Tensor::zeros(&g, "x", &[ids.len(), hidden], DType::F32).unwrap();
            let lt = Tensor::zeros(&g, "logits", &[ids.len(), vocab], DType::F32).unwrap();
            let mut b = g.batch();
            embedding::forward(&mut b, &it, &tt, &xt, 2.0).unwrap();
            matmul::forward(&mut b, &xt, &tt, &lt).unwrap();
            elementwise::softcap_forward(&mut b, &lt, 30.0).unwrap();
            b.submit().unwrap();
            let tr = round(d, &table);
            let x = ops::embedding(&ids, &tr, hidden, 2.0);
            assert_close("split embedding", &xt.to_f32(&g).unwrap(), &x, 1e-6);
            let mut logits = ops::matmul_t(&x, &tr, ids.len(), hidden, vocab);
            ops::softcap(&mut logits, 30.0);
            assert_close("split lm head", &lt.to_f32(&g).unwrap(), &logits, 1e-5);
            // The decode path (M = 1) over the parts as well.
            for path in [matmul::Path::Matvec, matmul::Path::MatvecRows] {
                run_matmul_path(&g, 1, hidden, vocab, d, &mut rng, path);
            }
        }
    }
}

/// Quick throughput figure (printed; run with --nocapture to see it).
#[test]
fn matmul_throughput_print() {
    let g = gpu();
    let mut rng = Rng(3);
    for &(m, k, n) in &[(128usize, 512usize, 512usize), (1, 2304, 2048)] {
        let xt = up("x", &[m, k], DType::F32, &rng.vec(m * k, 1.0));
        let wt = up("w", &[n, k], DType::F32, &rng.vec(n * k, 1.0));
        let yt = zeros("y", &[m, n]);
        let reps = 3;
        let mut b = g.batch();
        matmul::forward(&mut b, &xt, &wt, &yt).unwrap();
        b.submit().unwrap();
        g.wait().unwrap();
        let t0 = Instant::now();
        let mut b = g.batch();
        for _ in 0..reps {
            matmul::forward(&mut b, &xt, &wt, &yt).unwrap();
        }
        b.submit().unwrap();
        g.wait().unwrap();
        let s = t0.elapsed().as_secs_f64();
        let gflops = 2.0 * (m * k * n * reps) as f64 / s / 1e9;
        eprintln!(
            "matmul {m}x{k}x{n} f32 on {}: {gflops:.2} GFLOP/s ({:.1} ms each)",
            g.adapter_info().name,
            s * 1e3 / reps as f64
        );
    }
}

#[test]
fn runtime_errors_are_values_with_clear_messages() {
    // An adapter selector that matches nothing lists what exists.
    let e = Gpu::with_options(GpuOptions { adapter: Some("no-such-gpu-xyz".into()), ..Default::default() })
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("no-such-gpu-xyz") && msg.contains("[0]"), "{msg}");
    // Selecting by index 0 works.
    let g0 = Gpu::with_options(GpuOptions { adapter: Some("0".into()), ..Default::default() }).unwrap();
    assert!(!g0.adapter_info().name.is_empty());
    // One row larger than a binding: an error naming the tensor, not a crash.
    let g = gpu();
    let huge = (g.max_binding() / 4 + 1) as usize;
    let e = Tensor::zeros(g, "model.too_wide", &[1, huge], DType::F32).unwrap_err();
    assert!(e.to_string().contains("model.too_wide"), "{e}");
    // Over max_buffer_size: same.
    let lim = g.limits().max_buffer_size;
    let e = g.create_buffer_checked("model.too_big", lim.saturating_add(4)).unwrap_err();
    assert!(e.to_string().contains("model.too_big"), "{e}");
    // Shape mismatches are errors too.
    let x = zeros("x", &[2, 3]);
    let w = zeros("w", &[4, 5]);
    let y = zeros("y", &[2, 4]);
    let mut b = g.batch();
    assert!(matmul::forward(&mut b, &x, &w, &y).is_err());
}
