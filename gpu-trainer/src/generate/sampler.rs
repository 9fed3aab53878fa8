//! Token sampling on the CPU over the downloaded last-row logits (one row of
//! `vocab` f32 per active sequence: 1 MB for 256000, small next to a decode
//! step), in f64.
//!
//! Order as in HuggingFace: temperature, then top-k, then top-p; the kept
//! tokens' probabilities are renormalised and one is drawn with the
//! sequence's own [`Rng`] stream. Temperature 0 is greedy: the argmax, ties
//! to the lowest id (like `torch.argmax`), no random number drawn.
//!
//! The log-probability returned is the token's log p under the distribution
//! it was drawn from: temperature-scaled and truncated/renormalised by
//! top-k / top-p; for greedy the full softmax at temperature 1.

use env_core::Rng;

/// What to sample with (the sampling part of `GenerateOptions`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SamplerConfig {
    /// 0 = greedy
    pub temperature: f32,
    pub top_k: Option<usize>,
    pub top_p: Option<f32>,
}

/// Index of the largest value, the first one on ties. NaN never wins.
pub fn argmax(x: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in x.iter().enumerate() {
        if v > x[best] || x[best].is_nan() && !v.is_nan() {
            best = i;
        }
    }
    best
}

/// log softmax(x / temperature) in f64 (temperature > 0).
pub fn log_softmax(x: &[f32], temperature: f32) -> Vec<f64> {
    let t = temperature as f64;
    let m = x.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64 / t));
    let lse = m + x.iter().map(|&v| (v as f64 / t - m).exp()).sum::<f64>().ln();
    x.iter().map(|&v| v as f64 / t - lse).collect()
}

/// The entropy (nats) of softmax(x) at temperature 1, in f64.
pub fn entropy(x: &[f32]) -> f64 {
    let lp = log_softmax(x, 1.0);
    -lp.iter().map(|&l| if l.is_finite() { l.exp() * l } else { 0.0 }).sum::<f64>()
}

/// The tokens a sampler may draw and their renormalised probabilities, in
/// descending probability (ties: lower id first). Temperature > 0.
pub fn distribution(logits: &[f32], cfg: &SamplerConfig) -> Vec<(u32, f64)> {
    let lp = log_softmax(logits, cfg.temperature);
    let mut idx: Vec<u32> = (0..logits.len() as u32).collect();
    let key = |&i: &u32| (std::cmp::Reverse(ordered(lp[i as usize])), i);
    if let Some(k) = cfg.top_k.filter(|&k| k > 0 && k < idx.len()) {
        idx.select_nth_unstable_by_key(k - 1, key);
        idx.truncate(k);
    }
    idx.sort_unstable_by_key(key);
    let mut kept: Vec<(u32, f64)> = idx.iter().map(|&i| (i, lp[i as usize].exp())).collect();
    if let Some(p) = cfg.top_p.filter(|&p| p < 1.0) {
        // keep the smallest head of the sorted list whose mass reaches p
        // (a token is kept iff the mass before it is < p; at least one)
        let total: f64 = kept.iter().map(|e| e.1).sum();
        let mut cum = 0.0;
        let mut n = 0;
        for e in &kept {
            if n > 0 && cum >= p as f64 * total {
                break;
            }
            cum += e.1;
            n += 1;
        }
        kept.truncate(n);
    }
    let z: f64 = kept.iter().map(|e| e.1).sum();
    for e in &mut kept {
        e.1 /= z;
    }
    kept
}

/// f64 -> a totally ordered key (NaN lowest).
fn ordered(x: f64) -> i64 {
    if x.is_nan() {
        return i64::MIN;
    }
    let b = x.to_bits() as i64;
    if b < 0 { b ^ i64::MAX } else { b }
}

/// Draw one token from `logits` (one row): `(id, log p)`.
pub fn sample(logits: &[f32], cfg: &SamplerConfig, rng: &mut Rng) -> (u32, f32) {
    if cfg.temperature <= 0.0 {
        let id = argmax(logits);
        let lp = log_softmax(logits, 1.0)[id];
        return (id as u32, lp as f32);
    }
    let dist = distribution(logits, cfg);
    let u = rng.uniform();
    let mut cum = 0.0;
    for &(id, p) in &dist {
        cum += p;
        if u < cum {
            return (id, p.ln() as f32);
        }
    }
    let &(id, p) = dist.last().expect("at least one token is kept");
    (id, p.ln() as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_of_closed_forms() {
        assert!((entropy(&[0.0; 4]) - 4f64.ln()).abs() < 1e-12, "uniform over 4");
        assert!(entropy(&[0.0, -1e4]) < 1e-9, "one certain token");
        let (a, b) = (0.3f64, 0.7f64);
        let h = entropy(&[a.ln() as f32, b.ln() as f32]);
        assert!((h - (-(a * a.ln() + b * b.ln()))).abs() < 1e-6);
    }

    #[test]
    fn ordered_key_is_monotone() {
        let nan = ordered(f64::NAN);
        let xs = [-1e300, -3.5, -0.0, 0.0, 1e-9, 2.0, 1e300];
        for w in xs.windows(2) {
            assert!(ordered(w[0]) <= ordered(w[1]), "{w:?}");
            assert!(nan < ordered(w[0]));
        }
    }
}
