//! The Gemma2 / Gemma3-text model on the GPU (SPEC section 9), built from the
//! project's kernels; tensor paths mirror the HuggingFace names, each with its
//! shape. The CPU twin is [`crate::cpu::model::CpuModel`].
//!
//! One forward runs a ragged batch of tokens (each with its sequence and
//! position, see [`crate::kv_cache`]) through every layer, writing their keys
//! and values into the KV cache, and returns the logits of the requested rows
//! only. The whole forward is recorded into ONE [`crate::Batch`] (one submit,
//! one readback). Activations live in a [`Workspace`] preallocated for the
//! largest step seen and reused (views of its first rows), so decode steps
//! allocate nothing on the GPU but the readback staging buffer.
//!
//! Per layer: h = RMSNorm_in(x); q, k, v = h Wq^T, h Wk^T, h Wv^T; (Gemma3:
//! per-head q_norm / k_norm); RoPE with the layer's theta (cos/sin from the
//! host, the CPU reference's f32 math); k, v into the cache; attention with
//! scale query_pre_attn_scalar^-0.5, softcap, causal + the window on local
//! layers only, GQA; o Wo^T; x += RMSNorm_post_attn(o); h = RMSNorm_pre_ffw(x);
//! x += RMSNorm_post_ffw(down(gelu_tanh(gate(h)) * up(h))). Then the final
//! RMSNorm, the tied (or separate) head and the final softcap.

use crate::cpu::ops::AttnParams;
use crate::kernels::{elementwise, embedding, kv_cache, matmul, rmsnorm, rope};
use crate::kv_cache::KvCache;
use crate::model::weights::expected_tensors;
use crate::model::{Config, Weights};
use crate::runtime::Gpu;
use crate::tensor::{DType, Tensor};
use anyhow::{Context, Result, bail};

/// The GPU dtype of a stored checkpoint dtype.
fn gpu_dtype(stored: crate::model::DType) -> DType {
    match stored {
        crate::model::DType::F32 => DType::F32,
        crate::model::DType::F16 => DType::F16,
        crate::model::DType::BF16 => DType::BF16,
    }
}

/// One decoder layer's weights on the GPU (H = hidden, D = head_dim,
/// NH / NKV = query / kv heads, F = intermediate size; projections [out, in]).
#[derive(Debug)]
pub struct GemmaLayer {
    /// [H]
    pub input_layernorm: Tensor,
    /// [NH * D, H]
    pub q_proj: Tensor,
    /// [NKV * D, H]
    pub k_proj: Tensor,
    /// [NKV * D, H]
    pub v_proj: Tensor,
    /// [H, NH * D]
    pub o_proj: Tensor,
    /// [D] (Gemma3)
    pub q_norm: Option<Tensor>,
    /// [D] (Gemma3)
    pub k_norm: Option<Tensor>,
    /// [H]
    pub post_attention_layernorm: Tensor,
    /// [H]
    pub pre_feedforward_layernorm: Tensor,
    /// [F, H]
    pub gate_proj: Tensor,
    /// [F, H]
    pub up_proj: Tensor,
    /// [H, F]
    pub down_proj: Tensor,
    /// [H]
    pub post_feedforward_layernorm: Tensor,
}

/// The model on the GPU.
#[derive(Debug)]
pub struct GemmaModel {
    pub config: Config,
    /// model.embed_tokens.weight [V, H] (also the tied LM head; split into row
    /// parts when one binding cannot hold it)
    pub embed_tokens: Tensor,
    pub layers: Vec<GemmaLayer>,
    /// model.norm.weight [H]
    pub norm: Tensor,
    /// lm_head.weight [V, H] when not tied
    pub lm_head: Option<Tensor>,
    /// distinct RoPE thetas, and each layer's index into them
    thetas: Vec<f32>,
    layer_theta: Vec<usize>,
}

/// Activation buffers for up to `tokens` tokens per step and `out_rows`
/// logits rows; each step uses views of their first rows.
#[derive(Debug)]
pub struct Workspace {
    pub tokens: usize,
    pub out_rows: usize,
    ids: Tensor,
    tok: Tensor,
    rope: Vec<Tensor>,
    x: Tensor,
    hn: Tensor,
    qa: Option<Tensor>,
    ka: Option<Tensor>,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    att: Tensor,
    o: Tensor,
    gate: Tensor,
    up: Tensor,
    mlp: Tensor,
    out_idx: Tensor,
    xs: Tensor,
    xn: Tensor,
    logits: Tensor,
    /// per output row: the target id, log-sum-exp and log-prob (scoring given tokens)
    targets: Tensor,
    lse: Tensor,
    logprob: Tensor,
}

