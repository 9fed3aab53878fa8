//! One decoder layer's training forward and backward, side by side (llm.c style), recorded into
//! a [`Batch`] over packed sequences (SPEC section 9; the inference twin is
//! [`crate::model::gemma`]).
//!
//! Forward: hn = RMSNorm_in(x); q, k, v = hn W^T (Gemma3: per-head q_norm / k_norm); RoPE;
//! packed causal attention (window on local layers); o = att Wo^T; x_mid = x + RMSNorm_pa(o);
//! hn2 = RMSNorm_pf(x_mid); mlp = gelu_tanh(hn2 Wg^T) * (hn2 Wu^T); d = mlp Wd^T;
//! x_out = x_mid + RMSNorm_pff(d).
//!
//! Backward walks the same steps in reverse: `dx` enters holding dL/dx_out and leaves holding
//! dL/dx; every weight gradient is ACCUMULATED into its [`Param::grad`].

use super::activations::{LayerActs, LayerGrads};
use super::param::Param;
use crate::cpu::ops::AttnParams;
use crate::kernels::rope::RopeTable;
use crate::kernels::{attention, elementwise, matmul, rmsnorm, rope};
use crate::model::{Config, LayerConfig};
use crate::runtime::Batch;
use crate::tensor::Tensor;
use anyhow::Result;

/// One layer's parameters.
#[derive(Clone, Copy, Debug)]
pub struct LayerParams<'a> {
    pub input_layernorm: &'a Param,
    pub q_proj: &'a Param,
    pub k_proj: &'a Param,
    pub v_proj: &'a Param,
    pub o_proj: &'a Param,
    /// (Gemma3) q_norm and k_norm
    pub qk_norm: Option<(&'a Param, &'a Param)>,
    pub post_attention_layernorm: &'a Param,
    pub pre_feedforward_layernorm: &'a Param,
    pub gate_proj: &'a Param,
    pub up_proj: &'a Param,
    pub down_proj: &'a Param,
    pub post_feedforward_layernorm: &'a Param,
}

/// Everything a layer's recording needs besides its buffers.
#[derive(Clone, Copy, Debug)]
pub struct LayerCtx<'a> {
    pub config: &'a Config,
    pub layer: &'a LayerConfig,
    pub w: LayerParams<'a>,
    /// cos/sin of this layer's theta at the step's positions
    pub rope: &'a RopeTable,
    /// [n] u32 positions (restart at 0 per packed sequence)
    pub pos: &'a Tensor,
}

impl LayerCtx<'_> {
    fn attn(&self) -> AttnParams {
        let c = self.config;
        AttnParams {
            heads: c.num_heads,
            kv_heads: c.num_kv_heads,
            head_dim: c.head_dim,
            scale: c.attn_scale(),
            softcap: c.attn_softcap,
            window: self.layer.window,
        }
    }
}

/// dst = src (whole views, same size).
fn copy(b: &mut Batch<'_>, src: &Tensor, dst: &Tensor) -> Result<()> {
    let bytes = (src.numel() * 4) as u64;
    b.copy(src.buffer("copy")?, 0, dst.buffer("copy")?, 0, bytes);
    Ok(())
}

/// Record the forward of one layer from `x` [n, H] into `a`; with `x_out` [n, H] also the
/// layer's output (a recomputation for the backward passes None: it needs only `a`).
pub fn forward(
    b: &mut Batch<'_>,
    ctx: &LayerCtx<'_>,
    x: &Tensor,
    a: &LayerActs,
    x_out: Option<&Tensor>,
) -> Result<()> {
    let c = ctx.config;
    let w = &ctx.w;
    let eps = c.rms_norm_eps;
    // attention block
    rmsnorm::forward(b, x, &w.input_layernorm.value, &a.hn, eps)?;
    match (w.qk_norm, &a.q_raw, &a.k_raw) {
        (Some((qn, kn)), Some(q_raw), Some(k_raw)) => {
            matmul::forward(b, &a.hn, &w.q_proj.value, q_raw)?;
            matmul::forward(b, &a.hn, &w.k_proj.value, k_raw)?;
            rmsnorm::forward(b, q_raw, &qn.value, &a.q, eps)?;
            rmsnorm::forward(b, k_raw, &kn.value, &a.k, eps)?;
        }
        _ => {
            matmul::forward(b, &a.hn, &w.q_proj.value, &a.q)?;
            matmul::forward(b, &a.hn, &w.k_proj.value, &a.k)?;
        }
    }
    matmul::forward(b, &a.hn, &w.v_proj.value, &a.v)?;
    rope::forward(b, &a.q, ctx.rope, c.num_heads)?;
    rope::forward(b, &a.k, ctx.rope, c.num_kv_heads)?;
    attention::packed_forward(b, &a.q, &a.k, &a.v, ctx.pos, &a.att, &a.lse, &ctx.attn())?;
    matmul::forward(b, &a.att, &w.o_proj.value, &a.o)?;
    copy(b, x, &a.x_mid)?;
    rmsnorm::residual_forward(b, &a.o, &w.post_attention_layernorm.value, &a.x_mid, eps)?;

    // feed-forward block
    rmsnorm::forward(b, &a.x_mid, &w.pre_feedforward_layernorm.value, &a.hn2, eps)?;
    matmul::forward(b, &a.hn2, &w.gate_proj.value, &a.gate)?;
    matmul::forward(b, &a.hn2, &w.up_proj.value, &a.up)?;
    elementwise::geglu_forward(b, &a.gate, &a.up, &a.mlp)?;
    matmul::forward(b, &a.mlp, &w.down_proj.value, &a.d)?;
    if let Some(x_out) = x_out {
        copy(b, &a.x_mid, x_out)?;
        rmsnorm::residual_forward(b, &a.d, &w.post_feedforward_layernorm.value, x_out, eps)?;
    }
    Ok(())
}

