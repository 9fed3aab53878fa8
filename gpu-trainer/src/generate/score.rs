//! Scoring continuations: log p(continuation | prompt), the sum of the log-probabilities of the
//! continuation's tokens, for many prompts and many continuations per prompt at once, with no
//! generation (the frequency-bias study scores every action's answer text this way).
//!
//! Each prompt's KV prefix is computed once and shared by all its continuations:
//!
//! 1. Prefill: every prompt of a chunk, extended by the longest token prefix its continuations
//!    have in common (minus one token, so each continuation keeps at least one token of its
//!    own), in ONE ragged forward. Its logits rows score the shared tokens (once per prompt) and
//!    the first own token of every continuation. When continuations differ only in their last
//!    token (`ACTION=red` vs `ACTION=blue` with one-token labels) this is the only forward.
//! 2. Tails: a continuation with two or more own tokens needs the prefix's keys and values in a
//!    cache slot of its own. The first such continuation of a prompt uses the prompt's slot; the
//!    others get a copy of the prefix rows (GPU buffer copies, no recomputation). All tails of the
//!    chunk then run in ONE more forward.
//!
//! Log-softmax is taken on the CPU in f64 over the downloaded logits rows. Chunks are bounded
//! by [`ScoreOptions`] (tokens and logits rows per forward, KV cache bytes); a prompt larger
//! than a bound runs alone in its chunk.

use super::Engine;
use crate::kv_cache::KvCache;
use crate::model::gemma::Step;
use crate::tensor::{DType, Tensor};
use anyhow::{Context, Result, bail};

/// Bounds on one scoring chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScoreOptions {
    /// Tokens per forward at most (prefill of the chunk's prompts, or its tails).
    pub max_step_tokens: usize,
    /// Logits rows read back per forward at most (each row is `vocab` f32).
    pub max_out_rows: usize,
    /// KV cache bytes at most (all the chunk's slots x its longest sequence).
    pub max_cache_bytes: u64,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        ScoreOptions { max_step_tokens: 8192, max_out_rows: 256, max_cache_bytes: 1 << 30 }
    }
}

/// How one prompt and its continuations are run.
#[derive(Clone, Debug)]
struct PromptPlan {
    prompt: usize,
    /// continuation tokens folded into the prefill (common to all its continuations)
    shared: usize,
    /// indices into the continuation list, in input order
    conts: Vec<usize>,
    /// the continuations with two or more own tokens (they need a second forward)
    multi: Vec<usize>,
    /// positions needed in the cache
    max_len: usize,
}

impl PromptPlan {
    fn prefill_len(&self, prompts: &[Vec<u32>]) -> usize {
        prompts[self.prompt].len() + self.shared
    }

    /// Cache slots: one per multi-token tail (the first reuses the prompt's), at least one.
    fn slots(&self) -> usize {
        self.multi.len().max(1)
    }

    fn tail_tokens(&self, conts: &[(usize, Vec<u32>)]) -> usize {
        self.multi.iter().map(|&c| conts[c].1.len() - self.shared - 1).sum()
    }
}

/// Length of the longest common prefix of the given token lists.
fn common_prefix(lists: &[&[u32]]) -> usize {
    let Some(first) = lists.first() else { return 0 };
    let mut n = first.len();
    for l in &lists[1..] {
        n = n.min(l.len());
        n = first.iter().zip(l.iter()).take(n).take_while(|(a, b)| a == b).count();
    }
    n
}

/// log softmax(row)[target] in f64.
fn log_prob(row: &[f32], target: u32) -> f64 {
    let m = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
    let lse = m + row.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln();
    row[target as usize] as f64 - lse
}

impl Engine {
    /// log p(continuation | prompt) for every `(prompt index, continuation tokens)` pair: the
    /// sum of the log-softmax of each continuation token given the prompt and the tokens
    /// before it (temperature 1, the model's full distribution). Results in input order.
    /// Prompts need at least one token (e.g. `<bos>`), continuations at least one.
    pub fn score_continuations(
        &mut self,
        prompts: &[Vec<u32>],
        continuations: &[(usize, Vec<u32>)],
    ) -> Result<Vec<f64>> {
        self.score_continuations_with(prompts, continuations, &ScoreOptions::default())
    }

    /// [`Engine::score_continuations`] with explicit chunk bounds.
    pub fn score_continuations_with(
        &mut self,
        prompts: &[Vec<u32>],
        continuations: &[(usize, Vec<u32>)],
        opts: &ScoreOptions,
    ) -> Result<Vec<f64>> {
        let vocab = self.config().vocab_size;
        if opts.max_step_tokens == 0 || opts.max_out_rows == 0 {
            bail!("score options: max_step_tokens and max_out_rows must be at least 1 ({opts:?})");
        }
        if let Some(i) = prompts.iter().position(|p| p.is_empty()) {
            bail!("prompt {i} is empty (at least one token, e.g. <bos>, is needed)");
        }
        for (c, (p, toks)) in continuations.iter().enumerate() {
            if *p >= prompts.len() {
                bail!("continuation {c} names prompt {p}, but there are {} prompts", prompts.len());
            }
            if toks.is_empty() {
                bail!("continuation {c} (of prompt {p}) is empty");
            }
            if let Some(&bad) = toks.iter().find(|&&t| t as usize >= vocab) {
                bail!("continuation {c}: token id {bad} is not below vocab_size {vocab}");
            }
        }
        let plans = plan(prompts, continuations);
        let mut scores = vec![0.0f64; continuations.len()];
        let mut start = 0;
        while start < plans.len() {
            let end = self.chunk_end(prompts, continuations, &plans, start, opts);
            self.score_chunk(prompts, continuations, &plans[start..end], &mut scores).with_context(|| {
                format!("scoring prompts {}..{}", plans[start].prompt, plans[end - 1].prompt)
            })?;
            start = end;
        }
        Ok(scores)
    }

