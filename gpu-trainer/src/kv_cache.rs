//! The GPU KV cache of a batch of sequences of different lengths.
//!
//! Per layer one K and one V tensor, f32 [seqs * max_len, kv_heads, head_dim]:
//! the (post-norm, post-RoPE) key of sequence `s` at position `p` is row
//! `s * max_len + p` (see `kernels::kv_cache`). Each sequence has its own
//! length; a decode step appends one token to every active sequence. Local
//! (sliding-window) layers keep the full length too (simple, and the tiny
//! models do not care); only their attention is windowed.

use crate::model::Config;
use crate::runtime::Gpu;
use crate::tensor::{DType, Tensor};
use anyhow::{Result, bail};

/// K and V caches of every layer for `seqs` sequences of up to `max_len` tokens.
#[derive(Debug)]
pub struct KvCache {
    /// per layer: [seqs * max_len, kv_heads, head_dim] f32
    pub k: Vec<Tensor>,
    /// per layer: [seqs * max_len, kv_heads, head_dim] f32
    pub v: Vec<Tensor>,
    pub seqs: usize,
    pub max_len: usize,
    /// tokens held per sequence (its next position)
    pub lens: Vec<usize>,
}

impl KvCache {
    /// Bytes the cache of `seqs` x `max_len` tokens takes on the GPU.
    pub fn bytes_needed(config: &Config, seqs: usize, max_len: usize) -> u64 {
        2 * config.num_layers as u64
            * seqs as u64
            * max_len as u64
            * (config.num_kv_heads * config.head_dim * 4) as u64
    }

    /// Allocate for `seqs` sequences of up to `max_len` tokens (prompt +
    /// new tokens). A layer's K (or V) must fit one storage binding; when it
    /// does not, or the device cannot allocate it, the error says how much
    /// was asked and what to lower.
    pub fn new(gpu: &Gpu, config: &Config, seqs: usize, max_len: usize) -> Result<KvCache> {
        if seqs == 0 || max_len == 0 {
            bail!("KV cache: {seqs} sequences x {max_len} tokens is empty");
        }
        let row = (config.num_kv_heads * config.head_dim * 4) as u64;
        let per_layer = seqs as u64 * max_len as u64 * row;
        let total = Self::bytes_needed(config, seqs, max_len);
        let advice = || {
            format!(
                "KV cache for {seqs} sequences x {max_len} tokens (max prompt + max_new_tokens) needs {per_layer} bytes per layer \
                 for K and again for V, {total} bytes ({:.2} GiB) over {} layers",
                total as f64 / (1u64 << 30) as f64,
                config.num_layers
            )
        };
        if per_layer > gpu.max_binding() {
            bail!(
                "{}: over the device's largest storage binding ({} bytes); use fewer sequences per batch or fewer tokens",
                advice(),
                gpu.max_binding()
            );
        }
        let shape = [seqs * max_len, config.num_kv_heads, config.head_dim];
        let mut k = Vec::with_capacity(config.num_layers);
        let mut v = Vec::with_capacity(config.num_layers);
        for l in 0..config.num_layers {
            let kt = Tensor::zeros(gpu, &format!("kv_cache.{l}.k"), &shape, DType::F32)
                .map_err(|e| anyhow::anyhow!("{}: {e}", advice()))?;
            let vt = Tensor::zeros(gpu, &format!("kv_cache.{l}.v"), &shape, DType::F32)
                .map_err(|e| anyhow::anyhow!("{}: {e}", advice()))?;
            k.push(kt);
            v.push(vt);
        }
        Ok(KvCache { k, v, seqs, max_len, lens: vec![0; seqs] })
    }

    /// Can this cache serve `seqs` sequences of `max_len` tokens?
    pub fn fits(&self, seqs: usize, max_len: usize) -> bool {
        seqs <= self.seqs && max_len <= self.max_len
    }

    /// Forget every sequence (lengths to 0; the memory is reused).
    pub fn reset(&mut self) {
        self.lens.iter_mut().for_each(|l| *l = 0);
    }
}
