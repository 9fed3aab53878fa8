//! [`Engine`]: a Gemma checkpoint on the GPU, its tokenizer, a reusable
//! workspace and KV cache; full logits and batched generation.
//!
//! Prefix caching (on by default, [`Engine::set_prefix_cache`]): the engine
//! remembers which token ids have their K/V in each cache slot
//! ([`SlotTokens`]), and a generate call whose prompts start with those ids
//! (an evaluation step: the previous prompt + its answer + more) prefills only
//! the new tokens (see [`super::prefix`]). The state stays truthful by
//! construction: every forward goes through [`Engine::step`], which first
//! forgets what a slot held at and beyond each position it writes, and
//! [`Engine::cache_for`], the entry of any exclusive user of the cache (who
//! may also copy into it directly), forgets everything.

use super::prefix::{self, Placement, PrefixStats, SlotTokens};
use super::sampler;
use super::{GenerateOptions, Generation, LoadOptions, StopReason, WeightDType};
use crate::kv_cache::KvCache;
use crate::model::gemma::{GemmaModel, Step, Workspace};
use crate::model::{Config, GemmaTokenizer, Weights};
use crate::runtime::{Gpu, GpuOptions};
use crate::tensor::DType;
use anyhow::{Context, Result, bail};
use env_core::Rng;
use std::path::Path;
use std::sync::Arc;

/// A loaded model ready to run.
pub struct Engine {
    /// shared with a [`crate::train::learner::GpuLearner`] when the engine runs its live weights
    gpu: Arc<Gpu>,
    model: GemmaModel,
    tokenizer: Option<GemmaTokenizer>,
    /// why tokenizer.json did not load (it is needed only for text, so loading goes on)
    tokenizer_error: Option<String>,
    ws: Option<Workspace>,
    /// The KV cache. Write to it only through [`Engine::step`], or after
    /// [`Engine::cache_for`] (which forgets the prefix state).
    pub(super) cache: Option<KvCache>,
    /// token ids whose K/V are valid in each cache slot
    slots: SlotTokens,
    /// reuse cached prefixes across generate calls
    prefix_cache: bool,
    stats: PrefixStats,
}

/// GPU bytes an [`Engine`] holds, by what holds them ([`Engine::memory_bytes`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineMemory {
    /// The weights (an engine over a training model's live weights shares them: not its own).
    pub weights: u64,
    /// The KV cache as allocated (its length rounded up to a multiple of 256 positions when
    /// that fits; grown, never shrunk, by generation and scoring).
    pub kv_cache: u64,
    /// The activation workspace, sized for the largest step so far.
    pub workspace: u64,
}

/// KV cache bytes one [`Engine::score_tokens`] chunk uses at most (a chunk holds at least one
/// sequence whatever its length).
pub const SCORE_CACHE_BYTES: u64 = 512 << 20;

/// A larger cache is allocated with its length rounded up to a multiple of
/// this, so prompts that grow a little each call do not reallocate each time.
const CACHE_LEN_STEP: usize = 256;

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("gpu", &self.gpu).field("weights", &self.model.weight_dtype()).finish()
    }
}

impl Engine {
    /// Open the GPU (`opts.adapter`, else `GREEDY_ADAPTER`), read
    /// `config.json`, the safetensors weights (single or sharded) and, when
    /// present, `tokenizer.json` from `dir`, and upload the weights once.
    pub fn load(dir: &Path, opts: &LoadOptions) -> Result<Engine> {
        let gpu = Gpu::with_options(GpuOptions { adapter: opts.adapter.clone(), ..Default::default() })?;
        Self::load_on(gpu, dir, opts.dtype)
    }

    /// An engine over a training model's LIVE weights: the same GPU buffers (f32), no copy,
    /// so it generates from whatever the last optimizer step left in them. `gpu` must be the one
    /// the model lives on. Only the engine's own workspace and KV cache are allocated (lazily).
    pub fn from_train_model(
        gpu: Arc<Gpu>,
        model: &crate::train::TrainModel,
        tokenizer: Option<GemmaTokenizer>,
    ) -> Result<Engine> {
        let model = GemmaModel::from_params(model.config().clone(), model.params())?;
        Ok(Engine::with_parts(gpu, model, tokenizer, None))
    }

