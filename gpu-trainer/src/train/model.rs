//! [`TrainModel`]: a Gemma2 / Gemma3-text model in f32 master weights on the GPU, with a
//! gradient per parameter, and the training step over packed sequences: forward (keeping what
//! the backward needs, or only each layer's input with checkpointing), the chunked loss over
//! the target rows, the backward through the layers and the embedding. Gradients ACCUMULATE
//! (micro-batches) until [`TrainModel::zero_grads`].

use super::activations::{Body, Head};
use super::head::{self, HeadParams, HeadPass, ValueParams};
use super::layer::{self, LayerCtx, LayerParams};
use super::param::Param;
use super::sequence::{Packed, Sequence};
use crate::kernels::rope::RopeTable;
use crate::kernels::{attention, embedding};
use crate::model::weights::expected_tensors;
use crate::model::{Config, Weights};
use crate::runtime::{Batch, Gpu};
use anyhow::{Context, Result, bail};
use std::collections::HashMap;

/// How the training step runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrainOptions {
    /// Keep only each layer's input in the forward and recompute the layer's activations in
    /// the backward (memory ~ L x [n, H] instead of L x all activations; one more forward).
    pub checkpointing: bool,
    /// Target rows per logits chunk ([chunk, vocab] f32 is the largest head buffer).
    pub loss_chunk_rows: usize,
    /// Most tokens one call may pack (after cutting each sequence after its last target).
    pub max_tokens: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions { checkpointing: false, loss_chunk_rows: 256, max_tokens: 8192 }
    }
}

/// What one forward/backward saw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepStats {
    /// sum over targets of weight * (-log p(target)) (the sequences' weights, also in
    /// [`TrainModel::forward_backward_with`], whatever coefficients the backward used)
    pub loss: f64,
    /// number of targets (positions with weight != 0)
    pub target_tokens: usize,
    /// tokens run through the model (each sequence cut after its last target's predicting row)
    pub tokens: usize,
    /// per sequence, per position t >= 1 with weight != 0 (in order): log p(ids[t] | ids[..t])
    pub token_logprobs: Vec<Vec<f32>>,
}

/// What the log-prob pass of an RL step gives its callback.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RlForward {
    /// per sequence, per target (in order): log p(target)
    pub logprobs: Vec<Vec<f32>>,
    /// per sequence, with a value head: V = value_head(final-norm hidden state) at the row that
    /// predicts its first target (the last prompt token when the targets are a completion)
    pub values: Option<Vec<f32>>,
}

/// What an RL step's callback gives the backward.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RlBackward {
    /// per sequence, per target: the coefficient of -log p(target) in the loss
    pub coef: Vec<Vec<f32>>,
    /// per sequence: dL/dV (only with a value head; `None`: no value term in the loss)
    pub dvalues: Option<Vec<f32>>,
}

/// The value head's tensor names (beside the policy, in `value_head.safetensors`).
pub const VALUE_HEAD_WEIGHT: &str = "value_head.weight";
/// See [`VALUE_HEAD_WEIGHT`].
pub const VALUE_HEAD_BIAS: &str = "value_head.bias";

/// A tensor on the host: (HuggingFace name, shape, f32 values).
pub type HostTensor = (String, Vec<usize>, Vec<f32>);

/// GPU memory held by a [`TrainModel`], in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryReport {
    /// f32 master weights
    pub params: u64,
    /// f32 gradients
    pub grads: u64,
    /// activation, gradient-scratch and logits-chunk buffers (sized for the largest step so far)
    pub activations: u64,
    /// tokens of the last step
    pub last_step_tokens: usize,
}

/// Indices into the parameter list of one layer's tensors.
#[derive(Clone, Copy, Debug)]
struct LayerIdx {
    input_layernorm: usize,
    q_proj: usize,
    k_proj: usize,
    v_proj: usize,
    o_proj: usize,
    qk_norm: Option<(usize, usize)>,
    post_attention_layernorm: usize,
    pre_feedforward_layernorm: usize,
    gate_proj: usize,
    up_proj: usize,
    down_proj: usize,
    post_feedforward_layernorm: usize,
}

/// The trainable model on the GPU.
#[derive(Debug)]
pub struct TrainModel {
    config: Config,
    opts: TrainOptions,
    /// every tensor under its HF name, in [`expected_tensors`] order
    params: Vec<Param>,
    layers: Vec<LayerIdx>,
    embed: usize,
    norm: usize,
    /// the LM head: `embed` when tied
    lm_head: usize,
    /// distinct RoPE thetas, and each layer's index into them
    thetas: Vec<f32>,
    layer_theta: Vec<usize>,
    /// the value head's (weight, bias) in `params`, when it has one
    value: Option<(usize, usize)>,
    body: Option<Body>,
    head: Option<Head>,
    last_tokens: usize,
}

