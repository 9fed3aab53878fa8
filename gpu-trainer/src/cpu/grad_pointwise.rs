//! CPU f32 reference backward of the pointwise / per-row ops (ground truth for the GPU backward
//! kernels): rms_norm (1 + w), geglu (tanh gelu), softcap, and the log-softmax / cross-entropy
//! over the vocabulary. Plain loops, f32 arithmetic, same formulas as the shaders; each is
//! checked against f64 finite differences in tests/kernels_backward_pointwise.rs.

use super::ops::gelu_tanh;

/// Backward of [`super::ops::rms_norm`] (rows of length `dim`, `w.len() == dim`) for the upstream
/// gradient `dy`: returns (dx, dw). With r = 1/sqrt(mean(x^2) + eps) per row:
/// dx = r (1+w) dy - x r^3/dim * sum(dy (1+w) x); dw = sum over rows of dy x r.
pub fn rms_norm_backward(x: &[f32], w: &[f32], dy: &[f32], dim: usize, eps: f32) -> (Vec<f32>, Vec<f32>) {
    assert_eq!(w.len(), dim);
    assert_eq!(x.len() % dim, 0);
    assert_eq!(dy.len(), x.len());
    let mut dx = vec![0.0f32; x.len()];
    let mut dw = vec![0.0f32; dim];
    for ((xr, dyr), dxr) in x.chunks_exact(dim).zip(dy.chunks_exact(dim)).zip(dx.chunks_exact_mut(dim)) {
        let (mut ss, mut sgx) = (0.0f32, 0.0f32);
        for i in 0..dim {
            ss += xr[i] * xr[i];
            sgx += dyr[i] * (1.0 + w[i]) * xr[i];
        }
        let r = 1.0 / (ss / dim as f32 + eps).sqrt();
        let c = sgx * r * r * r / dim as f32;
        for i in 0..dim {
            dxr[i] = r * (1.0 + w[i]) * dyr[i] - xr[i] * c;
            dw[i] += dyr[i] * xr[i] * r;
        }
    }
    (dx, dw)
}

/// d/dx gelu_tanh(x) = 0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 * 0.044715 x^2),
/// t = tanh(k (x + 0.044715 x^3)), k = sqrt(2/pi).
pub fn gelu_tanh_grad(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    let t = (SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)).tanh();
    0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * x * x)
}

/// Backward of [`super::ops::geglu`] (out = gelu_tanh(gate) * up): returns
/// (dgate, dup) = (dout * up * gelu'(gate), dout * gelu(gate)).
pub fn geglu_backward(gate: &[f32], up: &[f32], dout: &[f32]) -> (Vec<f32>, Vec<f32>) {
    assert_eq!(gate.len(), up.len());
    assert_eq!(gate.len(), dout.len());
    let dgate = gate.iter().zip(up).zip(dout).map(|((&g, &u), &d)| d * u * gelu_tanh_grad(g)).collect();
    let dup = gate.iter().zip(dout).map(|(&g, &d)| d * gelu_tanh(g)).collect();
    (dgate, dup)
}

/// Backward of [`super::ops::softcap`] from its output y = cap tanh(x / cap):
/// dx = dy * (1 - (y / cap)^2).
pub fn softcap_backward(y: &[f32], dy: &[f32], cap: f32) -> Vec<f32> {
    assert_eq!(y.len(), dy.len());
    y.iter().zip(dy).map(|(&y, &d)| d * (1.0 - (y / cap) * (y / cap))).collect()
}

/// Per row r of `logits` [R, v]: (lse[r] = logsumexp(logits[r]), logprob[r] = logits[r, targets[r]]
/// - lse[r]). Panics when a target is >= v.
pub fn xent_forward(logits: &[f32], targets: &[u32], v: usize) -> (Vec<f32>, Vec<f32>) {
    assert_eq!(logits.len(), targets.len() * v);
    let mut lse = Vec::with_capacity(targets.len());
    let mut logprob = Vec::with_capacity(targets.len());
    for (row, &t) in logits.chunks_exact(v).zip(targets) {
        assert!((t as usize) < v, "target {t} outside the vocabulary of {v}");
        let m = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let s: f32 = row.iter().map(|&y| (y - m).exp()).sum();
        let l = m + s.ln();
        lse.push(l);
        logprob.push(row[t as usize] - l);
    }
    (lse, logprob)
}

/// Gradient of L = sum_r coef[r] * (-logprob[r]) w.r.t. the pre-cap logits z, given the logits
/// held in `logits` (y = cap tanh(z / cap) with `softcap`, else y = z) and `lse` from
/// [`xent_forward`]: coef[r] (softmax(y[r]) - onehot(targets[r])) [* (1 - (y / cap)^2)].
pub fn xent_backward(
    logits: &[f32],
    targets: &[u32],
    lse: &[f32],
    coef: &[f32],
    softcap: Option<f32>,
) -> Vec<f32> {
    let rows = targets.len();
    assert!(rows > 0 && logits.len().is_multiple_of(rows));
    assert_eq!(lse.len(), rows);
    assert_eq!(coef.len(), rows);
    let v = logits.len() / rows;
    let mut out = vec![0.0f32; logits.len()];
    for r in 0..rows {
        for c in 0..v {
            let y = logits[r * v + c];
            let mut g = (y - lse[r]).exp();
            if c == targets[r] as usize {
                g -= 1.0;
            }
            g *= coef[r];
            if let Some(cap) = softcap {
                g *= 1.0 - (y / cap) * (y / cap);
            }
            out[r * v + c] = g;
        }
    }
    out
}
