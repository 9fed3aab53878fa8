//! The GPU optimizers against their references: torch.optim.AdamW and transformers' Adafactor
//! (fixtures from tools/gen_optim_fixtures.py: values after every step and the final state, with
//! and without torch's clip_grad_norm_), the gradient norm against an f64 host sum, non-finite
//! gradients skipping the step, tensors split into row parts (a 4096-byte binding limit), state
//! export / load.

use std::path::PathBuf;
use std::sync::OnceLock;

use gpu_trainer::model::Weights;
use gpu_trainer::train::Param;
use gpu_trainer::train::optim::{
    AdaFactorConfig, AdamWConfig, DecayOn, GradNorm, GradStats, OptimError, Optimizer, OptimizerConfig,
    StepOutcome, zero_grads,
};
use gpu_trainer::{Gpu, GpuOptions};
use serde_json::Value;

fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| {
        Gpu::new().unwrap_or_else(|e| panic!("cannot open a GPU for the optimizer tests: {e}"))
    })
}

/// Every storage binding limited to 4096 bytes: the fixture's big tensors split into row parts.
fn split_gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| {
        Gpu::with_options(GpuOptions { max_binding_override: Some(4096), ..Default::default() })
            .unwrap_or_else(|e| panic!("cannot open a GPU: {e}"))
    })
}

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/optim")
}

struct Fixture {
    meta: Value,
    weights: Weights,
}

impl Fixture {
    fn open(case: &str) -> Fixture {
        let dir = fixture_dir();
        let text = std::fs::read_to_string(dir.join(format!("{case}.json"))).expect("fixture json");
        let meta: Value = serde_json::from_str(&text).expect("fixture json parses");
        let weights =
            Weights::open_file(&dir.join(format!("{case}.safetensors"))).expect("fixture safetensors");
        Fixture { meta, weights }
    }
    fn get(&self, key: &str) -> Vec<f32> {
        self.weights.to_f32(key).unwrap_or_else(|e| panic!("fixture tensor {key}: {e}"))
    }
    fn params(&self) -> Vec<(String, Vec<usize>)> {
        self.meta["params"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let shape =
                    p["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
                (p["name"].as_str().unwrap().to_string(), shape)
            })
            .collect()
    }
    fn f(&self, key: &str) -> f32 {
        self.meta[key].as_f64().unwrap_or_else(|| panic!("{key}")) as f32
    }
    fn lrs(&self) -> Vec<f32> {
        self.meta["lrs"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect()
    }
    fn max_norm(&self) -> Option<f32> {
        self.meta["max_norm"].as_f64().map(|v| v as f32)
    }
    fn decay_on(&self) -> DecayOn {
        match self.meta["decay_on"].as_str().unwrap() {
            "all" => DecayOn::All,
            "matrices" => DecayOn::Matrices,
            other => panic!("decay_on {other}"),
        }
    }
    fn config(&self) -> OptimizerConfig {
        match self.meta["optimizer"].as_str().unwrap() {
            "adamw" => OptimizerConfig::AdamW(AdamWConfig {
                beta1: self.f("beta1"),
                beta2: self.f("beta2"),
                eps: self.f("eps"),
                weight_decay: self.f("weight_decay"),
                decay_on: self.decay_on(),
            }),
            "adafactor" => OptimizerConfig::AdaFactor(AdaFactorConfig {
                eps1: self.f("eps1"),
                eps2: self.f("eps2"),
                clip_threshold: self.f("clip_threshold"),
                decay_rate: self.f("decay_rate"),
                beta1: self.meta["beta1"].as_f64().map(|b| b as f32),
                weight_decay: self.f("weight_decay"),
                decay_on: self.decay_on(),
            }),
            other => panic!("optimizer {other}"),
        }
    }
}

/// |got - want| <= tol * max(1, |want|) elementwise; returns the largest |got - want|.
#[track_caller]
fn assert_close(what: &str, got: &[f32], want: &[f32], tol: f32) -> f32 {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut worst = 0f32;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * w.abs().max(1.0),
            "{what}[{i}]: got {g}, want {w} (tolerance {tol:e})"
        );
        worst = worst.max((g - w).abs());
    }
    worst
}

