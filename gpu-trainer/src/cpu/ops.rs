//! CPU f32 reference of every forward op of the model (SPEC section 9).
//!
//! Plain loops and f32 arithmetic everywhere (accumulation included), like
//! PyTorch on f32 tensors: these are the ground truth the GPU kernels are
//! tested against, and what `cpu::model` builds a full reference forward from.
//! All tensors are row-major, the last dimension contiguous.

/// x[t] = table[ids[t]] * scale ; table [vocab, hidden] -> [tokens, hidden]
///
/// Panics when an id is outside the table.
pub fn embedding(ids: &[u32], table: &[f32], hidden: usize, scale: f32) -> Vec<f32> {
    let vocab = table.len() / hidden;
    let mut out = Vec::with_capacity(ids.len() * hidden);
    for &id in ids {
        let id = id as usize;
        assert!(id < vocab, "token id {id} outside the embedding table of {vocab} rows");
        let row = &table[id * hidden..(id + 1) * hidden];
        out.extend(row.iter().map(|&v| v * scale));
    }
    out
}

/// rows of length dim: y = x * 1/sqrt(mean(x^2) + eps) * (1 + w)
///
/// `x.len()` must be a multiple of `dim` and `w.len() == dim`. Used per token
/// (dim = hidden) and per head (dim = head_dim, Gemma3 q_norm / k_norm).
pub fn rms_norm(x: &[f32], w: &[f32], dim: usize, eps: f32) -> Vec<f32> {
    assert_eq!(w.len(), dim);
    assert_eq!(x.len() % dim, 0);
    let mut out = vec![0.0f32; x.len()];
    for (row, orow) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        let mut ss = 0.0f32;
        for &v in row {
            ss += v * v;
        }
        let inv = 1.0 / (ss / dim as f32 + eps).sqrt();
        for i in 0..dim {
            orow[i] = row[i] * inv * (1.0 + w[i]);
        }
    }
    out
}

/// Y[m,n] = sum_k X[m,k] * W[n,k]   (W stored [out=n, in=k] like HuggingFace)
pub fn matmul_t(x: &[f32], w: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    assert_eq!(x.len(), m * k);
    assert_eq!(w.len(), n * k);
    let mut y = vec![0.0f32; m * n];
    for i in 0..m {
        let xr = &x[i * k..(i + 1) * k];
        for j in 0..n {
            let wr = &w[j * k..(j + 1) * k];
            let mut acc = 0.0f32;
            for t in 0..k {
                acc += xr[t] * wr[t];
            }
            y[i * n + j] = acc;
        }
    }
    y
}

/// in place, x laid out [tokens, heads, head_dim], half-split rotate: x' = x*cos + rotate_half(x)*sin, inv_freq_i = theta^(-2i/head_dim)
///
/// rotate_half(x) = concat(-x[hd/2:], x[:hd/2]); the angle of pair i at
/// position p is p * inv_freq_i (computed in f32, as HF does).
pub fn rope(x: &mut [f32], positions: &[u32], heads: usize, head_dim: usize, theta: f32) {
    assert_eq!(head_dim % 2, 0);
    assert_eq!(x.len(), positions.len() * heads * head_dim);
    let half = head_dim / 2;
    let inv_freq: Vec<f32> = (0..half).map(|i| 1.0 / theta.powf((2 * i) as f32 / head_dim as f32)).collect();
    for (t, &pos) in positions.iter().enumerate() {
        for h in 0..heads {
            let base = (t * heads + h) * head_dim;
            for i in 0..half {
                let ang = pos as f32 * inv_freq[i];
                let (s, c) = ang.sin_cos();
                let a = x[base + i];
                let b = x[base + i + half];
                x[base + i] = a * c - b * s;
                x[base + i + half] = b * c + a * s;
            }
        }
    }
}

/// Shape and masking of one attention call.
#[derive(Clone, Debug, PartialEq)]
pub struct AttnParams {
    /// query heads
    pub heads: usize,
    /// key/value heads (GQA: `heads / kv_heads` query heads share one)
    pub kv_heads: usize,
    pub head_dim: usize,
    /// multiplies the scores: query_pre_attn_scalar^-0.5
    pub scale: f32,
    /// scores = cap * tanh(scores / cap) when set (Gemma2: 50)
    pub softcap: Option<f32>,
    /// sliding window W: key kept only if k_pos > q_pos - W
    pub window: Option<usize>,
}

/// Is key at `k_pos` visible from query at `q_pos` (causal, optional window)?
pub fn attn_keep(q_pos: u32, k_pos: u32, window: Option<usize>) -> bool {
    if k_pos > q_pos {
        return false;
    }
    match window {
        // k_pos > q_pos - W  <=>  k_pos + W > q_pos (no underflow)
        Some(w) => k_pos as u64 + w as u64 > q_pos as u64,
        None => true,
    }
}

