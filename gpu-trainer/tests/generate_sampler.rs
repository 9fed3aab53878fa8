//! The CPU sampler: greedy tie-break, temperature, top-k / top-p masks,
//! log-probabilities against a plain log-softmax, seeded reproducibility.

use env_core::Rng;
use gpu_trainer::generate::sampler::{SamplerConfig, argmax, distribution, log_softmax, sample};

fn cfg(temperature: f32, top_k: Option<usize>, top_p: Option<f32>) -> SamplerConfig {
    SamplerConfig { temperature, top_k, top_p }
}

/// plain f64 log-softmax of x / t, written independently
fn reference_log_softmax(x: &[f32], t: f64) -> Vec<f64> {
    let z: Vec<f64> = x.iter().map(|&v| v as f64 / t).collect();
    let m = z.iter().cloned().fold(f64::MIN, f64::max);
    let s: f64 = z.iter().map(|v| (v - m).exp()).sum();
    z.iter().map(|v| v - m - s.ln()).collect()
}

const LOGITS: [f32; 6] = [1.0, 3.0, -2.0, 3.0, 0.5, 2.0];

#[test]
fn greedy_takes_the_first_max_and_full_softmax_logprob() {
    assert_eq!(argmax(&LOGITS), 1);
    assert_eq!(argmax(&[f32::NAN, -1.0, 5.0, 5.0]), 2);
    let mut rng = Rng::new(0);
    let before = rng.clone();
    let (id, lp) = sample(&LOGITS, &cfg(0.0, Some(2), Some(0.1)), &mut rng);
    assert_eq!(id, 1);
    let want = reference_log_softmax(&LOGITS, 1.0)[1];
    assert!((lp as f64 - want).abs() < 1e-6, "{lp} vs {want}");
    assert_eq!(rng, before, "greedy draws no random number");
}

#[test]
fn log_softmax_matches_reference() {
    for t in [0.3f32, 1.0, 2.5] {
        let got = log_softmax(&LOGITS, t);
        let want = reference_log_softmax(&LOGITS, t as f64);
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 1e-12);
        }
    }
}

#[test]
fn temperature_scales_the_distribution() {
    let d = distribution(&LOGITS, &cfg(0.5, None, None));
    assert_eq!(d.len(), LOGITS.len());
    let want = reference_log_softmax(&LOGITS, 0.5);
    for &(id, p) in &d {
        assert!((p.ln() - want[id as usize]).abs() < 1e-9);
    }
    // sorted by descending probability, ties to the lower id
    assert_eq!(d.iter().map(|e| e.0).collect::<Vec<_>>(), vec![1, 3, 5, 0, 4, 2]);
    // higher temperature is flatter
    let hot = distribution(&LOGITS, &cfg(5.0, None, None));
    assert!(hot[0].1 < d[0].1);
}

#[test]
fn top_k_keeps_the_k_largest_renormalised() {
    let d = distribution(&LOGITS, &cfg(1.0, Some(3), None));
    assert_eq!(d.iter().map(|e| e.0).collect::<Vec<_>>(), vec![1, 3, 5]);
    let sum: f64 = d.iter().map(|e| e.1).sum();
    assert!((sum - 1.0).abs() < 1e-12);
    let e3 = (3.0f64).exp();
    let z = 2.0 * e3 + (2.0f64).exp();
    assert!((d[0].1 - e3 / z).abs() < 1e-12);
    // k = 0 or k >= vocab: no truncation
    assert_eq!(distribution(&LOGITS, &cfg(1.0, Some(0), None)).len(), 6);
    assert_eq!(distribution(&LOGITS, &cfg(1.0, Some(60), None)).len(), 6);
}

#[test]
fn top_p_keeps_the_smallest_head_reaching_p() {
    let full = distribution(&LOGITS, &cfg(1.0, None, None));
    // p below the top token's mass: only the top token
    let d = distribution(&LOGITS, &cfg(1.0, None, Some(0.1)));
    assert_eq!(d.iter().map(|e| e.0).collect::<Vec<_>>(), vec![1]);
    assert!((d[0].1 - 1.0).abs() < 1e-12);
    // p just above the top two: three tokens
    let p2 = (full[0].1 + full[1].1) as f32 + 1e-4;
    let d = distribution(&LOGITS, &cfg(1.0, None, Some(p2)));
    assert_eq!(d.iter().map(|e| e.0).collect::<Vec<_>>(), vec![1, 3, 5]);
    // exactly reaching p with the top two keeps two
    let p2 = (full[0].1 + full[1].1) as f32 - 1e-4;
    assert_eq!(distribution(&LOGITS, &cfg(1.0, None, Some(p2))).len(), 2);
    // top_p 1.0: everything
    assert_eq!(distribution(&LOGITS, &cfg(1.0, None, Some(1.0))).len(), 6);
    // top-k then top-p over the renormalised k
    let d = distribution(&LOGITS, &cfg(1.0, Some(2), Some(0.6)));
    assert_eq!(d.iter().map(|e| e.0).collect::<Vec<_>>(), vec![1, 3]);
}

#[test]
fn samples_follow_the_distribution_and_logprobs_match() {
    let c = cfg(0.8, Some(4), Some(0.97));
    let dist = distribution(&LOGITS, &c);
    let mut rng = Rng::new(42);
    let mut counts = [0usize; 6];
    let n = 20000;
    for _ in 0..n {
        let (id, lp) = sample(&LOGITS, &c, &mut rng);
        let p = dist.iter().find(|e| e.0 == id).expect("sampled a masked token").1;
        assert!((lp as f64 - p.ln()).abs() < 1e-6);
        counts[id as usize] += 1;
    }
    for &(id, p) in &dist {
        let f = counts[id as usize] as f64 / n as f64;
        assert!((f - p).abs() < 0.015, "token {id}: frequency {f} vs p {p}");
    }
    // reproducible from the seed
    let mut a = Rng::new(5);
    let mut b = Rng::new(5);
    let xs: Vec<u32> = (0..50).map(|_| sample(&LOGITS, &c, &mut a).0).collect();
    let ys: Vec<u32> = (0..50).map(|_| sample(&LOGITS, &c, &mut b).0).collect();
    assert_eq!(xs, ys);
}