fn write_f32(gpu: &Gpu, t: &gpu_trainer::Tensor, data: &[f32]) {
    t.write_bytes(gpu, bytemuck::cast_slice(data));
}

fn make_params(gpu: &Gpu, fx: &Fixture) -> Vec<Param> {
    fx.params()
        .iter()
        .map(|(name, shape)| Param::new(gpu, name, shape, &fx.get(&format!("{name}|init"))).unwrap())
        .collect()
}

/// Run a fixture case on `gpu`: every step's weights and the final state within `tol` of the
/// reference; with clipping, the GPU norm within 1e-5 (relative) of torch's. Returns the params.
fn run_case(gpu: &Gpu, case: &str, tol: f32) -> Vec<Param> {
    let fx = Fixture::open(case);
    let params = make_params(gpu, &fx);
    let norm = GradNorm::new(gpu, &params).unwrap();
    let mut opt = Optimizer::new(gpu, &params, &fx.config()).unwrap();
    let mut worst = 0f32;
    let torch_norms: Vec<f64> =
        fx.meta["torch_total_norms"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    for (s, lr) in fx.lrs().into_iter().enumerate() {
        let mut host_sumsq = 0f64;
        for p in &params {
            let g = fx.get(&format!("{}|grad|{s}", p.name));
            host_sumsq += g.iter().map(|&x| x as f64 * x as f64).sum::<f64>();
            write_f32(gpu, &p.grad, &g);
        }
        let stats = norm.compute(gpu, &params).unwrap();
        assert!(stats.finite, "{case} step {s}: finite grads reported non-finite");
        let host = host_sumsq.sqrt();
        assert!(
            ((stats.norm as f64 - host) / host).abs() < 1e-5,
            "{case} step {s}: norm {} vs f64 {host}",
            stats.norm
        );
        if let Some(&tn) = torch_norms.get(s) {
            assert!(
                ((stats.norm as f64 - tn) / tn).abs() < 1e-5,
                "{case} step {s}: norm {} vs torch {tn}",
                stats.norm
            );
        }
        let out = opt.step(gpu, &params, lr, &stats, fx.max_norm()).unwrap();
        let clip = stats.clip_factor(fx.max_norm());
        assert_eq!(
            out,
            StepOutcome::Applied { step: s as u64 + 1, lr, grad_norm: stats.norm, clip_factor: clip }
        );
        for p in &params {
            let want = fx.get(&format!("{}|after|{s}", p.name));
            let what = format!("{case} step {s} {}", p.name);
            worst = worst.max(assert_close(&what, &p.value.to_f32(gpu).unwrap(), &want, tol));
        }
    }
    let state = opt.export_state(gpu).unwrap();
    let mut slots = 0;
    for key in fx.weights.names().filter(|k| k.contains("|state|")) {
        let name = key.replace("|state|", ".");
        let got = state
            .tensors
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{case}: no state {name}"));
        let want = fx.weights.tensor(key).unwrap();
        assert_eq!(got.shape, want.shape, "{case}: state {name} shape");
        assert_close(&format!("{case} state {name}"), &got.data, &want.to_f32(), tol);
        slots += 1;
    }
    eprintln!(
        "{case} (max binding {}): max |weights - reference| over all steps {worst:.2e}",
        gpu.max_binding()
    );
    assert_eq!(slots, state.tensors.len(), "{case}: the optimizer has state tensors torch does not");
    params
}

#[test]
fn adamw_matches_torch() {
    run_case(gpu(), "adamw", 1e-5);
}

#[test]
fn adamw_default_decay_on_matrices_matches_torch_param_groups() {
    // the fixture: decay on rank >= 2 tensors, none on the norm weight
    assert_eq!(AdamWConfig::default().decay_on, DecayOn::Matrices);
    run_case(gpu(), "adamw_groups", 1e-5);
}

#[test]
fn adamw_clipped_matches_torch_clip_grad_norm() {
    let fx = Fixture::open("adamw_clip");
    let norms = fx.meta["torch_total_norms"].as_array().unwrap();
    // the fixture clips steps 0 and 2 but not step 1
    assert!(
        norms[0].as_f64().unwrap() > 1.0
            && norms[1].as_f64().unwrap() < 1.0
            && norms[2].as_f64().unwrap() > 1.0
    );
    run_case(gpu(), "adamw_clip", 1e-5);
}

#[test]
fn adafactor_matches_transformers() {
    run_case(gpu(), "adafactor", 1e-5);
}

#[test]
fn adafactor_beta1_weight_decay_clipped_matches_transformers() {
    run_case(gpu(), "adafactor_beta1_clip", 1e-5);
}

#[test]
fn big_tensors_match_on_one_binding() {
    run_case(gpu(), "adamw_big", 1e-5);
    run_case(gpu(), "adafactor_big", 1e-5);
}

#[test]
fn split_tensors_match() {
    let g = split_gpu();
    assert_eq!(g.max_binding(), 4096);
    for case in ["adamw_big", "adafactor_big"] {
        let params = run_case(g, case, 1e-5);
        for p in &params {
            assert!(p.value.parts().len() > 1, "{case}: {} {:?} was not split", p.name, p.value.shape);
        }
    }
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

fn random_params(gpu: &Gpu, shapes: &[(&str, &[usize])], seed: u64) -> (Vec<Param>, Vec<Vec<f32>>) {
    let mut rng = Rng(seed);
    let mut grads = Vec::new();
    let params = shapes
        .iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let p = Param::new(gpu, name, shape, &rng.vec(n, 1.0)).unwrap();
            let g = rng.vec(n, 3.0);
            write_f32(gpu, &p.grad, &g);
            grads.push(g);
            p
        })
        .collect();
    (params, grads)
}