    fn with_parts(
        gpu: Arc<Gpu>,
        model: GemmaModel,
        tokenizer: Option<GemmaTokenizer>,
        tokenizer_error: Option<String>,
    ) -> Engine {
        Engine {
            gpu,
            model,
            tokenizer,
            tokenizer_error,
            ws: None,
            cache: None,
            slots: SlotTokens::default(),
            prefix_cache: true,
            stats: PrefixStats::default(),
        }
    }

    /// [`Engine::load`] on a GPU shared with others (RL: the learner and the reference model on
    /// one device).
    pub fn load_shared(gpu: Arc<Gpu>, dir: &Path, dtype: WeightDType) -> Result<Engine> {
        let (model, tokenizer, tokenizer_error) = Self::load_parts(&gpu, dir, dtype)?;
        Ok(Engine::with_parts(gpu, model, tokenizer, tokenizer_error))
    }

    /// [`Engine::load`] on an already opened GPU (tests: a forced small binding size).
    pub fn load_on(gpu: Gpu, dir: &Path, dtype: WeightDType) -> Result<Engine> {
        let (model, tokenizer, tokenizer_error) = Self::load_parts(&gpu, dir, dtype)?;
        Ok(Engine::with_parts(Arc::new(gpu), model, tokenizer, tokenizer_error))
    }

    #[allow(clippy::type_complexity)]
    fn load_parts(
        gpu: &Gpu,
        dir: &Path,
        dtype: WeightDType,
    ) -> Result<(GemmaModel, Option<GemmaTokenizer>, Option<String>)> {
        let config = Config::from_dir(dir)?;
        let weights = Weights::open_dir(dir)?;
        let dtype = match dtype {
            WeightDType::Auto => None,
            WeightDType::F32 => Some(DType::F32),
            WeightDType::F16 => Some(DType::F16),
            WeightDType::BF16 => Some(DType::BF16),
        };
        let model = GemmaModel::load(gpu, config, &weights, dtype)
            .with_context(|| format!("loading {}", dir.display()))?;
        // A broken tokenizer.json does not stop token-id work (`--ids`): the error is kept for
        // whoever needs text.
        let (tokenizer, tokenizer_error) = if dir.join("tokenizer.json").exists() {
            match GemmaTokenizer::from_dir(dir) {
                Ok(t) => (Some(t), None),
                Err(e) => (None, Some(e.to_string())),
            }
        } else {
            (None, None)
        };
        Ok((model, tokenizer, tokenizer_error))
    }

    pub fn config(&self) -> &Config {
        &self.model.config
    }

    /// None when the directory has no tokenizer.json, or it did not load
    /// ([`Engine::tokenizer_error`] says why).
    pub fn tokenizer(&self) -> Option<&GemmaTokenizer> {
        self.tokenizer.as_ref()
    }

    /// Why the directory's tokenizer.json did not load, if it did not.
    pub fn tokenizer_error(&self) -> Option<&str> {
        self.tokenizer_error.as_deref()
    }

    /// The GPU adapter's name (e.g. "llvmpipe (LLVM 15.0.7, 256 bits)").
    pub fn adapter_name(&self) -> String {
        self.gpu.adapter_info().name.clone()
    }

    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    pub fn model(&self) -> &GemmaModel {
        &self.model
    }