/// Record the backward of one layer whose input was `x` and whose activations are `a`:
/// `g.dx` holds dL/d(output) on entry and dL/dx on exit; weight gradients accumulate.
pub fn backward(
    b: &mut Batch<'_>,
    ctx: &LayerCtx<'_>,
    x: &Tensor,
    a: &LayerActs,
    g: &LayerGrads,
) -> Result<()> {
    let c = ctx.config;
    let w = &ctx.w;
    let eps = c.rms_norm_eps;
    // feed-forward block: x_out = x_mid + RMSNorm_pff(d)
    let pff = w.post_feedforward_layernorm;
    rmsnorm::backward(b, &a.d, &pff.value, &g.dx, &g.dy, &pff.grad, eps, false)?;
    matmul::backward_weight(b, &g.dy, &a.mlp, &w.down_proj.grad, true)?;
    matmul::backward_input(b, &g.dy, &w.down_proj.value, &g.dmlp, false)?;
    elementwise::geglu_backward(b, &a.gate, &a.up, &g.dmlp, &g.dgate, &g.dup)?;
    matmul::backward_weight(b, &g.dgate, &a.hn2, &w.gate_proj.grad, true)?;
    matmul::backward_weight(b, &g.dup, &a.hn2, &w.up_proj.grad, true)?;
    matmul::backward_input(b, &g.dgate, &w.gate_proj.value, &g.dh, false)?;
    matmul::backward_input(b, &g.dup, &w.up_proj.value, &g.dh, true)?;
    let pf = w.pre_feedforward_layernorm;
    rmsnorm::backward(b, &a.x_mid, &pf.value, &g.dh, &g.dx, &pf.grad, eps, true)?;

    // attention block: x_mid = x + RMSNorm_pa(o)
    let pa = w.post_attention_layernorm;
    rmsnorm::backward(b, &a.o, &pa.value, &g.dx, &g.dy, &pa.grad, eps, false)?;
    matmul::backward_weight(b, &g.dy, &a.att, &w.o_proj.grad, true)?;
    matmul::backward_input(b, &g.dy, &w.o_proj.value, &g.datt, false)?;
    attention::packed_backward(
        b,
        &a.q,
        &a.k,
        &a.v,
        ctx.pos,
        &a.att,
        &a.lse,
        &g.datt,
        &g.delta,
        &g.dq,
        &g.dk,
        &g.dv,
        &ctx.attn(),
    )?;
    rope::backward(b, &g.dq, ctx.rope, c.num_heads)?;
    rope::backward(b, &g.dk, ctx.rope, c.num_kv_heads)?;
    let (dq, dk) = match (w.qk_norm, &a.q_raw, &a.k_raw, &g.dq_raw, &g.dk_raw) {
        (Some((qn, kn)), Some(q_raw), Some(k_raw), Some(dq_raw), Some(dk_raw)) => {
            rmsnorm::backward(b, q_raw, &qn.value, &g.dq, dq_raw, &qn.grad, eps, false)?;
            rmsnorm::backward(b, k_raw, &kn.value, &g.dk, dk_raw, &kn.grad, eps, false)?;
            (dq_raw, dk_raw)
        }
        _ => (&g.dq, &g.dk),
    };
    matmul::backward_weight(b, dq, &a.hn, &w.q_proj.grad, true)?;
    matmul::backward_weight(b, dk, &a.hn, &w.k_proj.grad, true)?;
    matmul::backward_weight(b, &g.dv, &a.hn, &w.v_proj.grad, true)?;
    matmul::backward_input(b, dq, &w.q_proj.value, &g.dh, false)?;
    matmul::backward_input(b, dk, &w.k_proj.value, &g.dh, true)?;
    matmul::backward_input(b, &g.dv, &w.v_proj.value, &g.dh, true)?;
    let pin = w.input_layernorm;
    rmsnorm::backward(b, x, &pin.value, &g.dh, &g.dx, &pin.grad, eps, true)?;
    Ok(())
}