/// One forward step: a ragged batch of tokens.
#[derive(Clone, Copy, Debug)]
pub struct Step<'a> {
    /// token ids [n]
    pub ids: &'a [u32],
    /// sequence (cache slot) of each token [n]
    pub seqs: &'a [u32],
    /// position of each token in its sequence [n]
    pub pos: &'a [u32],
    /// indices into `ids` of the rows whose logits are returned
    pub out_rows: &'a [u32],
}

/// Bytes of the buffers behind a tensor (every row part, as allocated).
fn tensor_bytes(t: &Tensor) -> u64 {
    t.parts().iter().map(|p| p.buffer.size()).sum()
}

impl Workspace {
    /// Bytes of its buffers on the GPU (sized for the largest step so far).
    pub fn bytes(&self) -> u64 {
        let fixed = [
            &self.ids,
            &self.tok,
            &self.x,
            &self.hn,
            &self.q,
            &self.k,
            &self.v,
            &self.att,
            &self.o,
            &self.gate,
            &self.up,
            &self.mlp,
            &self.out_idx,
            &self.xs,
            &self.xn,
            &self.logits,
            &self.targets,
            &self.lse,
            &self.logprob,
        ];
        let optional = [&self.qa, &self.ka].into_iter().flatten();
        fixed.into_iter().chain(optional).chain(&self.rope).map(tensor_bytes).sum()
    }
}

impl GemmaModel {
    /// Upload the checkpoint's weights once. `dtype` None keeps them as
    /// stored (bf16 stays bf16, decoded in the shaders); Some converts.
    pub fn load(gpu: &Gpu, config: Config, w: &Weights, dtype: Option<DType>) -> Result<GemmaModel> {
        w.check(&config)?;
        Self::check_supported(&config)?;
        let shapes = expected_tensors(&config);
        let up = |name: &str| -> Result<Tensor> {
            let shape = &shapes
                .iter()
                .find(|(n, _)| n == name)
                .with_context(|| format!("unexpected tensor {name}"))?
                .1;
            let t = w.tensor(name)?;
            let stored = gpu_dtype(t.dtype);
            let target = dtype.unwrap_or(stored);
            let r = if target == stored {
                Tensor::from_bytes(gpu, name, shape, stored, t.bytes)
            } else {
                Tensor::from_f32(gpu, name, shape, target, &t.to_f32())
            };
            r.with_context(|| format!("uploading {name}"))
        };
        Self::from_named(config, up)
    }

    /// A model over the training model's parameters: the same GPU buffers (f32), no copy, so it
    /// computes with whatever the optimizer last wrote into them.
    pub fn from_params(config: Config, params: &[crate::train::Param]) -> Result<GemmaModel> {
        Self::check_supported(&config)?;
        Self::from_named(config, |name| {
            params
                .iter()
                .find(|p| p.name == name)
                .map(|p| p.value.clone())
                .with_context(|| format!("the training model has no parameter {name}"))
        })
    }

    fn check_supported(config: &Config) -> Result<()> {
        if let Some((i, l)) = config.layers.iter().enumerate().find(|(_, l)| l.rope_factor != 1.0) {
            bail!("layer {i}: linear RoPE scaling (factor {}) is not supported", l.rope_factor);
        }
        if config.head_dim > kv_cache::MAX_HEAD_DIM || !config.head_dim.is_multiple_of(2) {
            bail!("head_dim {} unsupported (even, <= {})", config.head_dim, kv_cache::MAX_HEAD_DIM);
        }
        Ok(())
    }