    /// One past the last plan of the chunk starting at `start` (at least one plan).
    fn chunk_end(
        &self,
        prompts: &[Vec<u32>],
        conts: &[(usize, Vec<u32>)],
        plans: &[PromptPlan],
        start: usize,
        opts: &ScoreOptions,
    ) -> usize {
        let (mut tokens, mut rows, mut tails, mut slots, mut max_len) = (0, 0, 0, 0, 0);
        let mut end = start;
        while end < plans.len() {
            let p = &plans[end];
            let t = tokens + p.prefill_len(prompts);
            let r = rows + p.shared + 1;
            let tl = tails + p.tail_tokens(conts);
            let s = slots + p.slots();
            let ml = max_len.max(p.max_len);
            let bytes = KvCache::bytes_needed(self.config(), s, ml);
            let fits = t <= opts.max_step_tokens
                && r <= opts.max_out_rows
                && tl <= opts.max_step_tokens.min(opts.max_out_rows)
                && bytes <= opts.max_cache_bytes;
            if !fits && end > start {
                break;
            }
            (tokens, rows, tails, slots, max_len) = (t, r, tl, s, ml);
            end += 1;
        }
        end
    }

    /// Runs one chunk: the prefill forward, then (if any) the copies and the tails forward.
    fn score_chunk(
        &mut self,
        prompts: &[Vec<u32>],
        conts: &[(usize, Vec<u32>)],
        plans: &[PromptPlan],
        scores: &mut [f64],
    ) -> Result<()> {
        let vocab = self.config().vocab_size;
        let seqs: usize = plans.iter().map(PromptPlan::slots).sum();
        let max_len = plans.iter().map(|p| p.max_len).max().unwrap_or(1);
        self.cache_for(seqs, max_len)?;

        // slot of each plan's prompt, and of each multi-token continuation
        let mut prompt_slot = Vec::with_capacity(plans.len());
        let mut tail_slot: Vec<Vec<usize>> = Vec::with_capacity(plans.len());
        let mut next = 0usize;
        for p in plans {
            prompt_slot.push(next);
            tail_slot.push((0..p.multi.len()).map(|j| next + j).collect());
            next += p.slots();
        }

        // 1. prefill: prompt + shared tokens; rows P-1 ..= P+shared-1 of each
        let (mut ids, mut sq, mut pos, mut out) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut first_row = Vec::with_capacity(plans.len());
        for (p, &slot) in plans.iter().zip(&prompt_slot) {
            let prompt = &prompts[p.prompt];
            let shared = &conts[p.conts[0]].1[..p.shared];
            let base = ids.len();
            ids.extend_from_slice(prompt);
            ids.extend_from_slice(shared);
            let n = prompt.len() + p.shared;
            sq.extend(std::iter::repeat_n(slot as u32, n));
            pos.extend(0..n as u32);
            first_row.push(out.len());
            out.extend((prompt.len() - 1..n).map(|i| (base + i) as u32));
        }
        let logits = self.step(Step { ids: &ids, seqs: &sq, pos: &pos, out_rows: &out })?;
        let row = |r: usize| -> Result<&[f32]> {
            let x = &logits[r * vocab..(r + 1) * vocab];
            if x.iter().any(|v| v.is_nan()) {
                bail!("NaN in the logits");
            }
            Ok(x)
        };
        for (p, &r0) in plans.iter().zip(&first_row) {
            let c0 = &conts[p.conts[0]].1;
            let mut shared_lp = 0.0;
            for (j, &t) in c0[..p.shared].iter().enumerate() {
                shared_lp += log_prob(row(r0 + j)?, t);
            }
            let last = row(r0 + p.shared)?;
            for &c in &p.conts {
                scores[c] = shared_lp + log_prob(last, conts[c].1[p.shared]);
            }
        }
        if plans.iter().all(|p| p.multi.is_empty()) {
            return Ok(());
        }

        // 2. copy each prompt's prefix into the slots of its 2nd, 3rd, ... multi-token tail
        // (through a scratch buffer: WebGPU does not copy within one buffer)
        let cache = self.cache.as_ref().context("no KV cache")?;
        let cfg = self.config();
        let row_len = cfg.num_kv_heads * cfg.head_dim;
        let row_bytes = (row_len * 4) as u64;
        let cache_len = cache.max_len as u64;
        let longest = plans.iter().map(|p| p.prefill_len(prompts)).max().unwrap_or(1);
        let scratch = Tensor::zeros(self.gpu(), "score prefix scratch", &[longest, row_len], DType::F32)?;
        let tmp = scratch.buffer("score prefix copy")?;
        let mut b = self.gpu().batch();
        for ((p, &src), slots) in plans.iter().zip(&prompt_slot).zip(&tail_slot) {
            let bytes = p.prefill_len(prompts) as u64 * row_bytes;
            if slots.len() < 2 {
                continue;
            }
            for t in cache.k.iter().chain(&cache.v) {
                let buf = t.buffer("score prefix copy")?;
                b.copy(buf, src as u64 * cache_len * row_bytes, tmp, 0, bytes);
                for &dst in slots.iter().filter(|&&d| d != src) {
                    b.copy(tmp, 0, buf, dst as u64 * cache_len * row_bytes, bytes);
                }
            }
        }
        b.submit()?;

        // 3. tails: own tokens but the last, each predicting the next
        let (mut ids, mut sq, mut pos, mut targets) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (p, slots) in plans.iter().zip(&tail_slot) {
            let start = p.prefill_len(prompts);
            for (&c, &slot) in p.multi.iter().zip(slots) {
                let tail = &conts[c].1[p.shared..];
                for i in 0..tail.len() - 1 {
                    ids.push(tail[i]);
                    sq.push(slot as u32);
                    pos.push((start + i) as u32);
                    targets.push((c, tail[i + 1]));
                }
            }
        }
        let out: Vec<u32> = (0..ids.len() as u32).collect();
        let logits = self.step(Step { ids: &ids, seqs: &sq, pos: &pos, out_rows: &out })?;
        for (r, &(c, target)) in targets.iter().enumerate() {
            let x = &logits[r * vocab..(r + 1) * vocab];
            if x.iter().any(|v| v.is_nan()) {
                bail!("NaN in the logits of continuation {c}");
            }
            scores[c] += log_prob(x, target);
        }
        Ok(())
    }
}