const NORM_SHAPES: &[(&str, &[usize])] = &[
    ("one", &[1]),
    ("chunk_minus_one", &[4095]),
    ("chunk_plus_one", &[4097]),
    ("many_chunks", &[100_003]),
    ("matrix", &[300, 20]),
    ("cube", &[3, 40, 20]),
];

#[test]
fn grad_norm_matches_f64_and_is_deterministic() {
    for g in [gpu(), split_gpu()] {
        let (params, grads) = random_params(g, NORM_SHAPES, 11);
        let norm = GradNorm::new(g, &params).unwrap();
        let stats = norm.compute(g, &params).unwrap();
        let mut total = 0f64;
        for ((p, grad), t) in params.iter().zip(&grads).zip(&stats.tensors) {
            let s: f64 = grad.iter().map(|&x| x as f64 * x as f64).sum();
            total += s;
            assert_eq!(t.name, p.name);
            assert_eq!(t.nonfinite, 0);
            assert!(
                ((t.norm as f64 - s.sqrt()) / s.sqrt()).abs() < 1e-5,
                "{}: {} vs {}",
                p.name,
                t.norm,
                s.sqrt()
            );
        }
        assert!(stats.finite);
        assert!(
            ((stats.norm as f64 - total.sqrt()) / total.sqrt()).abs() < 1e-5,
            "{} vs {}",
            stats.norm,
            total.sqrt()
        );
        let again = norm.compute(g, &params).unwrap();
        assert_eq!(again.norm.to_bits(), stats.norm.to_bits(), "the reduction is not deterministic");
    }
    assert!(split_gpu().max_binding() == 4096);
}

#[test]
fn clip_factor_is_torchs() {
    let s = GradStats::from_norm(4.0);
    assert_eq!(s.clip_factor(None), 1.0);
    assert_eq!(s.clip_factor(Some(1.0)), 1.0 / (4.0 + 1e-6));
    assert_eq!(s.clip_factor(Some(10.0)), 1.0);
    assert!(!GradStats::from_norm(f32::INFINITY).finite);
}

fn snapshot(gpu: &Gpu, params: &[Param], opt: &Optimizer) -> Vec<Vec<u32>> {
    let mut out: Vec<Vec<u32>> =
        params.iter().map(|p| p.value.to_f32(gpu).unwrap().iter().map(|x| x.to_bits()).collect()).collect();
    for (_, t) in opt.state_tensors() {
        out.push(t.to_f32(gpu).unwrap().iter().map(|x| x.to_bits()).collect());
    }
    out
}