    /// The stop ids used when `GenerateOptions::stop_ids` is empty: the
    /// config's eos ids, plus the tokenizer's `<eos>` and `<end_of_turn>`.
    pub fn default_stop_ids(&self) -> Vec<u32> {
        let mut ids = self.model.config.eos_token_ids.clone();
        if let Some(t) = &self.tokenizer {
            ids.extend(t.stop_ids());
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Turn prefix caching on (the default) or off. Off, every generate call
    /// prefills its prompts from position 0 in slots 0.. (benchmarks, tests);
    /// either way the cached prefixes are forgotten.
    pub fn set_prefix_cache(&mut self, on: bool) {
        self.prefix_cache = on;
        self.slots.forget_all();
    }

    /// Is prefix caching on?
    pub fn prefix_cache(&self) -> bool {
        self.prefix_cache
    }

    /// Prompt tokens prefilled vs reused from the cache, over the generate
    /// calls since load (or [`Engine::reset_prefix_stats`]).
    pub fn prefix_stats(&self) -> PrefixStats {
        self.stats
    }

    /// What the engine holds on the GPU now (the cache and workspace are allocated lazily, by
    /// the first generation or scoring, and grow with the largest one).
    pub fn memory_bytes(&self) -> EngineMemory {
        let kv = self.cache.as_ref().map_or(0, |c| {
            c.k.iter().chain(&c.v).map(|t| t.parts().iter().map(|p| p.buffer.size()).sum::<u64>()).sum()
        });
        EngineMemory {
            weights: self.model.weight_bytes(),
            kv_cache: kv,
            workspace: self.ws.as_ref().map_or(0, Workspace::bytes),
        }
    }

    pub fn reset_prefix_stats(&mut self) {
        self.stats = PrefixStats::default();
    }

    /// Exclusive use of the KV cache: make sure it holds `seqs` x `max_len`,
    /// reset its lengths and forget every cached prefix, so the caller may
    /// write any slot (through [`Engine::step`] or by direct copies).
    #[allow(dead_code)] // the entry of exclusive users of the cache (scoring)
    pub(super) fn cache_for(&mut self, seqs: usize, max_len: usize) -> Result<()> {
        self.slots.forget_all();
        self.reserve(seqs, max_len)?;
        self.cache.as_mut().context("no KV cache")?.reset();
        Ok(())
    }

    /// Make sure the KV cache holds `seqs` x `max_len`, keeping the cached
    /// prefixes: a larger cache (its length rounded up to [`CACHE_LEN_STEP`],
    /// never smaller than the old one in either dimension) gets the valid rows
    /// of the old one copied in. When both do not fit at once, the old one is
    /// freed first and its prefixes forgotten.
    fn reserve(&mut self, seqs: usize, max_len: usize) -> Result<()> {
        let (old_seqs, old_len) = self.cache.as_ref().map_or((0, 0), |c| (c.seqs, c.max_len));
        if seqs <= old_seqs && max_len <= old_len {
            return Ok(());
        }
        let seqs = seqs.max(old_seqs);
        let exact = max_len.max(old_len);
        let lens = self.slots.lens(old_seqs);
        if lens.iter().all(|&l| l == 0) {
            self.drop_cache(); // nothing to keep: free before allocating (big models)
        }
        let mut new = self.alloc_cache(seqs, exact);
        if new.is_err() && self.cache.is_some() {
            self.drop_cache();
            new = self.alloc_cache(seqs, exact);
        }
        let new = new?;
        let old = self.cache.take();
        let copied = old.map_or(Ok(()), |old| new.copy_slots_from(&self.gpu, &old, &lens));
        self.cache = Some(new);
        if copied.is_err() {
            self.slots.forget_all();
        }
        copied
    }

    /// Free the KV cache (and so forget its prefixes).
    fn drop_cache(&mut self) {
        self.cache = None;
        self.slots.forget_all();
    }

    /// A cache of `seqs` x `exact` rounded up to [`CACHE_LEN_STEP`], or of
    /// exactly `exact` when the rounded one does not fit.
    fn alloc_cache(&self, seqs: usize, exact: usize) -> Result<KvCache> {
        let roomy = exact.next_multiple_of(CACHE_LEN_STEP);
        let cfg = &self.model.config;
        if roomy > exact
            && let Ok(c) = KvCache::new(&self.gpu, cfg, seqs, roomy)
        {
            return Ok(c);
        }
        KvCache::new(&self.gpu, cfg, seqs, exact)
    }

    /// One forward of a ragged step against the engine's cache. Every slot
    /// it writes forgets its cached tokens from the first position written.
    ///
    /// A step larger than one forward may hold (an activation [tokens, width]
    /// or the [rows, vocab] logits must fit one storage binding) runs as
    /// consecutive pieces of its token list: each sequence's tokens come in
    /// position order, so a later piece attends to keys and values an earlier
    /// piece wrote. The logits come back in `out_rows` order either way.
    pub(super) fn step(&mut self, step: Step<'_>) -> Result<Vec<f32>> {
        self.step_out(step, None)
    }

    /// [`Engine::step`]; with `targets` (one per output row) the log-prob of each row's target
    /// comes back instead of its logits (one float per row, computed on the GPU).
    fn step_out(&mut self, step: Step<'_>, targets: Option<&[u32]>) -> Result<Vec<f32>> {
        if let Some(ctx) = self.config().max_position_embeddings
            && let Some(&p) = step.pos.iter().max()
            && p as usize >= ctx
        {
            bail!(
                "position {p} is past the model's context of {ctx} tokens (max_position_embeddings): a sequence of {} tokens",
                p as usize + 1
            );
        }
        for (&s, &p) in step.seqs.iter().zip(step.pos) {
            self.slots.truncate(s as usize, p as usize);
        }
        let (max_tokens, max_rows) = (self.tokens_per_step(), self.logits_rows_per_step());
        let n = step.ids.len();
        if let Some(t) = targets
            && t.len() != step.out_rows.len()
        {
            bail!("{} targets for {} output rows", t.len(), step.out_rows.len());
        }
        let run = |model: &GemmaModel,
                   gpu: &Gpu,
                   ws: &mut Option<Workspace>,
                   cache: &KvCache,
                   s: Step<'_>,
                   t: Option<&[u32]>| match t {
            Some(t) => model.forward_logprobs(gpu, ws, cache, s, t),
            None => model.forward(gpu, ws, cache, s),
        };
        if n <= max_tokens && step.out_rows.len() <= max_rows {
            let cache = self.cache.as_ref().context("no KV cache")?;
            return run(&self.model, &self.gpu, &mut self.ws, cache, step, targets);
        }
        // per output row: vocab floats (logits) or one (a target's log-prob)
        let vocab = if targets.is_some() { 1 } else { self.config().vocab_size };
        if let Some(&bad) = step.out_rows.iter().find(|&&o| o as usize >= n) {
            bail!("output row {bad} of a {n}-token step");
        }
        // output rows by token index, to cut pieces with at most max_rows of them
        let mut wanted: Vec<(u32, usize)> = step.out_rows.iter().enumerate().map(|(i, &o)| (o, i)).collect();
        wanted.sort_unstable();
        let mut out = vec![0f32; step.out_rows.len() * vocab];
        let (mut start, mut w) = (0usize, 0usize);
        while start < n {
            let mut end = (start + max_tokens).min(n);
            let first = w;
            while w < wanted.len() && (wanted[w].0 as usize) < end && w - first < max_rows {
                w += 1;
            }
            if w - first == max_rows && w < wanted.len() && (wanted[w].0 as usize) < end {
                // the piece ends before the first row that does not fit (and its duplicates)
                end = wanted[w].0 as usize;
                while w > first && wanted[w - 1].0 as usize >= end {
                    w -= 1;
                }
                if end <= start {
                    bail!("step: more than {max_rows} requests of output row {start}");
                }
            }
            let rows: Vec<u32> = wanted[first..w].iter().map(|&(o, _)| o - start as u32).collect();
            let piece_targets: Option<Vec<u32>> =
                targets.map(|t| wanted[first..w].iter().map(|&(_, i)| t[i]).collect());
            let piece = Step {
                ids: &step.ids[start..end],
                seqs: &step.seqs[start..end],
                pos: &step.pos[start..end],
                out_rows: &rows,
            };
            let cache = self.cache.as_ref().context("no KV cache")?;
            let logits = run(&self.model, &self.gpu, &mut self.ws, cache, piece, piece_targets.as_deref())?;
            for (j, &(_, i)) in wanted[first..w].iter().enumerate() {
                out[i * vocab..(i + 1) * vocab].copy_from_slice(&logits[j * vocab..(j + 1) * vocab]);
            }
            start = end;
        }
        Ok(out)
    }

    /// Tokens one forward may hold: each activation [tokens, width] (the
    /// widest is the MLP's, or the attention's) must fit one storage binding.
    /// At most 8192, at least 1.
    pub fn tokens_per_step(&self) -> usize {
        let c = self.config();
        let width =
            [c.hidden_size, c.intermediate_size, c.num_heads * c.head_dim, c.num_kv_heads * c.head_dim]
                .into_iter()
                .max()
                .unwrap_or(1) as u64;
        ((self.gpu.max_binding() / (width * 4).max(1)) as usize).clamp(1, 8192)
    }

    /// Logits rows one forward can return: as many `vocab`-wide f32 rows as fit
    /// one storage binding (the [rows, vocab] logits tensor is not split), at
    /// most 512, at least 1.
    pub fn logits_rows_per_step(&self) -> usize {
        let row_bytes = (self.config().vocab_size as u64 * 4).max(1);
        ((self.gpu.max_binding() / row_bytes) as usize).clamp(1, 512)
    }

    /// Teacher forcing: per sequence `(ids, from)`, `log p(ids[t] | ids[..t])` for every
    /// `t in from..ids.len()` (`from >= 1`), under this model at temperature 1 (after the final
    /// soft-cap): what a given completion scores, with no sampling. The log-softmax is taken on
    /// the GPU; one float per scored token is read back. Sequences run together, each in its own
    /// cache slot from position 0, in chunks bounded by [`SCORE_CACHE_BYTES`] of KV cache (steps
    /// larger than one forward run in pieces, see `step`). The prefix cache is not used (and is
    /// forgotten).
    pub fn score_tokens(&mut self, seqs: &[(Vec<u32>, usize)]) -> Result<Vec<Vec<f32>>> {
        for (i, (ids, from)) in seqs.iter().enumerate() {
            if *from == 0 || *from > ids.len() {
                bail!("sequence {i}: scoring from position {from} of {} tokens (1..=len)", ids.len());
            }
        }
        let c = self.config();
        let kv_row = (c.num_layers * 2 * c.num_kv_heads * c.head_dim * 4) as u64;
        let mut out = vec![Vec::new(); seqs.len()];
        let mut start = 0;
        while start < seqs.len() {
            // the chunk: as many sequences as fit the cache budget (at least one)
            let mut end = start;
            let mut longest = 0usize;
            while end < seqs.len() {
                let len = seqs[end].0.len().max(1);
                let l = longest.max(len);
                if end > start && (end + 1 - start) as u64 * l as u64 * kv_row > SCORE_CACHE_BYTES {
                    break;
                }
                longest = l;
                end += 1;
            }
            self.cache_for(end - start, longest)?;
            let (mut ids, mut sq, mut pos, mut rows, mut targets) = (vec![], vec![], vec![], vec![], vec![]);
            for (slot, (seq, from)) in seqs[start..end].iter().enumerate() {
                // positions 0..len-1 predict tokens 1..len; the last token is not fed
                let fed = seq.len() - 1;
                let base = ids.len() as u32;
                for (p, &id) in seq[..fed].iter().enumerate() {
                    ids.push(id);
                    sq.push(slot as u32);
                    pos.push(p as u32);
                }
                for (t, &id) in seq.iter().enumerate().skip(*from) {
                    rows.push(base + (t - 1) as u32);
                    targets.push(id);
                }
            }
            let lp = if rows.is_empty() {
                Vec::new()
            } else {
                self.step_out(Step { ids: &ids, seqs: &sq, pos: &pos, out_rows: &rows }, Some(&targets))?
            };
            let mut k = 0;
            for (i, (seq, from)) in seqs[start..end].iter().enumerate() {
                let n = seq.len() - from;
                out[start + i] = lp[k..k + n].to_vec();
                k += n;
            }
            self.slots.forget_all();
            start = end;
        }
        Ok(out)
    }

    /// Logits [T, vocab] (row-major, f32) of one sequence at positions 0..T.
    /// Runs in a slot that loses the least cached prefix (see
    /// [`prefix::scratch_slot`]), which then holds `ids`. Long sequences run
    /// in pieces (see `step`), so any length the cache can hold works.
    pub fn logits(&mut self, ids: &[u32]) -> Result<Vec<f32>> {
        if ids.is_empty() {
            bail!("logits of an empty sequence");
        }
        let t = ids.len();
        let seqs = self.cache.as_ref().map_or(0, |c| c.seqs);
        let slot = if self.prefix_cache { prefix::scratch_slot(&self.slots, ids, seqs) } else { 0 };
        self.reserve(slot + 1, t)?;
        let sq = vec![slot as u32; t];
        let pos: Vec<u32> = (0..t as u32).collect();
        let logits = self.step(Step { ids, seqs: &sq, pos: &pos, out_rows: &pos })?;
        if self.prefix_cache {
            self.slots.set(slot, ids.to_vec());
        }
        Ok(logits)
    }

    /// Generate for every prompt at once; sequence b samples from
    /// `Rng::from_stream(opts.seed, b)`.
    pub fn generate(&mut self, prompts: &[Vec<u32>], opts: &GenerateOptions) -> Result<Vec<Generation>> {
        let streams: Vec<u64> = (0..prompts.len() as u64).collect();
        self.generate_streams(prompts, &streams, opts)
    }

    /// [`Engine::generate`] with explicit RNG streams: prompt i samples from
    /// `Rng::from_stream(opts.seed, streams[i])`, so its output does not
    /// depend on the other prompts of the batch (generating it alone with the
    /// same stream gives the same ids).
    pub fn generate_streams(
        &mut self,
        prompts: &[Vec<u32>],
        streams: &[u64],
        opts: &GenerateOptions,
    ) -> Result<Vec<Generation>> {
        let b = prompts.len();
        if streams.len() != b {
            bail!("{b} prompts but {} RNG streams", streams.len());
        }
        if let Some(i) = prompts.iter().position(|p| p.is_empty()) {
            bail!("prompt {i} is empty (at least one token, e.g. <bos>, is needed)");
        }
        if !(opts.temperature >= 0.0 && opts.temperature.is_finite()) {
            bail!("temperature {} must be finite and >= 0", opts.temperature);
        }
        if opts.top_p.is_some_and(|p| !(p > 0.0 && p <= 1.0)) {
            bail!("top_p {:?} must be in (0, 1]", opts.top_p);
        }
        if let Some(ctx) = self.config().max_position_embeddings
            && opts.max_new_tokens > 0
            && let Some((i, p)) =
                prompts.iter().enumerate().find(|(_, p)| p.len() + opts.max_new_tokens - 1 > ctx)
        {
            // the last sampled token is never fed back: prompt + max_new - 1 positions are run
            bail!(
                "prompt {i} has {} tokens: with {} new tokens it runs past the model's context of {ctx} tokens (max_position_embeddings); shorten the prompt or lower the generation budget",
                p.len(),
                opts.max_new_tokens
            );
        }
        let mut gens: Vec<Generation> = (0..b)
            .map(|_| Generation {
                ids: Vec::new(),
                logprobs: Vec::new(),
                stop: StopReason::MaxTokens,
                entropies: Vec::new(),
            })
            .collect();
        if b == 0 || opts.max_new_tokens == 0 {
            return Ok(gens);
        }
        let stop_ids = if opts.stop_ids.is_empty() { self.default_stop_ids() } else { opts.stop_ids.clone() };
        let cfg = opts.sampler();
        let vocab = self.model.config.vocab_size;
        let max_prompt = prompts.iter().map(Vec::len).max().unwrap_or(0);
        let places = self.place(prompts);
        // the last sampled token is never fed back: max_prompt + max_new - 1 positions
        let slots_needed = places.iter().map(|p| p.slot + 1).max().unwrap_or(b);
        self.reserve(slots_needed, max_prompt + opts.max_new_tokens - 1)?;
        self.load_prefixes(prompts, &places)?;
        let slot: Vec<u32> = places.iter().map(|p| p.slot as u32).collect();
        // RNG streams follow the caller's prompts, not the slots
        let mut rngs: Vec<Rng> = streams.iter().map(|&s| Rng::from_stream(opts.seed, s)).collect();
        let mut done = vec![false; b];

        // prefill: every prompt's uncached tail in one ragged step, logits of each last token
        let mut ids = Vec::new();
        let mut seqs = Vec::new();
        let mut pos = Vec::new();
        let mut out_rows = Vec::new();
        for ((p, pl), &s) in prompts.iter().zip(&places).zip(&slot) {
            ids.extend_from_slice(&p[pl.reuse..]);
            seqs.extend(std::iter::repeat_n(s, p.len() - pl.reuse));
            pos.extend(pl.reuse as u32..p.len() as u32);
            out_rows.push(ids.len() as u32 - 1);
        }
        let mut active: Vec<usize> = (0..b).collect();
        let mut logits = self.step(Step { ids: &ids, seqs: &seqs, pos: &pos, out_rows: &out_rows })?;
        loop {
            for (r, &s) in active.iter().enumerate() {
                let row = &logits[r * vocab..(r + 1) * vocab];
                if row.iter().any(|v| v.is_nan()) {
                    bail!("NaN in the logits of sequence {s}");
                }
                let (id, lp) = sampler::sample(row, &cfg, &mut rngs[s]);
                let g = &mut gens[s];
                g.ids.push(id);
                g.logprobs.push(lp);
                if opts.entropy {
                    g.entropies.push(sampler::entropy(row) as f32);
                }
                if stop_ids.contains(&id) {
                    g.stop = StopReason::Eos(id);
                    done[s] = true;
                } else if g.ids.len() >= opts.max_new_tokens {
                    done[s] = true;
                }
            }
            active.retain(|&s| !done[s]);
            if active.is_empty() {
                break;
            }
            // decode: one token for every unfinished sequence, in one forward
            ids = active.iter().map(|&s| *gens[s].ids.last().expect("sampled")).collect();
            seqs = active.iter().map(|&s| slot[s]).collect();
            pos = active.iter().map(|&s| (prompts[s].len() + gens[s].ids.len() - 1) as u32).collect();
            out_rows = (0..active.len() as u32).collect();
            logits = self.step(Step { ids: &ids, seqs: &seqs, pos: &pos, out_rows: &out_rows })?;
        }
        if self.prefix_cache {
            // valid now: the prompt and every generated id but the last (never fed)
            for ((p, g), &s) in prompts.iter().zip(&gens).zip(&slot) {
                let mut held = Vec::with_capacity(p.len() + g.ids.len());
                held.extend_from_slice(p);
                held.extend_from_slice(&g.ids[..g.ids.len().saturating_sub(1)]);
                self.slots.set(s as usize, held);
            }
        }
        Ok(gens)
    }

    /// The slot of each prompt and the prefix it reuses ([`prefix::plan`]);
    /// with prefix caching off, prompt i in slot i from position 0. Counts
    /// the prefilled and reused tokens.
    fn place(&mut self, prompts: &[Vec<u32>]) -> Vec<Placement> {
        let places = if self.prefix_cache {
            prefix::plan(&self.slots, prompts, true)
        } else {
            (0..prompts.len()).map(|slot| Placement { slot, reuse: 0, copy_from: None }).collect()
        };
        let st = &mut self.stats;
        st.calls += 1;
        for (p, pl) in prompts.iter().zip(&places) {
            st.reused += pl.reuse as u64;
            st.prefilled += (p.len() - pl.reuse) as u64;
            if pl.copy_from.is_some() {
                st.copied += pl.reuse as u64;
            }
        }
        places
    }

    /// Make rows 0..reuse of every prompt's slot hold its prefix: forget what
    /// the slots held beyond, and copy the prefixes that come from other slots.
    fn load_prefixes(&mut self, prompts: &[Vec<u32>], places: &[Placement]) -> Result<()> {
        let mut copies = Vec::new();
        for pl in places {
            match pl.copy_from {
                Some(src) => {
                    self.slots.truncate(pl.slot, 0);
                    copies.push((src, pl.slot, pl.reuse));
                }
                None => self.slots.truncate(pl.slot, pl.reuse),
            }
        }
        if copies.is_empty() {
            return Ok(());
        }
        self.cache.as_ref().context("no KV cache")?.copy_prefixes(&self.gpu, &copies)?;
        for (p, pl) in prompts.iter().zip(places).filter(|(_, pl)| pl.copy_from.is_some()) {
            self.slots.set(pl.slot, p[..pl.reuse].to_vec());
        }
        Ok(())
    }
}
