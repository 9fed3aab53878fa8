//! The GPU KV cache of a batch of sequences of different lengths.
//!
//! Per layer one K and one V tensor, f32 [seqs * max_len, kv_heads, head_dim]:
//! the (post-norm, post-RoPE) key of sequence `s` at position `p` is row
//! `s * max_len + p` (see `kernels::kv_cache`). Each sequence has its own
//! length; a decode step appends one token to every active sequence. Local
//! (sliding-window) layers keep the full length too (simple, and the tiny
//! models do not care); only their attention is windowed.
//!
//! Rows of a sequence beyond the position being computed are never read (the
//! attention of position p reads rows 0..=p of its own sequence), so a
//! sequence slot can be reused by a prompt that shares its first tokens with
//! what the slot held: prefix caching (`generate::prefix`). The copies below
//! move such prefixes between slots and into a larger cache.

use crate::model::Config;
use crate::runtime::Gpu;
use crate::tensor::{DType, Tensor};
use anyhow::{Context, Result, bail};

const NAME: &str = "kv_cache copy";

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

    /// Bytes of one cache row (one token of one layer's K or V).
    pub fn row_bytes(&self) -> u64 {
        self.k.first().map_or(0, |t| t.row_len() as u64 * 4)
    }

    /// Byte offset of (slot `s`, position 0).
    fn slot_offset(&self, s: usize) -> u64 {
        (s * self.max_len) as u64 * self.row_bytes()
    }

    /// Copy the first `lens[s]` rows of every slot `s` of `old` into the same
    /// slot of `self` (a larger cache replacing `old`), every layer, K and V,
    /// in one submit.
    pub fn copy_slots_from(&self, gpu: &Gpu, old: &KvCache, lens: &[usize]) -> Result<()> {
        if old.k.len() != self.k.len() || old.row_bytes() != self.row_bytes() {
            bail!(
                "KV cache copy: {} layers of {} byte rows into {} layers of {} byte rows",
                old.k.len(),
                old.row_bytes(),
                self.k.len(),
                self.row_bytes()
            );
        }
        if let Some((s, &n)) = lens
            .iter()
            .enumerate()
            .find(|&(s, &n)| n > 0 && (s >= old.seqs.min(self.seqs) || n > old.max_len.min(self.max_len)))
        {
            bail!(
                "KV cache copy: slot {s} with {n} rows does not fit {} x {} -> {} x {}",
                old.seqs,
                old.max_len,
                self.seqs,
                self.max_len
            );
        }
        let mut b = gpu.batch();
        for (from, to) in old.k.iter().zip(&self.k).chain(old.v.iter().zip(&self.v)) {
            let (src, dst) = (from.buffer(NAME)?, to.buffer(NAME)?);
            for (s, &n) in lens.iter().enumerate().filter(|&(_, &n)| n > 0) {
                b.copy(src, old.slot_offset(s), dst, self.slot_offset(s), n as u64 * self.row_bytes());
            }
        }
        b.submit().context("copying the KV cache into a larger one")?;
        Ok(())
    }

    /// For each `(src, dst, n)`: rows 0..n of slot `src` into slot `dst`, every
    /// layer, K and V, in one submit. Through a scratch buffer (WebGPU does not
    /// copy within one buffer), one copy after the other: a slot written by
    /// one copy must not be the source of another.
    pub fn copy_prefixes(&self, gpu: &Gpu, copies: &[(usize, usize, usize)]) -> Result<()> {
        for &(src, dst, n) in copies {
            if src >= self.seqs || dst >= self.seqs || src == dst || n > self.max_len {
                bail!(
                    "KV cache copy of {n} rows from slot {src} to slot {dst} in a {} x {} cache",
                    self.seqs,
                    self.max_len
                );
            }
            if copies.iter().any(|c| c.1 == src) {
                bail!("KV cache copy: slot {src} is both copied from and written");
            }
        }
        let longest = copies.iter().map(|c| c.2).max().unwrap_or(0);
        if longest == 0 {
            return Ok(());
        }
        let row_len = self.k.first().map_or(0, Tensor::row_len);
        let scratch = Tensor::zeros(gpu, "kv_cache copy scratch", &[longest, row_len], DType::F32)?;
        let tmp = scratch.buffer(NAME)?;
        let mut b = gpu.batch();
        for t in self.k.iter().chain(&self.v) {
            let buf = t.buffer(NAME)?;
            for &(src, dst, n) in copies.iter().filter(|c| c.2 > 0) {
                let bytes = n as u64 * self.row_bytes();
                b.copy(buf, self.slot_offset(src), tmp, 0, bytes);
                b.copy(tmp, 0, buf, self.slot_offset(dst), bytes);
            }
        }
        b.submit().context("copying prefixes between KV cache slots")?;
        Ok(())
    }
}