#[test]
fn non_finite_gradient_skips_the_step() {
    let shapes: &[(&str, &[usize])] =
        &[("model.a.weight", &[300, 20]), ("model.norm.weight", &[1500]), ("model.c.weight", &[3, 4, 2])];
    for g in [gpu(), split_gpu()] {
        for config in [
            OptimizerConfig::AdamW(AdamWConfig::default()),
            OptimizerConfig::AdaFactor(AdaFactorConfig { beta1: Some(0.9), ..Default::default() }),
        ] {
            let (params, grads) = random_params(g, shapes, 5);
            let norm = GradNorm::new(g, &params).unwrap();
            let mut opt = Optimizer::new(g, &params, &config).unwrap();
            // one good step first, so the state is not all zeros
            let stats = norm.compute(g, &params).unwrap();
            assert!(matches!(
                opt.step(g, &params, 1e-2, &stats, Some(1.0)).unwrap(),
                StepOutcome::Applied { step: 1, .. }
            ));
            let before = snapshot(g, &params, &opt);
            for (bad_param, bad) in [(1usize, f32::NAN), (0, f32::INFINITY), (2, f32::NEG_INFINITY)] {
                let mut gr = grads[bad_param].clone();
                let at = gr.len() - 1; // the last element: the last part when split
                gr[at] = bad;
                write_f32(g, &params[bad_param].grad, &gr);
                let stats = norm.compute(g, &params).unwrap();
                assert!(!stats.finite, "{bad} not detected");
                assert_eq!(stats.nonfinite_tensors(), vec![params[bad_param].name.as_str()]);
                let out = opt.step(g, &params, 1e-2, &stats, Some(1.0)).unwrap();
                let StepOutcome::Skipped { reason } = out else { panic!("{bad}: step not skipped: {out:?}") };
                assert!(reason.contains(&params[bad_param].name), "{reason}");
                assert_eq!(opt.steps(), 1);
                assert!(
                    before == snapshot(g, &params, &opt),
                    "{bad}: weights or state changed on a skipped step"
                );
                write_f32(g, &params[bad_param].grad, &grads[bad_param]);
            }
            // zeroing the grads (every part) and stepping again works
            zero_grads(g, &params).unwrap();
            for p in &params {
                assert!(p.grad.to_f32(g).unwrap().iter().all(|&x| x == 0.0), "{} not zeroed", p.name);
            }
            let stats = norm.compute(g, &params).unwrap();
            assert_eq!(stats.norm, 0.0);
            assert!(matches!(
                opt.step(g, &params, 1e-2, &stats, Some(1.0)).unwrap(),
                StepOutcome::Applied { step: 2, .. }
            ));
        }
    }
}

#[test]
fn exported_state_resumes_bit_identically() {
    let g = gpu();
    let shapes: &[(&str, &[usize])] =
        &[("model.a.weight", &[30, 20]), ("model.norm.weight", &[15]), ("model.c.weight", &[3, 4, 2])];
    let configs = [
        OptimizerConfig::AdamW(AdamWConfig { weight_decay: 0.1, ..Default::default() }),
        OptimizerConfig::AdaFactor(AdaFactorConfig::default()),
        OptimizerConfig::AdaFactor(AdaFactorConfig {
            beta1: Some(0.9),
            weight_decay: 0.01,
            ..Default::default()
        }),
    ];
    for config in configs {
        let (a, grads) = random_params(g, shapes, 9);
        let norm = GradNorm::new(g, &a).unwrap();
        let mut opt_a = Optimizer::new(g, &a, &config).unwrap();
        for _ in 0..2 {
            let stats = norm.compute(g, &a).unwrap();
            opt_a.step(g, &a, 1e-2, &stats, Some(1.0)).unwrap();
        }
        let state = opt_a.export_state(g).unwrap();
        assert_eq!(state.step, 2);
        assert_eq!(state.kind, opt_a.kind());
        // a fresh copy of the params and an optimizer loaded from the exported state
        let b: Vec<Param> = a
            .iter()
            .map(|p| Param::new(g, &p.name, &p.value.shape, &p.value.to_f32(g).unwrap()).unwrap())
            .collect();
        for (p, gr) in b.iter().zip(&grads) {
            write_f32(g, &p.grad, gr);
        }
        let mut opt_b = Optimizer::new(g, &b, &config).unwrap();
        opt_b.load_state(g, &state).unwrap();
        assert_eq!(opt_b.steps(), 2);
        for (params, opt) in [(&a, &mut opt_a), (&b, &mut opt_b)] {
            let stats = norm.compute(g, params).unwrap();
            opt.step(g, params, 5e-3, &stats, Some(1.0)).unwrap();
        }
        assert!(snapshot(g, &a, &opt_a) == snapshot(g, &b, &opt_b), "{config:?}: resumed step differs");

        // bad states are refused, naming the tensor, and leave the optimizer as it was
        let mut missing = state.clone();
        let gone = missing.tensors.remove(1).name;
        let e = opt_b.load_state(g, &missing).unwrap_err();
        assert!(matches!(&e, OptimError::State { tensor, .. } if *tensor == gone), "{e}");
        let mut bad_shape = state.clone();
        bad_shape.tensors[0].shape = vec![1, bad_shape.tensors[0].data.len()];
        let e = opt_b.load_state(g, &bad_shape).unwrap_err().to_string();
        assert!(e.contains(&state.tensors[0].name) && e.contains("shape"), "{e}");
        let mut kind = state.clone();
        kind.kind = "sgd".into();
        assert!(opt_b.load_state(g, &kind).unwrap_err().to_string().contains("sgd"));
        assert_eq!(opt_b.steps(), 3);
    }
}

