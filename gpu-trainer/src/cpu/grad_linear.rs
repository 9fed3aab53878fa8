//! CPU f32 reference backward of the linear ops (llm.c style, each beside the forward it
//! inverts in [`super::ops`]): matmul (Y = X W^T), embedding gather, RoPE. Ground truth for the
//! backward kernels of `kernels::{matmul, embedding, rope}`; checked against finite differences
//! of the forwards in tests/kernels_backward_linear.rs.

use crate::kernels::rope::cos_sin_table;

/// Backward of [`super::ops::matmul_t`] for the input: dX = dY W.
/// `dy` [m, n], `w` [n, k] -> dx [m, k].
pub fn matmul_t_backward_input(dy: &[f32], w: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    assert_eq!(dy.len(), m * n);
    assert_eq!(w.len(), n * k);
    let mut dx = vec![0.0f32; m * k];
    for i in 0..m {
        let dxr = &mut dx[i * k..(i + 1) * k];
        for j in 0..n {
            let g = dy[i * n + j];
            for (d, &wv) in dxr.iter_mut().zip(&w[j * k..(j + 1) * k]) {
                *d += g * wv;
            }
        }
    }
    dx
}

/// Backward of [`super::ops::matmul_t`] for the weight: dW = dY^T X.
/// `dy` [m, n], `x` [m, k] -> dw [n, k].
pub fn matmul_t_backward_weight(dy: &[f32], x: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    assert_eq!(dy.len(), m * n);
    assert_eq!(x.len(), m * k);
    let mut dw = vec![0.0f32; n * k];
    for i in 0..m {
        let xr = &x[i * k..(i + 1) * k];
        for j in 0..n {
            let g = dy[i * n + j];
            for (d, &xv) in dw[j * k..(j + 1) * k].iter_mut().zip(xr) {
                *d += g * xv;
            }
        }
    }
    dw
}

/// Backward of [`super::ops::embedding`] (y[t] = table[ids[t]] * scale), accumulating:
/// d_table[id, :] += scale * (sum of dy[t, :] over the tokens t with that id, in token order).
/// `dy` [tokens, hidden], `d_table` [vocab, hidden].
pub fn embedding_backward(ids: &[u32], dy: &[f32], d_table: &mut [f32], hidden: usize, scale: f32) {
    assert_eq!(dy.len(), ids.len() * hidden);
    let vocab = d_table.len() / hidden;
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_key(|&t| (ids[t], t));
    let mut s = 0;
    while s < order.len() {
        let id = ids[order[s]] as usize;
        assert!(id < vocab, "token id {id} outside the embedding table of {vocab} rows");
        let e = s + order[s..].iter().take_while(|&&t| ids[t] as usize == id).count();
        for j in 0..hidden {
            let sum: f32 = order[s..e].iter().map(|&t| dy[t * hidden + j]).sum();
            d_table[id * hidden + j] += scale * sum;
        }
        s = e;
    }
}

/// Backward of [`super::ops::rope`], in place on `dx` [tokens, heads, head_dim]: the forward
/// rotates each half-split pair (a, b) = (x[i], x[i + half]) by +angle,
/// (a c - b s, b c + a s); its transpose rotates by -angle: (a c + b s, b c - a s).
pub fn rope_backward(dx: &mut [f32], positions: &[u32], heads: usize, head_dim: usize, theta: f32) {
    assert_eq!(head_dim % 2, 0);
    assert_eq!(dx.len(), positions.len() * heads * head_dim);
    let half = head_dim / 2;
    let cs = cos_sin_table(positions, head_dim, theta);
    for (t, cs_t) in cs.chunks_exact(head_dim).enumerate() {
        for h in 0..heads {
            let base = (t * heads + h) * head_dim;
            for i in 0..half {
                let (c, s) = (cs_t[2 * i], cs_t[2 * i + 1]);
                let a = dx[base + i];
                let b = dx[base + i + half];
                dx[base + i] = a * c + b * s;
                dx[base + i + half] = b * c - a * s;
            }
        }
    }
}
