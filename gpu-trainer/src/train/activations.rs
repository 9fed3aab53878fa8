//! Activation and gradient buffers of the training step, allocated once for the largest step
//! seen (grown, never shrunk) and used through views of their first rows, like
//! [`crate::model::gemma::Workspace`]. Shapes use n = tokens of the step, H = hidden,
//! QD = heads * head_dim, KD = kv_heads * head_dim, NH = heads, F = intermediate size,
//! C = logits rows per chunk, R = target rows, V = vocab.

use crate::model::Config;
use crate::runtime::Gpu;
use crate::tensor::{DType, Tensor};
use anyhow::{Context, Result, bail};

fn f32t(gpu: &Gpu, name: &str, shape: &[usize]) -> Result<Tensor> {
    Tensor::zeros(gpu, name, shape, DType::F32)
        .with_context(|| format!("allocating activation {name} {shape:?}"))
}

fn u32t(gpu: &Gpu, name: &str, shape: &[usize]) -> Result<Tensor> {
    Tensor::zeros(gpu, name, shape, DType::U32).with_context(|| format!("allocating {name} {shape:?}"))
}

fn bytes(ts: &[&Tensor]) -> u64 {
    ts.iter().map(|t| t.numel() as u64 * t.dtype.size()).sum()
}

/// What one decoder layer's backward needs from its forward.
#[derive(Clone, Debug)]
pub struct LayerActs {
    /// [n, H] RMSNorm_in(x)
    pub hn: Tensor,
    /// [n, QD] h Wq^T before q_norm (Gemma3)
    pub q_raw: Option<Tensor>,
    /// [n, KD] h Wk^T before k_norm (Gemma3)
    pub k_raw: Option<Tensor>,
    /// [n, QD] queries after (q_norm and) RoPE
    pub q: Tensor,
    /// [n, KD] keys after (k_norm and) RoPE
    pub k: Tensor,
    /// [n, KD]
    pub v: Tensor,
    /// [n, QD] attention output
    pub att: Tensor,
    /// [n, NH] log-sum-exp of each query's scores
    pub lse: Tensor,
    /// [n, H] att Wo^T
    pub o: Tensor,
    /// [n, H] x + RMSNorm_post_attn(o)
    pub x_mid: Tensor,
    /// [n, H] RMSNorm_pre_ffw(x_mid)
    pub hn2: Tensor,
    /// [n, F]
    pub gate: Tensor,
    /// [n, F]
    pub up: Tensor,
    /// [n, F] gelu_tanh(gate) * up
    pub mlp: Tensor,
    /// [n, H] mlp Wdown^T
    pub d: Tensor,
}

impl LayerActs {
    fn new(gpu: &Gpu, c: &Config, n: usize) -> Result<LayerActs> {
        let (h, f, qd, kd) = dims(c);
        let opt = |name: &str, w: usize| -> Result<Option<Tensor>> {
            if c.qk_norm { f32t(gpu, name, &[n, w]).map(Some) } else { Ok(None) }
        };
        Ok(LayerActs {
            hn: f32t(gpu, "hn", &[n, h])?,
            q_raw: opt("q_raw", qd)?,
            k_raw: opt("k_raw", kd)?,
            q: f32t(gpu, "q", &[n, qd])?,
            k: f32t(gpu, "k", &[n, kd])?,
            v: f32t(gpu, "v", &[n, kd])?,
            att: f32t(gpu, "att", &[n, qd])?,
            lse: f32t(gpu, "attention lse", &[n, c.num_heads])?,
            o: f32t(gpu, "o", &[n, h])?,
            x_mid: f32t(gpu, "x_mid", &[n, h])?,
            hn2: f32t(gpu, "hn2", &[n, h])?,
            gate: f32t(gpu, "gate", &[n, f])?,
            up: f32t(gpu, "up", &[n, f])?,
            mlp: f32t(gpu, "mlp", &[n, f])?,
            d: f32t(gpu, "d", &[n, h])?,
        })
    }