impl TrainModel {
    /// f32 master copies of every parameter of `w` (any stored dtype, converted), gradients 0.
    pub fn from_weights(gpu: &Gpu, config: Config, w: &Weights, opts: TrainOptions) -> Result<TrainModel> {
        w.check(&config)?;
        if let Some((i, l)) = config.layers.iter().enumerate().find(|(_, l)| l.rope_factor != 1.0) {
            bail!("layer {i}: linear RoPE scaling (factor {}) is not supported", l.rope_factor);
        }
        if config.head_dim > attention::MAX_HEAD_DIM || !config.head_dim.is_multiple_of(2) {
            bail!("head_dim {} unsupported (even, <= {})", config.head_dim, attention::MAX_HEAD_DIM);
        }
        if opts.loss_chunk_rows == 0 {
            bail!("TrainOptions::loss_chunk_rows must be at least 1");
        }
        if opts.max_tokens == 0 {
            bail!("TrainOptions::max_tokens must be at least 1");
        }
        let mut params = Vec::new();
        let mut index = HashMap::new();
        for (name, shape) in expected_tensors(&config) {
            let data = w.to_f32_shaped(&name, &shape)?;
            let p = Param::new(gpu, &name, &shape, &data).with_context(|| format!("uploading {name}"))?;
            index.insert(name, params.len());
            params.push(p);
        }
        use crate::model::names::{EMBED_TOKENS, FINAL_NORM, LM_HEAD, LayerTensor as T};
        let at = |name: &str| -> Result<usize> {
            index.get(name).copied().with_context(|| format!("no parameter {name}"))
        };
        let mut layers = Vec::with_capacity(config.num_layers);
        for i in 0..config.num_layers {
            let l = |t: T| at(&t.name(i));
            layers.push(LayerIdx {
                input_layernorm: l(T::InputLayernorm)?,
                q_proj: l(T::QProj)?,
                k_proj: l(T::KProj)?,
                v_proj: l(T::VProj)?,
                o_proj: l(T::OProj)?,
                qk_norm: if config.qk_norm { Some((l(T::QNorm)?, l(T::KNorm)?)) } else { None },
                post_attention_layernorm: l(T::PostAttentionLayernorm)?,
                pre_feedforward_layernorm: l(T::PreFeedforwardLayernorm)?,
                gate_proj: l(T::GateProj)?,
                up_proj: l(T::UpProj)?,
                down_proj: l(T::DownProj)?,
                post_feedforward_layernorm: l(T::PostFeedforwardLayernorm)?,
            });
        }
        let embed = at(EMBED_TOKENS)?;
        let norm = at(FINAL_NORM)?;
        let lm_head = if config.tie_word_embeddings { embed } else { at(LM_HEAD)? };
        let (thetas, layer_theta) = config.rope_groups();
        Ok(TrainModel {
            config,
            opts,
            params,
            layers,
            embed,
            norm,
            lm_head,
            thetas,
            layer_theta,
            value: None,
            body: None,
            head: None,
            last_tokens: 0,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn options(&self) -> &TrainOptions {
        &self.opts
    }

    /// Every parameter under its HuggingFace name, in checkpoint order (tied embeddings: one
    /// `model.embed_tokens.weight`, whose gradient also holds the LM head's).
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// The parameter named `name`.
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Adds a value head (`value_head.weight` [1, H] = `weight`, `value_head.bias` [1] = `bias`)
    /// as two more parameters at the end of [`TrainModel::params`] (so the optimizer, the
    /// gradient norm and checkpoints see them). An error when it has one already.
    pub fn add_value_head(&mut self, gpu: &Gpu, weight: &[f32], bias: f32) -> Result<()> {
        let h = self.config.hidden_size;
        if self.value.is_some() {
            bail!("the model has a value head already");
        }
        if weight.len() != h {
            bail!("{VALUE_HEAD_WEIGHT}: {} values, the hidden size is {h}", weight.len());
        }
        if !weight.iter().all(|x| x.is_finite()) || !bias.is_finite() {
            bail!("the value head's weights must be finite");
        }
        let w = Param::new(gpu, VALUE_HEAD_WEIGHT, &[1, h], weight)?;
        let b = Param::new(gpu, VALUE_HEAD_BIAS, &[1], &[bias])?;
        self.params.push(w);
        self.params.push(b);
        self.value = Some((self.params.len() - 2, self.params.len() - 1));
        Ok(())
    }

    /// Does it have a value head?
    pub fn has_value_head(&self) -> bool {
        self.value.is_some()
    }

    /// Zero every gradient (one submit).
    pub fn zero_grads(&self, gpu: &Gpu) -> Result<()> {
        let mut b = gpu.batch();
        for p in &self.params {
            b.clear_tensor(&p.grad);
        }
        b.submit()?;
        Ok(())
    }

    /// Host copies of the weights: (HF name, shape, f32 values), in checkpoint order.
    pub fn export_f32(&self, gpu: &Gpu) -> Result<Vec<HostTensor>> {
        self.params
            .iter()
            .map(|p| Ok((p.name.clone(), p.value.shape.clone(), p.value.to_f32(gpu)?)))
            .collect()
    }

    /// Overwrite the weights (resume): `tensors` must name every parameter exactly once, each
    /// with its shape; nothing is written unless all of them check out.
    pub fn load_f32(&mut self, gpu: &Gpu, tensors: &[HostTensor]) -> Result<()> {
        let mut seen = vec![false; self.params.len()];
        let mut plan = Vec::with_capacity(tensors.len());
        for (name, shape, data) in tensors {
            let i = self
                .params
                .iter()
                .position(|p| &p.name == name)
                .with_context(|| format!("tensor {name}: not a parameter of this model"))?;
            if std::mem::replace(&mut seen[i], true) {
                bail!("tensor {name}: given twice");
            }
            let p = &self.params[i];
            if shape != &p.value.shape {
                bail!("tensor {name}: shape {shape:?}, the model's is {:?}", p.value.shape);
            }
            if data.len() != p.numel() {
                bail!("tensor {name}: {} values for shape {shape:?} ({} expected)", data.len(), p.numel());
            }
            plan.push((i, data));
        }
        if let Some(i) = seen.iter().position(|s| !s) {
            bail!("tensor {} is missing (every parameter must be given)", self.params[i].name);
        }
        for (i, data) in plan {
            self.params[i].value.write_bytes(gpu, bytemuck::cast_slice(data));
        }
        gpu.wait()?;
        Ok(())
    }

    /// GPU memory held now.
    pub fn memory_bytes(&self) -> MemoryReport {
        let params: u64 = self.params.iter().map(|p| p.numel() as u64 * 4).sum();
        let activations =
            self.body.as_ref().map_or(0, Body::bytes) + self.head.as_ref().map_or(0, Head::bytes);
        MemoryReport { params, grads: params, activations, last_step_tokens: self.last_tokens }
    }

    /// Forward and backward of `seqs`: gradients of sum over targets of weight * (-log p)
    /// are ADDED to every [`Param::grad`]. One submit.
    pub fn forward_backward(&mut self, gpu: &Gpu, seqs: &[Sequence]) -> Result<StepStats> {
        let packed = self.pack(seqs)?;
        let (n, r) = (packed.tokens(), packed.num_targets());
        if r == 0 {
            return Ok(self.stats(&packed, &[]));
        }
        self.prepare(gpu, &packed)?;
        self.write_coef(gpu, &packed.weights)?;
        let plan = embedding::ScatterPlan::new(gpu, &packed.ids)?;
        let mut b = gpu.batch();
        self.record_forward(&mut b, n)?;
        self.record_head(&mut b, n, r, HeadPass::Backward, false)?;
        self.record_backward(&mut b, n, &plan)?;
        b.submit()?;
        let lp = self.read_logprobs(gpu, r)?;
        Ok(self.stats(&packed, &lp))
    }

    /// Forward, then `coef(log-probs)` (per sequence, per target: the log p of each position
    /// with weight != 0), then the backward of sum over targets of coef * (-log p): the RL
    /// objective's per-token coefficients (e.g. a PPO ratio times an advantage) computed from
    /// the current log-probs. Gradients accumulate; `coef` must return one finite value per
    /// target. Two submits (the logits chunks are recomputed for the backward).
    pub fn forward_backward_with<F>(&mut self, gpu: &Gpu, seqs: &[Sequence], coef: F) -> Result<StepStats>
    where
        F: FnOnce(&[Vec<f32>]) -> Result<Vec<Vec<f32>>>,
    {
        self.forward_backward_rl(gpu, seqs, |f| Ok(RlBackward { coef: coef(&f.logprobs)?, dvalues: None }))
    }

    /// [`TrainModel::forward_backward_with`] with the value head: the callback also sees each
    /// sequence's V ([`RlForward::values`]) and may return dL/dV per sequence, whose gradient
    /// the backward adds to the value head and, through the final norm, to the trunk. Every
    /// sequence needs a target when the model has a value head (V is read at its first).
    pub fn forward_backward_rl<F>(&mut self, gpu: &Gpu, seqs: &[Sequence], f: F) -> Result<StepStats>
    where
        F: FnOnce(&RlForward) -> Result<RlBackward>,
    {
        let packed = self.pack(seqs)?;
        let (n, r) = (packed.tokens(), packed.num_targets());
        if r == 0 {
            let fwd = RlForward { logprobs: packed.split::<f32>(&[]), values: None };
            packed.flatten_coef(&f(&fwd)?.coef)?;
            return Ok(self.stats(&packed, &[]));
        }
        let fwd = self.logprob_pass(gpu, &packed)?;
        let back = f(&fwd)?;
        let c = packed.flatten_coef(&back.coef).context("coefficients from the callback")?;
        self.write_coef(gpu, &c)?;
        let value_backward = match (&back.dvalues, self.value) {
            (None, _) => false,
            (Some(_), None) => bail!("dL/dV given but the model has no value head"),
            (Some(dv), Some(_)) => {
                if dv.len() != seqs.len() || !dv.iter().all(|x| x.is_finite()) {
                    bail!("dL/dV: {} values for {} sequences (one finite value each)", dv.len(), seqs.len());
                }
                let mut rows = vec![0f32; r];
                for (at, &d) in first_targets(&packed).iter().zip(dv) {
                    rows[*at] = d;
                }
                let head = self.head.as_ref().context("loss buffers not allocated")?;
                head.dvalues.rows_view(r)?.write_bytes(gpu, bytemuck::cast_slice(&rows));
                true
            }
        };
        let plan = embedding::ScatterPlan::new(gpu, &packed.ids)?;
        let mut b = gpu.batch();
        self.record_head(&mut b, n, r, HeadPass::Backward, value_backward)?;
        self.record_backward(&mut b, n, &plan)?;
        b.submit()?;
        let lp: Vec<f32> = fwd.logprobs.concat();
        Ok(self.stats(&packed, &lp))
    }

    /// Forward only (no gradient touched): the log-probs of the targets and, with a value head,
    /// each sequence's V (rollout values for GAE).
    pub fn logprobs_and_values(&mut self, gpu: &Gpu, seqs: &[Sequence]) -> Result<RlForward> {
        let packed = self.pack(seqs)?;
        if packed.num_targets() == 0 {
            if self.value.is_some() && !seqs.is_empty() {
                bail!("no sequence has a target: the value is read at a sequence's first target row");
            }
            return Ok(RlForward { logprobs: packed.split::<f32>(&[]), values: None });
        }
        self.logprob_pass(gpu, &packed)
    }

    /// The forward and the head's log-prob pass over `packed` (at least one target), read back.
    fn logprob_pass(&mut self, gpu: &Gpu, packed: &Packed) -> Result<RlForward> {
        let (n, r) = (packed.tokens(), packed.num_targets());
        self.prepare(gpu, packed)?;
        let mut b = gpu.batch();
        self.record_forward(&mut b, n)?;
        self.record_head(&mut b, n, r, HeadPass::Logprobs, false)?;
        b.submit()?;
        let lp = self.read_logprobs(gpu, r)?;
        let values = match self.value {
            None => None,
            Some((_, bias)) => {
                if let Some(i) = packed.per_seq.iter().position(|&c| c == 0) {
                    bail!("sequence {i} has no target: its value is read at its first target row");
                }
                let head = self.head.as_ref().context("loss buffers not allocated")?;
                let rows = head.values.rows_view(r)?.to_f32(gpu)?;
                let b = self.params[bias].value.to_f32(gpu)?[0];
                Some(first_targets(packed).iter().map(|&at| rows[at] + b).collect())
            }
        };
        Ok(RlForward { logprobs: packed.split(&lp), values })
    }

    /// Forward only (no gradient touched): per sequence, per position t >= 1 with weight != 0,
    /// log p(ids[t] | ids[..t]) (reference / old-policy log-probs).
    pub fn token_logprobs(&mut self, gpu: &Gpu, seqs: &[Sequence]) -> Result<Vec<Vec<f32>>> {
        let packed = self.pack(seqs)?;
        let (n, r) = (packed.tokens(), packed.num_targets());
        if r == 0 {
            return Ok(packed.split::<f32>(&[]));
        }
        self.prepare(gpu, &packed)?;
        let mut b = gpu.batch();
        self.record_forward(&mut b, n)?;
        self.record_head(&mut b, n, r, HeadPass::Logprobs, false)?;
        b.submit()?;
        Ok(packed.split(&self.read_logprobs(gpu, r)?))
    }

    fn pack(&self, seqs: &[Sequence]) -> Result<Packed> {
        let packed = Packed::new(seqs, self.config.vocab_size)?;
        if packed.tokens() > self.opts.max_tokens {
            bail!(
                "{} sequences pack into {} tokens, over TrainOptions::max_tokens = {} (split the batch into micro-batches)",
                seqs.len(),
                packed.tokens(),
                self.opts.max_tokens
            );
        }
        Ok(packed)
    }

    fn stats(&self, packed: &Packed, lp: &[f32]) -> StepStats {
        let loss = packed.weights.iter().zip(lp).map(|(&w, &l)| -(w as f64) * l as f64).sum();
        StepStats {
            loss,
            target_tokens: packed.num_targets(),
            tokens: packed.tokens(),
            token_logprobs: packed.split(lp),
        }
    }

    /// Grow the buffers when needed and queue this step's inputs (ids, positions, RoPE tables,
    /// target rows and ids).
    fn prepare(&mut self, gpu: &Gpu, packed: &Packed) -> Result<()> {
        let (n, r) = (packed.tokens(), packed.num_targets());
        let c = &self.config;
        if self.body.as_ref().is_none_or(|b| b.tokens < n) {
            let cap = n.max(self.body.as_ref().map_or(0, |b| b.tokens));
            let sets = if self.opts.checkpointing { 1 } else { c.num_layers };
            self.body = None; // free before allocating the larger one
            self.body = Some(
                Body::new(gpu, c, self.thetas.len(), cap, sets)
                    .with_context(|| format!("activations for {cap} tokens"))?,
            );
        }
        if self.head.as_ref().is_none_or(|h| h.rows < r) {
            let cap = r.max(self.head.as_ref().map_or(0, |h| h.rows));
            self.head = None;
            self.head = Some(
                Head::new(gpu, c, cap, self.opts.loss_chunk_rows)
                    .with_context(|| format!("loss buffers for {cap} target rows"))?,
            );
        }
        let (body, head) = (self.body.as_ref().expect("allocated"), self.head.as_ref().expect("allocated"));
        body.ids.rows_view(n)?.write_bytes(gpu, bytemuck::cast_slice(&packed.ids));
        body.pos.rows_view(n)?.write_bytes(gpu, bytemuck::cast_slice(&packed.pos));
        for (t, &theta) in body.rope.iter().zip(&self.thetas) {
            let table = crate::kernels::rope::cos_sin_table(&packed.pos, c.head_dim, theta);
            t.rows_view(n)?.write_bytes(gpu, bytemuck::cast_slice(&table));
        }
        head.row_idx.rows_view(r)?.write_bytes(gpu, bytemuck::cast_slice(&packed.rows));
        head.targets.rows_view(r)?.write_bytes(gpu, bytemuck::cast_slice(&packed.targets));
        self.last_tokens = n;
        Ok(())
    }

    fn write_coef(&self, gpu: &Gpu, coef: &[f32]) -> Result<()> {
        let head = self.head.as_ref().context("loss buffers not allocated")?;
        head.coef.rows_view(coef.len())?.write_bytes(gpu, bytemuck::cast_slice(coef));
        Ok(())
    }

    fn read_logprobs(&self, gpu: &Gpu, r: usize) -> Result<Vec<f32>> {
        let head = self.head.as_ref().context("loss buffers not allocated")?;
        Ok(head.logprob.rows_view(r)?.to_f32(gpu)?)
    }

    fn layer_params(&self, l: usize) -> LayerParams<'_> {
        let i = &self.layers[l];
        let p = &self.params;
        LayerParams {
            input_layernorm: &p[i.input_layernorm],
            q_proj: &p[i.q_proj],
            k_proj: &p[i.k_proj],
            v_proj: &p[i.v_proj],
            o_proj: &p[i.o_proj],
            qk_norm: i.qk_norm.map(|(q, k)| (&p[q], &p[k])),
            post_attention_layernorm: &p[i.post_attention_layernorm],
            pre_feedforward_layernorm: &p[i.pre_feedforward_layernorm],
            gate_proj: &p[i.gate_proj],
            up_proj: &p[i.up_proj],
            down_proj: &p[i.down_proj],
            post_feedforward_layernorm: &p[i.post_feedforward_layernorm],
        }
    }

    fn body(&self) -> Result<&Body> {
        self.body.as_ref().context("activations not allocated")
    }

    /// The RoPE tables of an `n`-token step, one per distinct theta.
    fn rope_tables(&self, n: usize) -> Result<Vec<RopeTable>> {
        let body = self.body()?;
        body.rope
            .iter()
            .map(|t| Ok(RopeTable { table: t.rows_view(n)?, tokens: n, head_dim: self.config.head_dim }))
            .collect()
    }

    /// Embedding, then every layer (keeping each layer's input in xs; activations per layer, or
    /// in the one recomputed set with checkpointing).
    fn record_forward(&self, b: &mut Batch<'_>, n: usize) -> Result<()> {
        let c = &self.config;
        let body = self.body()?;
        let ropes = self.rope_tables(n)?;
        let pos = body.pos.rows_view(n)?;
        let xs = body.xs.iter().map(|x| x.rows_view(n)).collect::<Result<Vec<_>, _>>()?;
        let ids = body.ids.rows_view(n)?;
        embedding::forward(b, &ids, &self.params[self.embed].value, &xs[0], c.embed_scale())?;
        for l in 0..c.num_layers {
            let ctx = LayerCtx {
                config: c,
                layer: &c.layers[l],
                w: self.layer_params(l),
                rope: &ropes[self.layer_theta[l]],
                pos: &pos,
            };
            let acts = body.layers[l % body.layers.len()].view(n)?;
            layer::forward(b, &ctx, &xs[l], &acts, Some(&xs[l + 1]))
                .with_context(|| format!("layer {l} forward"))?;
        }
        Ok(())
    }

    /// The head over the `r` target rows of the last layer's output.
    fn record_head(
        &self,
        b: &mut Batch<'_>,
        n: usize,
        r: usize,
        pass: HeadPass,
        value_backward: bool,
    ) -> Result<()> {
        let body = self.body()?;
        let head = self.head.as_ref().context("loss buffers not allocated")?;
        let w = HeadParams {
            norm: &self.params[self.norm],
            weight: &self.params[self.lm_head],
            eps: self.config.rms_norm_eps,
            final_softcap: self.config.final_softcap,
            value: self.value.map(|(w, b)| ValueParams { weight: &self.params[w], bias: &self.params[b] }),
        };
        let x_last = body.xs[self.config.num_layers].rows_view(n)?;
        let dx = body.grads.dx.rows_view(n)?;
        let dx = (pass == HeadPass::Backward).then_some(&dx);
        head::record(b, &w, head, &x_last, r, pass, dx, value_backward).context("LM head and loss")
    }

    /// Every layer's backward (recomputing its activations first with checkpointing), then the
    /// embedding's scatter-add. `grads.dx` holds dL/d(last layer's output) on entry.
    fn record_backward(&self, b: &mut Batch<'_>, n: usize, plan: &embedding::ScatterPlan) -> Result<()> {
        let c = &self.config;
        let body = self.body()?;
        let ropes = self.rope_tables(n)?;
        let pos = body.pos.rows_view(n)?;
        let grads = body.grads.view(n)?;
        for l in (0..c.num_layers).rev() {
            let ctx = LayerCtx {
                config: c,
                layer: &c.layers[l],
                w: self.layer_params(l),
                rope: &ropes[self.layer_theta[l]],
                pos: &pos,
            };
            let x = body.xs[l].rows_view(n)?;
            let acts = body.layers[l % body.layers.len()].view(n)?;
            if self.opts.checkpointing {
                layer::forward(b, &ctx, &x, &acts, None).with_context(|| format!("layer {l} recompute"))?;
            }
            layer::backward(b, &ctx, &x, &acts, &grads).with_context(|| format!("layer {l} backward"))?;
        }
        let e = &self.params[self.embed];
        embedding::backward(b, plan, &grads.dx, &e.grad, c.embed_scale()).context("embedding backward")?;
        Ok(())
    }
}

/// The index among the packed targets of each sequence's first target (sequences with none
/// point at the next sequence's; callers check).
fn first_targets(packed: &Packed) -> Vec<usize> {
    let mut at = 0;
    packed
        .per_seq
        .iter()
        .map(|&c| {
            let first = at;
            at += c;
            first
        })
        .collect()
}
