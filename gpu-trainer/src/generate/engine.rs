//! [`Engine`]: a Gemma checkpoint on the GPU, its tokenizer, a reusable
//! workspace and KV cache; full logits and batched generation.

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

/// A loaded model ready to run.
pub struct Engine {
    gpu: Gpu,
    model: GemmaModel,
    tokenizer: Option<GemmaTokenizer>,
    ws: Option<Workspace>,
    pub(super) cache: Option<KvCache>,
}

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

    /// [`Engine::load`] on an already opened GPU (tests: a forced small binding size).
    pub fn load_on(gpu: Gpu, dir: &Path, dtype: WeightDType) -> Result<Engine> {
        let config = Config::from_dir(dir)?;
        let weights = Weights::open_dir(dir)?;
        let dtype = match dtype {
            WeightDType::Auto => None,
            WeightDType::F32 => Some(DType::F32),
            WeightDType::F16 => Some(DType::F16),
            WeightDType::BF16 => Some(DType::BF16),
        };
        let model = GemmaModel::load(&gpu, config, &weights, dtype)
            .with_context(|| format!("loading {}", dir.display()))?;
        let tokenizer =
            if dir.join("tokenizer.json").exists() { Some(GemmaTokenizer::from_dir(dir)?) } else { None };
        Ok(Engine { gpu, model, tokenizer, ws: None, cache: None })
    }

    pub fn config(&self) -> &Config {
        &self.model.config
    }

    /// None when the directory has no tokenizer.json.
    pub fn tokenizer(&self) -> Option<&GemmaTokenizer> {
        self.tokenizer.as_ref()
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

    /// Make sure the KV cache holds `seqs` x `max_len`; reset its lengths.
    pub(super) fn cache_for(&mut self, seqs: usize, max_len: usize) -> Result<()> {
        if self.cache.as_ref().is_none_or(|c| !c.fits(seqs, max_len)) {
            self.cache = None; // free the old one before allocating (big models)
            self.cache = Some(KvCache::new(&self.gpu, &self.model.config, seqs, max_len)?);
        }
        self.cache.as_mut().expect("allocated").reset();
        Ok(())
    }

    /// One forward of a ragged step against the engine's cache.
    pub(super) fn step(&mut self, step: Step<'_>) -> Result<Vec<f32>> {
        let cache = self.cache.as_ref().context("no KV cache")?;
        self.model.forward(&self.gpu, &mut self.ws, cache, step)
    }

    /// Logits [T, vocab] (row-major, f32) of one sequence at positions 0..T.
    pub fn logits(&mut self, ids: &[u32]) -> Result<Vec<f32>> {
        if ids.is_empty() {
            bail!("logits of an empty sequence");
        }
        let t = ids.len();
        self.cache_for(1, t)?;
        let seqs = vec![0u32; t];
        let pos: Vec<u32> = (0..t as u32).collect();
        self.step(Step { ids, seqs: &seqs, pos: &pos, out_rows: &pos })
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
        let mut gens: Vec<Generation> = (0..b)
            .map(|_| Generation { ids: Vec::new(), logprobs: Vec::new(), stop: StopReason::MaxTokens })
            .collect();
        if b == 0 || opts.max_new_tokens == 0 {
            return Ok(gens);
        }
        let stop_ids = if opts.stop_ids.is_empty() { self.default_stop_ids() } else { opts.stop_ids.clone() };
        let cfg = opts.sampler();
        let vocab = self.model.config.vocab_size;
        let max_prompt = prompts.iter().map(Vec::len).max().unwrap_or(0);
        // the last sampled token is never fed back: max_prompt + max_new - 1 positions
        self.cache_for(b, max_prompt + opts.max_new_tokens - 1)?;
        let mut rngs: Vec<Rng> = streams.iter().map(|&s| Rng::from_stream(opts.seed, s)).collect();
        let mut done = vec![false; b];

        // prefill: all prompts in one ragged step, logits of each last token
        let mut ids = Vec::new();
        let mut seqs = Vec::new();
        let mut pos = Vec::new();
        let mut out_rows = Vec::new();
        for (s, p) in prompts.iter().enumerate() {
            ids.extend_from_slice(p);
            seqs.extend(std::iter::repeat_n(s as u32, p.len()));
            pos.extend(0..p.len() as u32);
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
            seqs = active.iter().map(|&s| s as u32).collect();
            pos = active.iter().map(|&s| (prompts[s].len() + gens[s].ids.len() - 1) as u32).collect();
            out_rows = (0..active.len() as u32).collect();
            logits = self.step(Step { ids: &ids, seqs: &seqs, pos: &pos, out_rows: &out_rows })?;
        }
        Ok(gens)
    }
}