    /// Views of the first `n` rows.
    pub fn view(&self, n: usize) -> Result<LayerActs> {
        let v = |t: &Tensor| t.rows_view(n);
        Ok(LayerActs {
            hn: v(&self.hn)?,
            q_raw: self.q_raw.as_ref().map(v).transpose()?,
            k_raw: self.k_raw.as_ref().map(v).transpose()?,
            q: v(&self.q)?,
            k: v(&self.k)?,
            v: v(&self.v)?,
            att: v(&self.att)?,
            lse: v(&self.lse)?,
            o: v(&self.o)?,
            x_mid: v(&self.x_mid)?,
            hn2: v(&self.hn2)?,
            gate: v(&self.gate)?,
            up: v(&self.up)?,
            mlp: v(&self.mlp)?,
            d: v(&self.d)?,
        })
    }

    fn bytes(&self) -> u64 {
        let mut ts = vec![
            &self.hn,
            &self.q,
            &self.k,
            &self.v,
            &self.att,
            &self.lse,
            &self.o,
            &self.x_mid,
            &self.hn2,
            &self.gate,
            &self.up,
            &self.mlp,
            &self.d,
        ];
        ts.extend(self.q_raw.iter().chain(&self.k_raw));
        bytes(&ts)
    }
}

/// Gradient scratch of one layer's backward, reused by every layer.
#[derive(Clone, Debug)]
pub struct LayerGrads {
    /// [n, H] dL/d(residual stream), carried from layer to layer
    pub dx: Tensor,
    /// [n, H] dL/d(normed input) of the attention or feed-forward block
    pub dh: Tensor,
    /// [n, H] dL/d(o) or dL/d(d) (the input of a post norm)
    pub dy: Tensor,
    /// [n, QD]
    pub datt: Tensor,
    /// [n, QD]
    pub dq: Tensor,
    /// [n, KD]
    pub dk: Tensor,
    /// [n, KD]
    pub dv: Tensor,
    /// [n, QD] (Gemma3) before q_norm
    pub dq_raw: Option<Tensor>,
    /// [n, KD] (Gemma3) before k_norm
    pub dk_raw: Option<Tensor>,
    /// [n, NH] attention backward scratch
    pub delta: Tensor,
    /// [n, F]
    pub dmlp: Tensor,
    /// [n, F]
    pub dgate: Tensor,
    /// [n, F]
    pub dup: Tensor,
}

impl LayerGrads {
    fn new(gpu: &Gpu, c: &Config, n: usize) -> Result<LayerGrads> {
        let (h, f, qd, kd) = dims(c);
        let opt = |name: &str, w: usize| -> Result<Option<Tensor>> {
            if c.qk_norm { f32t(gpu, name, &[n, w]).map(Some) } else { Ok(None) }
        };
        Ok(LayerGrads {
            dx: f32t(gpu, "dx", &[n, h])?,
            dh: f32t(gpu, "dh", &[n, h])?,
            dy: f32t(gpu, "dy", &[n, h])?,
            datt: f32t(gpu, "datt", &[n, qd])?,
            dq: f32t(gpu, "dq", &[n, qd])?,
            dk: f32t(gpu, "dk", &[n, kd])?,
            dv: f32t(gpu, "dv", &[n, kd])?,
            dq_raw: opt("dq_raw", qd)?,
            dk_raw: opt("dk_raw", kd)?,
            delta: f32t(gpu, "attention delta", &[n, c.num_heads])?,
            dmlp: f32t(gpu, "dmlp", &[n, f])?,
            dgate: f32t(gpu, "dgate", &[n, f])?,
            dup: f32t(gpu, "dup", &[n, f])?,
        })
    }

    /// Views of the first `n` rows.
    pub fn view(&self, n: usize) -> Result<LayerGrads> {
        let v = |t: &Tensor| t.rows_view(n);
        Ok(LayerGrads {
            dx: v(&self.dx)?,
            dh: v(&self.dh)?,
            dy: v(&self.dy)?,
            datt: v(&self.datt)?,
            dq: v(&self.dq)?,
            dk: v(&self.dk)?,
            dv: v(&self.dv)?,
            dq_raw: self.dq_raw.as_ref().map(v).transpose()?,
            dk_raw: self.dk_raw.as_ref().map(v).transpose()?,
            delta: v(&self.delta)?,
            dmlp: v(&self.dmlp)?,
            dgate: v(&self.dgate)?,
            dup: v(&self.dup)?,
        })
    }