    /// The model with each tensor from `get(HuggingFace name)`.
    fn from_named(config: Config, get: impl Fn(&str) -> Result<Tensor>) -> Result<GemmaModel> {
        use crate::model::names::{EMBED_TOKENS, FINAL_NORM, LM_HEAD, LayerTensor as T};
        let mut layers = Vec::with_capacity(config.num_layers);
        for i in 0..config.num_layers {
            let at = |t: T| get(&t.name(i));
            let opt = |t: T| -> Result<Option<Tensor>> {
                if t.present(&config) { at(t).map(Some) } else { Ok(None) }
            };
            layers.push(GemmaLayer {
                input_layernorm: at(T::InputLayernorm)?,
                q_proj: at(T::QProj)?,
                k_proj: at(T::KProj)?,
                v_proj: at(T::VProj)?,
                o_proj: at(T::OProj)?,
                q_norm: opt(T::QNorm)?,
                k_norm: opt(T::KNorm)?,
                post_attention_layernorm: at(T::PostAttentionLayernorm)?,
                pre_feedforward_layernorm: at(T::PreFeedforwardLayernorm)?,
                gate_proj: at(T::GateProj)?,
                up_proj: at(T::UpProj)?,
                down_proj: at(T::DownProj)?,
                post_feedforward_layernorm: at(T::PostFeedforwardLayernorm)?,
            });
        }
        let (thetas, layer_theta) = config.rope_groups();
        Ok(GemmaModel {
            embed_tokens: get(EMBED_TOKENS)?,
            norm: get(FINAL_NORM)?,
            lm_head: if config.tie_word_embeddings { None } else { Some(get(LM_HEAD)?) },
            layers,
            thetas,
            layer_theta,
            config,
        })
    }

    /// The dtype the weights have on the GPU.
    pub fn weight_dtype(&self) -> DType {
        self.embed_tokens.dtype
    }

    /// Bytes of the weights on the GPU, every tensor once (a tied LM head is the embedding).
    pub fn weight_bytes(&self) -> u64 {
        let layers = self.layers.iter().flat_map(|l| {
            [
                &l.input_layernorm,
                &l.q_proj,
                &l.k_proj,
                &l.v_proj,
                &l.o_proj,
                &l.post_attention_layernorm,
                &l.pre_feedforward_layernorm,
                &l.gate_proj,
                &l.up_proj,
                &l.down_proj,
                &l.post_feedforward_layernorm,
            ]
            .into_iter()
            .chain([&l.q_norm, &l.k_norm].into_iter().flatten())
        });
        let top = [&self.embed_tokens, &self.norm].into_iter().chain(&self.lm_head);
        top.chain(layers).map(tensor_bytes).sum()
    }

    /// Allocate activations for steps of up to `tokens` tokens and `out_rows` logits rows.
    pub fn workspace(&self, gpu: &Gpu, tokens: usize, out_rows: usize) -> Result<Workspace> {
        let c = &self.config;
        let (n, r) = (tokens.max(1), out_rows.max(1));
        let (h, hd, f, v) = (c.hidden_size, c.head_dim, c.intermediate_size, c.vocab_size);
        let (qd, kd) = (c.num_heads * hd, c.num_kv_heads * hd);
        let f32t = |name: &str, shape: &[usize]| {
            Tensor::zeros(gpu, name, shape, DType::F32).with_context(|| format!("workspace for {n} tokens"))
        };
        let u32t = |name: &str, shape: &[usize]| Tensor::zeros(gpu, name, shape, DType::U32);
        Ok(Workspace {
            tokens: n,
            out_rows: r,
            ids: u32t("ids", &[n])?,
            tok: u32t("tok", &[n, 2])?,
            rope: self.thetas.iter().map(|_| f32t("rope cos/sin", &[n, hd / 2, 2])).collect::<Result<_>>()?,
            x: f32t("x", &[n, h])?,
            hn: f32t("hn", &[n, h])?,
            qa: if c.qk_norm { Some(f32t("q_raw", &[n, qd])?) } else { None },
            ka: if c.qk_norm { Some(f32t("k_raw", &[n, kd])?) } else { None },
            q: f32t("q", &[n, qd])?,
            k: f32t("k", &[n, kd])?,
            v: f32t("v", &[n, kd])?,
            att: f32t("att", &[n, qd])?,
            o: f32t("o", &[n, h])?,
            gate: f32t("gate", &[n, f])?,
            up: f32t("up", &[n, f])?,
            mlp: f32t("mlp", &[n, f])?,
            out_idx: u32t("out rows", &[r])?,
            xs: f32t("x out rows", &[r, h])?,
            xn: f32t("x out rows normed", &[r, h])?,
            logits: f32t("logits", &[r, v])?,
            targets: u32t("target ids", &[r])?,
            lse: f32t("row log-sum-exp", &[r])?,
            logprob: f32t("target log-probs", &[r])?,
        })
    }

