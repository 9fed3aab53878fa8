//! The LM head and the loss over TARGET rows only, chunk by chunk (a [C, V] logits buffer is
//! reused, so a 256000-word vocabulary never needs [R, V]): per chunk, gather the rows'
//! final hidden states, final RMSNorm, logits = xn E^T, softcap, log-softmax at the target
//! (xent forward); for the backward also dL/dlogits = coef * (softmax - onehot) (through the
//! cap), dxn = dlogits E, dE += dlogits^T xn, the final norm's backward, and the rows' gradient
//! scattered into the residual-stream gradient.
//!
//! With a value head (RL with GAE), the same normed rows also give V = xn w^T (+ the bias, added
//! on the host) in the log-prob pass, and in the backward dL/dV adds dV w into dxn (before the
//! final norm's backward: the value's gradient reaches the trunk through the shared rows),
//! dV^T xn into dw and sum dV into the bias gradient.

use super::activations::Head;
use super::param::Param;
use crate::kernels::{elementwise, embedding, kv_cache, matmul, rmsnorm, xent};
use crate::runtime::Batch;
use crate::tensor::Tensor;
use anyhow::Result;

/// What the head records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadPass {
    /// logits and log-probs of the targets only
    Logprobs,
    /// log-probs, then the gradients of sum_r coef[r] * (-logprob[r])
    Backward,
}

/// The head's parameters and settings.
#[derive(Clone, Copy, Debug)]
pub struct HeadParams<'a> {
    /// model.norm.weight [H]
    pub norm: &'a Param,
    /// the LM head [V, H] (the embedding table when tied)
    pub weight: &'a Param,
    pub eps: f32,
    pub final_softcap: Option<f32>,
    /// the value head (`value_head.weight` [1, H], `value_head.bias` [1]), when the model has one
    pub value: Option<ValueParams<'a>>,
}

/// The value head's parameters.
#[derive(Clone, Copy, Debug)]
pub struct ValueParams<'a> {
    /// `value_head.weight` [1, H]
    pub weight: &'a Param,
    /// `value_head.bias` [1]
    pub bias: &'a Param,
}

/// Copy `rows` u32/f32 words from `src` at word `at` to the start of `dst`.
fn copy_words(b: &mut Batch<'_>, src: &Tensor, at: usize, dst: &Tensor, rows: usize) -> Result<()> {
    b.copy(src.buffer("head")?, (at * 4) as u64, dst.buffer("head")?, 0, (rows * 4) as u64);
    Ok(())
}

/// Record the head over the `r` target rows of `x_last` [n, H] (the last layer's output).
/// `head.row_idx`, `targets` (and for [`HeadPass::Backward`] `coef`) must hold this step's
/// values; `head.logprob` receives log p(target) [r]. For the backward `dx` [n, H] is zeroed,
/// then receives dL/d(x_last) on the target rows. With a value head, `head.values` receives
/// xn w^T of every target row, and the backward takes dL/dV from `head.dvalues` when
/// `value_backward` is set.
#[allow(clippy::too_many_arguments)]
pub fn record(
    b: &mut Batch<'_>,
    w: &HeadParams<'_>,
    head: &Head,
    x_last: &Tensor,
    r: usize,
    pass: HeadPass,
    dx: Option<&Tensor>,
    value_backward: bool,
) -> Result<()> {
    if let Some(dx) = dx {
        b.clear_tensor(dx);
    }
    let mut c0 = 0;
    while c0 < r {
        let cr = head.chunk.min(r - c0);
        let rows = head.c_rows.rows_view(cr)?;
        let targets = head.c_targets.rows_view(cr)?;
        let lse = head.c_lse.rows_view(cr)?;
        let logprob = head.c_logprob.rows_view(cr)?;
        let xs = head.xs.rows_view(cr)?;
        let xn = head.xn.rows_view(cr)?;
        let logits = head.logits.rows_view(cr)?;
        copy_words(b, &head.row_idx, c0, &rows, cr)?;
        copy_words(b, &head.targets, c0, &targets, cr)?;

        kv_cache::gather_rows(b, x_last, &rows, &xs)?;
        rmsnorm::forward(b, &xs, &w.norm.value, &xn, w.eps)?;
        matmul::forward(b, &xn, &w.weight.value, &logits)?;
        if let Some(cap) = w.final_softcap {
            elementwise::softcap_forward(b, &logits, cap)?;
        }
        xent::forward(b, &logits, &targets, &lse, &logprob)?;
        b.copy(logprob.buffer("head")?, 0, head.logprob.buffer("head")?, (c0 * 4) as u64, (cr * 4) as u64);
        let c_value = head.c_value.rows_view(cr)?; // [cr, 1]
        if let (Some(v), HeadPass::Logprobs) = (&w.value, pass) {
            matmul::forward(b, &xn, &v.weight.value, &c_value)?; // [cr, H] x [1, H]^T
            b.copy(c_value.buffer("head")?, 0, head.values.buffer("head")?, (c0 * 4) as u64, (cr * 4) as u64);
        }

        if pass == HeadPass::Backward {
            let dx = dx.ok_or_else(|| anyhow::anyhow!("head backward without a dx buffer"))?;
            let coef = head.c_coef.rows_view(cr)?;
            let dxn = head.dxn.rows_view(cr)?;
            let dxs = head.dxs.rows_view(cr)?;
            copy_words(b, &head.coef, c0, &coef, cr)?;
            xent::backward(b, &logits, &targets, &lse, &coef, w.final_softcap)?;
            matmul::backward_input(b, &logits, &w.weight.value, &dxn, false)?;
            matmul::backward_weight(b, &logits, &xn, &w.weight.grad, true)?;
            if let (Some(v), true) = (&w.value, value_backward) {
                let dv = head.c_dvalue.rows_view(cr)?; // [cr, 1]
                copy_words(b, &head.dvalues, c0, &dv, cr)?;
                matmul::backward_input(b, &dv, &v.weight.value, &dxn, true)?; // dxn += dV w
                matmul::backward_weight(b, &dv, &xn, &v.weight.grad, true)?; // dw += dV^T xn
                let ones = head.ones.rows_view(cr)?;
                matmul::backward_weight(b, &dv, &ones, &v.bias.grad, true)?; // db += sum dV
            }
            rmsnorm::backward(b, &xs, &w.norm.value, &dxn, &dxs, &w.norm.grad, w.eps, false)?;
            embedding::scatter_rows(b, &dxs, &rows, dx)?;
        }
        c0 += cr;
    }
    Ok(())
}