#[test]
fn state_tensor_names_follow_torch_slots() {
    let g = gpu();
    let shapes: &[(&str, &[usize])] = &[("w", &[4, 3]), ("n", &[3])];
    let (params, _) = random_params(g, shapes, 1);
    let names = |c: OptimizerConfig| -> Vec<String> {
        Optimizer::new(g, &params, &c).unwrap().state_tensors().into_iter().map(|(n, _)| n).collect()
    };
    assert_eq!(
        names(OptimizerConfig::AdamW(Default::default())),
        ["w.exp_avg", "w.exp_avg_sq", "n.exp_avg", "n.exp_avg_sq"]
    );
    assert_eq!(
        names(OptimizerConfig::AdaFactor(Default::default())),
        ["w.exp_avg_sq_row", "w.exp_avg_sq_col", "n.exp_avg_sq"]
    );
    let with_m = OptimizerConfig::AdaFactor(AdaFactorConfig { beta1: Some(0.9), ..Default::default() });
    assert_eq!(
        names(with_m),
        ["w.exp_avg", "w.exp_avg_sq_row", "w.exp_avg_sq_col", "n.exp_avg", "n.exp_avg_sq"]
    );
}

#[test]
fn wrong_parameter_list_or_arguments_are_errors() {
    let g = gpu();
    let (params, _) = random_params(g, &[("w", &[4, 3]), ("n", &[3])], 2);
    let (other, _) = random_params(g, &[("w", &[4, 3]), ("m", &[3])], 2);
    let stats = GradStats::from_norm(1.0);
    for config in [OptimizerConfig::AdamW(Default::default()), OptimizerConfig::AdaFactor(Default::default())]
    {
        let mut opt = Optimizer::new(g, &params, &config).unwrap();
        let e = opt.step(g, &other, 1e-3, &stats, None).unwrap_err().to_string();
        assert!(e.contains("\"m\"") && e.contains("\"n\""), "{e}");
        let e = opt.step(g, &params[..1], 1e-3, &stats, None).unwrap_err().to_string();
        assert!(e.contains("1 parameters given, built for 2"), "{e}");
        assert!(
            opt.step(g, &params, f32::NAN, &stats, None).unwrap_err().to_string().contains("learning rate")
        );
        assert!(opt.step(g, &params, 1e-3, &stats, Some(0.0)).unwrap_err().to_string().contains("max_norm"));
        assert_eq!(opt.steps(), 0);
    }
    let bad = AdamWConfig { beta1: 1.0, ..Default::default() };
    assert!(Optimizer::new(g, &params, &OptimizerConfig::AdamW(bad)).is_err());
    let bad = AdaFactorConfig { decay_rate: 0.8, ..Default::default() };
    assert!(Optimizer::new(g, &params, &OptimizerConfig::AdaFactor(bad)).is_err());
}