    /// Run one step: every token's k/v goes into `cache` at (seq, pos), and
    /// the logits of `step.out_rows` come back, [out_rows, vocab] row-major.
    /// `ws` grows when the step is larger than it.
    pub fn forward(
        &self,
        gpu: &Gpu,
        ws: &mut Option<Workspace>,
        cache: &KvCache,
        step: Step<'_>,
    ) -> Result<Vec<f32>> {
        self.forward_out(gpu, ws, cache, step, None)
    }

    /// [`GemmaModel::forward`], but per output row r only `log p(targets[r])` comes back (log
    /// softmax of the soft-capped logits, on the GPU: [out_rows] floats are read back, not
    /// [out_rows, vocab]). Scoring given tokens (the reference policy of RL) this way costs what a
    /// forward costs.
    pub fn forward_logprobs(
        &self,
        gpu: &Gpu,
        ws: &mut Option<Workspace>,
        cache: &KvCache,
        step: Step<'_>,
        targets: &[u32],
    ) -> Result<Vec<f32>> {
        if targets.len() != step.out_rows.len() {
            bail!("{} targets for {} output rows", targets.len(), step.out_rows.len());
        }
        if let Some(&bad) = targets.iter().find(|&&t| t as usize >= self.config.vocab_size) {
            bail!("target id {bad} is not below vocab_size {}", self.config.vocab_size);
        }
        self.forward_out(gpu, ws, cache, step, Some(targets))
    }

