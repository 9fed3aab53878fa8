//! CPU f32 reference of the training attention over PACKED sequences (ground truth for
//! `kernels::attention::packed_forward` / `packed_backward`): rows are tokens, sequences are
//! contiguous and `pos` restarts at 0 for each one. Query row i sees key rows j in
//! [i - pos[i], i] that [`attn_keep`] keeps (causal, optional window on positions).
//! Per head: s = cap(q.k * scale), P = exp(s - lse), out = P v; backward with
//! delta_i = dout_i . out_i: dS_ij = P_ij (dout_i . v_j - delta_i) (times 1 - (s/cap)^2 when
//! capped), dq_i = scale sum_j dS_ij k_j, dk_j = scale sum_i dS_ij q_i, dv_j = sum_i P_ij dout_i
//! (dk, dv summed over the query heads of the GQA group).

use super::ops::{AttnParams, attn_keep};

/// Gradients of the packed attention.
#[derive(Clone, Debug)]
pub struct AttnGrads {
    /// [n, heads * head_dim]
    pub dq: Vec<f32>,
    /// [n, kv_heads * head_dim]
    pub dk: Vec<f32>,
    /// [n, kv_heads * head_dim]
    pub dv: Vec<f32>,
}

/// Panics unless `pos` follows the packing rule (each entry 0 or the previous + 1) and the
/// tensors have the shapes of `p`; returns n.
fn check(q: &[f32], k: &[f32], v: &[f32], pos: &[u32], p: &AttnParams) -> usize {
    let (h, kvh, d) = (p.heads, p.kv_heads, p.head_dim);
    assert!(kvh > 0 && h % kvh == 0, "heads {h} not a multiple of kv_heads {kvh}");
    let n = pos.len();
    for i in 0..n {
        assert!(
            pos[i] == 0 || (i > 0 && pos[i] == pos[i - 1] + 1),
            "pos[{i}] = {} breaks the packing rule",
            pos[i]
        );
    }
    assert_eq!(q.len(), n * h * d, "q");
    assert_eq!(k.len(), n * kvh * d, "k");
    assert_eq!(v.len(), n * kvh * d, "v");
    n
}

/// Key rows visible from query row i.
fn visible(pos: &[u32], i: usize, window: Option<usize>) -> impl Iterator<Item = usize> + '_ {
    (i - pos[i] as usize..=i).filter(move |&j| attn_keep(pos[i], pos[j], window))
}

/// Capped, scaled score of query head `qh` of row i against kv head `kh` of row j.
fn score(q: &[f32], k: &[f32], i: usize, qh: usize, j: usize, kh: usize, p: &AttnParams) -> f32 {
    let d = p.head_dim;
    let qv = &q[(i * p.heads + qh) * d..][..d];
    let kv = &k[(j * p.kv_heads + kh) * d..][..d];
    let mut s = 0.0f32;
    for t in 0..d {
        s += qv[t] * kv[t];
    }
    s *= p.scale;
    match p.softcap {
        Some(cap) => cap * (s / cap).tanh(),
        None => s,
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Packed attention forward: q [n, heads*hd], k/v [n, kv_heads*hd], pos [n] ->
/// (out [n, heads*hd], lse [n, heads]) where lse is the log-sum-exp of the capped, scaled scores
/// of the visible keys.
pub fn packed_forward(q: &[f32], k: &[f32], v: &[f32], pos: &[u32], p: &AttnParams) -> (Vec<f32>, Vec<f32>) {
    let n = check(q, k, v, pos, p);
    let (h, d, group) = (p.heads, p.head_dim, p.heads / p.kv_heads);
    let mut out = vec![0.0f32; n * h * d];
    let mut lse = vec![0.0f32; n * h];
    for i in 0..n {
        for qh in 0..h {
            let kh = qh / group;
            let keys: Vec<(usize, f32)> =
                visible(pos, i, p.window).map(|j| (j, score(q, k, i, qh, j, kh, p))).collect();
            let max = keys.iter().fold(f32::NEG_INFINITY, |m, &(_, s)| m.max(s));
            let sum: f32 = keys.iter().map(|&(_, s)| (s - max).exp()).sum();
            let o = &mut out[(i * h + qh) * d..][..d];
            for &(j, s) in &keys {
                let pj = (s - max).exp() / sum;
                let vv = &v[(j * p.kv_heads + kh) * d..][..d];
                for t in 0..d {
                    o[t] += pj * vv[t];
                }
            }
            lse[i * h + qh] = max + sum.ln();
        }
    }
    (out, lse)
}

/// Packed attention backward from the forward's `out` and `lse` and the gradient `dout`
/// [n, heads*hd]: (dq, dk, dv), the probabilities recomputed as exp(s - lse).
#[allow(clippy::too_many_arguments)]
pub fn packed_backward(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    pos: &[u32],
    out: &[f32],
    lse: &[f32],
    dout: &[f32],
    p: &AttnParams,
) -> AttnGrads {
    let n = check(q, k, v, pos, p);
    let (h, kvh, d, group) = (p.heads, p.kv_heads, p.head_dim, p.heads / p.kv_heads);
    assert_eq!(out.len(), n * h * d, "out");
    assert_eq!(dout.len(), n * h * d, "dout");
    assert_eq!(lse.len(), n * h, "lse");
    let mut g =
        AttnGrads { dq: vec![0.0; n * h * d], dk: vec![0.0; n * kvh * d], dv: vec![0.0; n * kvh * d] };
    for i in 0..n {
        for qh in 0..h {
            let kh = qh / group;
            let row = (i * h + qh) * d;
            let (qi, doi) = (&q[row..][..d], &dout[row..][..d]);
            let delta = dot(doi, &out[row..][..d]);
            for j in visible(pos, i, p.window) {
                let kv_row = (j * kvh + kh) * d;
                let s = score(q, k, i, qh, j, kh, p);
                let pij = (s - lse[i * h + qh]).exp();
                let dp = dot(doi, &v[kv_row..][..d]);
                let mut ds = pij * (dp - delta);
                if let Some(cap) = p.softcap {
                    let y = s / cap;
                    ds *= 1.0 - y * y;
                }
                for t in 0..d {
                    g.dq[row + t] += p.scale * ds * k[kv_row + t];
                    g.dk[kv_row + t] += p.scale * ds * qi[t];
                    g.dv[kv_row + t] += pij * doi[t];
                }
            }
        }
    }
    g
}