/// Groups the continuations by prompt (prompts in first-appearance order) and decides what
/// each prompt shares with its continuations.
fn plan(prompts: &[Vec<u32>], conts: &[(usize, Vec<u32>)]) -> Vec<PromptPlan> {
    let mut index_of = vec![usize::MAX; prompts.len()];
    let mut plans: Vec<PromptPlan> = Vec::new();
    for (c, (p, _)) in conts.iter().enumerate() {
        if index_of[*p] == usize::MAX {
            index_of[*p] = plans.len();
            plans.push(PromptPlan {
                prompt: *p,
                shared: 0,
                conts: Vec::new(),
                multi: Vec::new(),
                max_len: 0,
            });
        }
        plans[index_of[*p]].conts.push(c);
    }
    for p in &mut plans {
        let lists: Vec<&[u32]> = p.conts.iter().map(|&c| conts[c].1.as_slice()).collect();
        let shortest = lists.iter().map(|l| l.len()).min().unwrap_or(1);
        p.shared = common_prefix(&lists).min(shortest - 1);
        p.multi = p.conts.iter().copied().filter(|&c| conts[c].1.len() - p.shared >= 2).collect();
        let longest = lists.iter().map(|l| l.len()).max().unwrap_or(1);
        // the last token of a continuation is only a target, never fed to the model
        p.max_len = prompts[p.prompt].len() + longest - 1;
    }
    plans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefix_and_plan() {
        assert_eq!(common_prefix(&[&[1, 2, 3], &[1, 2, 4], &[1, 2]]), 2);
        assert_eq!(common_prefix(&[&[1, 2, 3]]), 3);
        assert_eq!(common_prefix(&[&[5], &[6]]), 0);
        let prompts = vec![vec![2, 7], vec![2]];
        let conts = vec![(0, vec![9, 8, 1]), (1, vec![4]), (0, vec![9, 8, 3, 3]), (0, vec![9, 8, 1])];
        let plans = plan(&prompts, &conts);
        assert_eq!(plans.len(), 2);
        assert_eq!((plans[0].prompt, plans[0].shared), (0, 2));
        assert_eq!(plans[0].conts, vec![0, 2, 3]);
        assert_eq!(plans[0].multi, vec![2], "only the 4-token continuation has 2 own tokens");
        assert_eq!(plans[0].max_len, 2 + 4 - 1);
        assert_eq!(plans[0].tail_tokens(&conts), 1);
        // a single continuation shares all but its last token with the prefill
        assert_eq!((plans[1].prompt, plans[1].shared, plans[1].multi.len()), (1, 0, 0));
        let one = plan(&prompts, &[(1, vec![5, 6, 7])]);
        assert_eq!((one[0].shared, one[0].multi.len()), (2, 0));
    }

    #[test]
    fn log_prob_by_hand() {
        // log softmax([0, ln 3])[1] = ln(3/4)
        let lp = log_prob(&[0.0, 3f32.ln()], 1);
        assert!((lp - 0.75f64.ln()).abs() < 1e-7, "{lp}");
    }
}