    fn forward_out(
        &self,
        gpu: &Gpu,
        ws: &mut Option<Workspace>,
        cache: &KvCache,
        step: Step<'_>,
        targets: Option<&[u32]>,
    ) -> Result<Vec<f32>> {
        let c = &self.config;
        let n = step.ids.len();
        let r = step.out_rows.len();
        if n == 0 {
            bail!("forward of zero tokens");
        }
        if step.seqs.len() != n || step.pos.len() != n {
            bail!("step: {n} ids but {} seqs and {} positions", step.seqs.len(), step.pos.len());
        }
        for i in 0..n {
            let (id, s, p) = (step.ids[i], step.seqs[i] as usize, step.pos[i] as usize);
            if id as usize >= c.vocab_size {
                bail!("token id {id} is not below vocab_size {}", c.vocab_size);
            }
            if s >= cache.seqs || p >= cache.max_len {
                bail!(
                    "token {i} at (sequence {s}, position {p}) is outside the KV cache ({} x {})",
                    cache.seqs,
                    cache.max_len
                );
            }
        }
        if let Some(&bad) = step.out_rows.iter().find(|&&o| o as usize >= n) {
            bail!("output row {bad} of a {n}-token step");
        }
        if ws.as_ref().is_none_or(|w| w.tokens < n || w.out_rows < r) {
            let (t0, r0) = ws.as_ref().map_or((0, 0), |w| (w.tokens, w.out_rows));
            *ws = None; // free before allocating the larger one
            *ws = Some(self.workspace(gpu, n.max(t0), r.max(r0))?);
        }
        let w = ws.as_ref().expect("allocated");
        let hd = c.head_dim;
        let eps = c.rms_norm_eps;

        // host-side inputs of this step (queued writes, before the submit)
        let ids = w.ids.rows_view(n)?;
        ids.write_bytes(gpu, bytemuck::cast_slice(step.ids));
        let tok = w.tok.rows_view(n)?;
        let tv: Vec<u32> = (0..n).flat_map(|i| [step.seqs[i], step.pos[i]]).collect();
        tok.write_bytes(gpu, bytemuck::cast_slice(&tv));
        let mut ropes = Vec::with_capacity(self.thetas.len());
        for (t, &theta) in w.rope.iter().zip(&self.thetas) {
            let view = t.rows_view(n)?;
            view.write_bytes(
                gpu,
                bytemuck::cast_slice(&crate::kernels::rope::cos_sin_table(step.pos, hd, theta)),
            );
            ropes.push(rope::RopeTable { table: view, tokens: n, head_dim: hd });
        }
        let out_idx = w.out_idx.rows_view(r)?;
        out_idx.write_bytes(gpu, bytemuck::cast_slice(step.out_rows));

        let x = w.x.rows_view(n)?;
        let hn = w.hn.rows_view(n)?;
        let q = w.q.rows_view(n)?;
        let k = w.k.rows_view(n)?;
        let v = w.v.rows_view(n)?;
        let qa = w.qa.as_ref().map(|t| t.rows_view(n)).transpose()?;
        let ka = w.ka.as_ref().map(|t| t.rows_view(n)).transpose()?;
        let att = w.att.rows_view(n)?;
        let o = w.o.rows_view(n)?;
        let gate = w.gate.rows_view(n)?;
        let up = w.up.rows_view(n)?;
        let mlp = w.mlp.rows_view(n)?;
        let xs = w.xs.rows_view(r)?;
        let xn = w.xn.rows_view(r)?;
        let logits = w.logits.rows_view(r)?;

        let mut b = gpu.batch();
        embedding::forward(&mut b, &ids, &self.embed_tokens, &x, c.embed_scale())?;
        for (li, (lw, lc)) in self.layers.iter().zip(&c.layers).enumerate() {
            // attention block
            rmsnorm::forward(&mut b, &x, &lw.input_layernorm, &hn, eps)?;
            match (&lw.q_norm, &lw.k_norm, &qa, &ka) {
                (Some(qn), Some(kn), Some(qa), Some(ka)) => {
                    matmul::forward(&mut b, &hn, &lw.q_proj, qa)?;
                    matmul::forward(&mut b, &hn, &lw.k_proj, ka)?;
                    rmsnorm::forward(&mut b, qa, qn, &q, eps)?;
                    rmsnorm::forward(&mut b, ka, kn, &k, eps)?;
                }
                _ => {
                    matmul::forward(&mut b, &hn, &lw.q_proj, &q)?;
                    matmul::forward(&mut b, &hn, &lw.k_proj, &k)?;
                }
            }
            matmul::forward(&mut b, &hn, &lw.v_proj, &v)?;
            let table = &ropes[self.layer_theta[li]];
            rope::forward(&mut b, &q, table, c.num_heads)?;
            rope::forward(&mut b, &k, table, c.num_kv_heads)?;
            kv_cache::store(&mut b, &k, &tok, &cache.k[li], cache.max_len)?;
            kv_cache::store(&mut b, &v, &tok, &cache.v[li], cache.max_len)?;
            let p = AttnParams {
                heads: c.num_heads,
                kv_heads: c.num_kv_heads,
                head_dim: hd,
                scale: c.attn_scale(),
                softcap: c.attn_softcap,
                window: lc.window,
            };
            kv_cache::attention(&mut b, &q, &tok, &cache.k[li], &cache.v[li], cache.max_len, &att, &p)?;
            matmul::forward(&mut b, &att, &lw.o_proj, &o)?;
            rmsnorm::residual_forward(&mut b, &o, &lw.post_attention_layernorm, &x, eps)?;

            // feed-forward block
            rmsnorm::forward(&mut b, &x, &lw.pre_feedforward_layernorm, &hn, eps)?;
            matmul::forward(&mut b, &hn, &lw.gate_proj, &gate)?;
            matmul::forward(&mut b, &hn, &lw.up_proj, &up)?;
            elementwise::geglu_forward(&mut b, &gate, &up, &mlp)?;
            matmul::forward(&mut b, &mlp, &lw.down_proj, &o)?;
            rmsnorm::residual_forward(&mut b, &o, &lw.post_feedforward_layernorm, &x, eps)?;
        }
        // head over the wanted rows only
        kv_cache::gather_rows(&mut b, &x, &out_idx, &xs)?;
        rmsnorm::forward(&mut b, &xs, &self.norm, &xn, eps)?;
        matmul::forward(&mut b, &xn, self.lm_head.as_ref().unwrap_or(&self.embed_tokens), &logits)?;
        if let Some(cap) = c.final_softcap {
            elementwise::softcap_forward(&mut b, &logits, cap)?;
        }
        let Some(targets) = targets else {
            b.submit()?;
            return Ok(logits.to_f32(gpu)?);
        };
        let (tg, lse, lp) = (w.targets.rows_view(r)?, w.lse.rows_view(r)?, w.logprob.rows_view(r)?);
        tg.write_bytes(gpu, bytemuck::cast_slice(targets));
        crate::kernels::xent::forward(&mut b, &logits, &tg, &lse, &lp)?;
        b.submit()?;
        Ok(lp.to_f32(gpu)?)
    }
}