    fn bytes(&self) -> u64 {
        let mut ts = vec![
            &self.dx,
            &self.dh,
            &self.dy,
            &self.datt,
            &self.dq,
            &self.dk,
            &self.dv,
            &self.delta,
            &self.dmlp,
            &self.dgate,
            &self.dup,
        ];
        ts.extend(self.dq_raw.iter().chain(&self.dk_raw));
        bytes(&ts)
    }
}

/// The per-token buffers of a step: inputs, the residual stream between layers, each layer's
/// saved activations (one set, recomputed per layer, with checkpointing) and the backward scratch.
#[derive(Debug)]
pub struct Body {
    /// capacity in tokens
    pub tokens: usize,
    /// [n] u32 token ids
    pub ids: Tensor,
    /// [n] u32 position of each token in its sequence
    pub pos: Tensor,
    /// one [n, head_dim/2, 2] cos/sin table per distinct RoPE theta
    pub rope: Vec<Tensor>,
    /// L + 1 residual streams [n, H]: xs[l] is layer l's input, xs[L] the last layer's output
    pub xs: Vec<Tensor>,
    /// L sets (or 1 with checkpointing)
    pub layers: Vec<LayerActs>,
    pub grads: LayerGrads,
}

impl Body {
    /// Buffers for up to `n` tokens; `act_sets` = L, or 1 with checkpointing.
    pub fn new(gpu: &Gpu, c: &Config, thetas: usize, n: usize, act_sets: usize) -> Result<Body> {
        let n = n.max(1);
        let (h, f, qd, kd) = dims(c);
        let widest = h.max(f).max(qd).max(kd) as u64 * 4;
        if n as u64 * widest > gpu.max_binding() {
            bail!(
                "{n} tokens need {} bytes per widest activation ([n, {}] f32), over the {}-byte storage \
                 binding limit: at most {} tokens per step (lower TrainOptions::max_tokens)",
                n as u64 * widest,
                widest / 4,
                gpu.max_binding(),
                gpu.max_binding() / widest
            );
        }
        Ok(Body {
            tokens: n,
            ids: u32t(gpu, "ids", &[n])?,
            pos: u32t(gpu, "positions", &[n])?,
            rope: (0..thetas)
                .map(|_| f32t(gpu, "rope cos/sin", &[n, c.head_dim / 2, 2]))
                .collect::<Result<_>>()?,
            xs: (0..=c.num_layers).map(|_| f32t(gpu, "x", &[n, c.hidden_size])).collect::<Result<_>>()?,
            layers: (0..act_sets).map(|_| LayerActs::new(gpu, c, n)).collect::<Result<_>>()?,
            grads: LayerGrads::new(gpu, c, n)?,
        })
    }

    /// Bytes held.
    pub fn bytes(&self) -> u64 {
        let mut total = bytes(&[&self.ids, &self.pos]);
        total += bytes(&self.rope.iter().chain(&self.xs).collect::<Vec<_>>());
        total += self.layers.iter().map(LayerActs::bytes).sum::<u64>();
        total + self.grads.bytes()
    }
}