/// q [q_len, heads, head_dim], k/v [kv_len, kv_heads, head_dim]; q_pos/k_pos absolute positions; causal (k_pos <= q_pos) and, with a window W, keep key j only if k_pos > q_pos - W; scores*scale, softcap, softmax, P v -> [q_len, heads, head_dim]
///
/// A query that sees no key at all gets a zero output row.
pub fn attention(q: &[f32], k: &[f32], v: &[f32], q_pos: &[u32], k_pos: &[u32], p: &AttnParams) -> Vec<f32> {
    let (h, kvh, d) = (p.heads, p.kv_heads, p.head_dim);
    assert!(kvh > 0 && h % kvh == 0, "heads {h} not a multiple of kv_heads {kvh}");
    let q_len = q_pos.len();
    let kv_len = k_pos.len();
    assert_eq!(q.len(), q_len * h * d);
    assert_eq!(k.len(), kv_len * kvh * d);
    assert_eq!(v.len(), kv_len * kvh * d);
    let group = h / kvh;
    let mut out = vec![0.0f32; q_len * h * d];
    let mut scores = vec![0.0f32; kv_len];
    for i in 0..q_len {
        for hh in 0..h {
            let kh = hh / group;
            let qv = &q[(i * h + hh) * d..(i * h + hh + 1) * d];
            let mut max = f32::NEG_INFINITY;
            for j in 0..kv_len {
                if !attn_keep(q_pos[i], k_pos[j], p.window) {
                    scores[j] = f32::NEG_INFINITY;
                    continue;
                }
                let kv = &k[(j * kvh + kh) * d..(j * kvh + kh + 1) * d];
                let mut s = 0.0f32;
                for t in 0..d {
                    s += qv[t] * kv[t];
                }
                s *= p.scale;
                if let Some(cap) = p.softcap {
                    s = cap * (s / cap).tanh();
                }
                scores[j] = s;
                max = max.max(s);
            }
            if max == f32::NEG_INFINITY {
                continue;
            }
            let mut sum = 0.0f32;
            for s in scores.iter_mut() {
                *s = if *s == f32::NEG_INFINITY { 0.0 } else { (*s - max).exp() };
                sum += *s;
            }
            let o = &mut out[(i * h + hh) * d..(i * h + hh + 1) * d];
            for j in 0..kv_len {
                let pj = scores[j] / sum;
                if pj == 0.0 {
                    continue;
                }
                let vv = &v[(j * kvh + kh) * d..(j * kvh + kh + 1) * d];
                for t in 0..d {
                    o[t] += pj * vv[t];
                }
            }
        }
    }
    out
}

/// gelu with the tanh approximation
///
/// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
pub fn gelu_tanh(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    0.5 * x * (1.0 + (SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)).tanh())
}

/// gelu_tanh(gate) * up, elementwise
pub fn geglu(gate: &[f32], up: &[f32]) -> Vec<f32> {
    assert_eq!(gate.len(), up.len());
    gate.iter().zip(up).map(|(&g, &u)| gelu_tanh(g) * u).collect()
}

/// x = cap * tanh(x / cap), in place
pub fn softcap(x: &mut [f32], cap: f32) {
    for v in x.iter_mut() {
        *v = cap * (*v / cap).tanh();
    }
}

/// a + b, elementwise (the residual add)
pub fn add(a: &[f32], b: &[f32]) -> Vec<f32> {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(&x, &y)| x + y).collect()
}

/// Reference of the batched KV-cache attention (kernels::kv_cache): token i
/// (sequence `tok[i].0`, position `tok[i].1`) attends to rows
/// `s * max_len + j`, j in 0..=p, of the caches k/v [seqs * max_len, kv_heads,
/// head_dim] (window applied as in [`attention`]); q [n, heads, head_dim].
pub fn kv_attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    tok: &[(u32, u32)],
    max_len: usize,
    p: &AttnParams,
) -> Vec<f32> {
    let qrow = p.heads * p.head_dim;
    let krow = p.kv_heads * p.head_dim;
    let mut out = Vec::with_capacity(tok.len() * qrow);
    for (i, &(s, pos)) in tok.iter().enumerate() {
        let a = s as usize * max_len * krow;
        let b = a + (pos as usize + 1) * krow;
        let k_pos: Vec<u32> = (0..=pos).collect();
        out.extend(attention(&q[i * qrow..(i + 1) * qrow], &k[a..b], &v[a..b], &[pos], &k_pos, p));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_rule_keeps_exactly_w_keys() {
        // q at 10, W = 3: keys 8, 9, 10 kept, 7 dropped (no off-by-one W+1).
        let kept: Vec<u32> = (0..=12).filter(|&k| attn_keep(10, k, Some(3))).collect();
        assert_eq!(kept, vec![8, 9, 10]);
        assert!(attn_keep(0, 0, Some(1)));
    }

    #[test]
    fn rms_norm_uses_one_plus_w() {
        let y = rms_norm(&[3.0, 4.0], &[0.0, 1.0], 2, 0.0);
        let r = (12.5f32).sqrt();
        assert!((y[0] - 3.0 / r).abs() < 1e-6 && (y[1] - 8.0 / r).abs() < 1e-6);
    }

    #[test]
    fn rope_position_zero_is_identity_and_norm_preserving() {
        let mut x: Vec<f32> = (0..16).map(|i| i as f32 * 0.3 - 1.0).collect();
        let orig = x.clone();
        rope(&mut x, &[0, 5], 2, 4, 10000.0);
        assert_eq!(&x[..8], &orig[..8]);
        let n0: f32 = orig[8..12].iter().map(|v| v * v).sum();
        let n1: f32 = x[8..12].iter().map(|v| v * v).sum();
        assert!((n0 - n1).abs() < 1e-4);
    }

    #[test]
    fn attention_single_key_returns_v() {
        let p =
            AttnParams { heads: 2, kv_heads: 1, head_dim: 2, scale: 1.0, softcap: Some(50.0), window: None };
        let out = attention(&[1.0, 2.0, 3.0, 4.0], &[0.5, 0.5], &[7.0, 8.0], &[0], &[0], &p);
        assert_eq!(out, vec![7.0, 8.0, 7.0, 8.0]);
    }
}