/// The head's buffers: the target rows of the whole step ([R]) and one logits chunk ([C, ..]).
#[derive(Debug)]
pub struct Head {
    /// capacity in target rows
    pub rows: usize,
    /// rows per chunk
    pub chunk: usize,
    /// [R] u32 packed row predicting each target
    pub row_idx: Tensor,
    /// [R] u32 target ids
    pub targets: Tensor,
    /// [R] f32 loss coefficient of each target
    pub coef: Tensor,
    /// [R] f32 log p(target)
    pub logprob: Tensor,
    /// [C] u32 this chunk's rows
    pub c_rows: Tensor,
    /// [C] u32
    pub c_targets: Tensor,
    /// [C] f32
    pub c_coef: Tensor,
    /// [C] f32 log-sum-exp of each logits row
    pub c_lse: Tensor,
    /// [C] f32
    pub c_logprob: Tensor,
    /// [C, H] the rows' final hidden states, before the final norm
    pub xs: Tensor,
    /// [C, H] after the final norm
    pub xn: Tensor,
    /// [C, H] dL/d(xn)
    pub dxn: Tensor,
    /// [C, H] dL/d(xs)
    pub dxs: Tensor,
    /// [C, V] logits, then (in place) dL/d(logits before the cap)
    pub logits: Tensor,
    /// [R] f32 the value head's xn . w of every target row (the bias is added on the host)
    pub values: Tensor,
    /// [R] f32 dL/dV of every target row (zero but at the rows whose value is in the loss)
    pub dvalues: Tensor,
    /// [C, 1] this chunk's xn . w
    pub c_value: Tensor,
    /// [C, 1] this chunk's dL/dV
    pub c_dvalue: Tensor,
    /// [C, 1] ones: dbias = dV^T ones
    pub ones: Tensor,
}

impl Head {
    /// Buffers for up to `rows` targets, `chunk` logits rows at a time (fewer when a
    /// [chunk, V] f32 buffer would not fit one storage binding).
    pub fn new(gpu: &Gpu, c: &Config, rows: usize, chunk: usize) -> Result<Head> {
        let fit = (gpu.max_binding() / (c.vocab_size as u64 * 4)) as usize;
        if fit == 0 {
            bail!(
                "one logits row ({} f32) does not fit a storage binding of {} bytes",
                c.vocab_size,
                gpu.max_binding()
            );
        }
        let r = rows.max(1);
        let (ch, h) = (chunk.min(fit).clamp(1, r), c.hidden_size);
        Ok(Head {
            rows: r,
            chunk: ch,
            row_idx: u32t(gpu, "target rows", &[r])?,
            targets: u32t(gpu, "targets", &[r])?,
            coef: f32t(gpu, "loss coefficients", &[r])?,
            logprob: f32t(gpu, "target logprobs", &[r])?,
            c_rows: u32t(gpu, "chunk rows", &[ch])?,
            c_targets: u32t(gpu, "chunk targets", &[ch])?,
            c_coef: f32t(gpu, "chunk coefficients", &[ch])?,
            c_lse: f32t(gpu, "chunk lse", &[ch])?,
            c_logprob: f32t(gpu, "chunk logprobs", &[ch])?,
            xs: f32t(gpu, "head x", &[ch, h])?,
            xn: f32t(gpu, "head x normed", &[ch, h])?,
            dxn: f32t(gpu, "head dxn", &[ch, h])?,
            dxs: f32t(gpu, "head dx", &[ch, h])?,
            logits: f32t(gpu, "logits chunk", &[ch, c.vocab_size])?,
            values: f32t(gpu, "target row values", &[r])?,
            dvalues: f32t(gpu, "target row value gradients", &[r])?,
            c_value: f32t(gpu, "chunk values", &[ch, 1])?,
            c_dvalue: f32t(gpu, "chunk value gradients", &[ch, 1])?,
            ones: Tensor::from_f32(gpu, "ones", &[ch, 1], DType::F32, &vec![1.0; ch])
                .context("allocating the ones column")?,
        })
    }

    /// Bytes held.
    pub fn bytes(&self) -> u64 {
        bytes(&[
            &self.row_idx,
            &self.targets,
            &self.coef,
            &self.logprob,
            &self.c_rows,
            &self.c_targets,
            &self.c_coef,
            &self.c_lse,
            &self.c_logprob,
            &self.xs,
            &self.xn,
            &self.dxn,
            &self.dxs,
            &self.logits,
            &self.values,
            &self.dvalues,
            &self.c_value,
            &self.c_dvalue,
            &self.ones,
        ])
    }
}

/// (H, F, QD, KD)
fn dims(c: &Config) -> (usize, usize, usize, usize) {
    (c.hidden_size, c.intermediate_size, c.num_heads * c.head_dim, c.num_kv_heads * c.head_dim)
}
