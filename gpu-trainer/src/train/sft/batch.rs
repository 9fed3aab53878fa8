//! From examples to what the model trains on: token ids with a loss weight per position, and the
//! seeded order in which the examples are visited.
//!
//! A sequence is `<bos> prompt target <end_of_turn>`, the prompt and the target tokenized apart
//! (as at inference, where the prompt is tokenized alone and the answer generated after it).
//! `weights[t]` is the loss weight of predicting `ids[t]` from `ids[..t]`: zero on `<bos>` and the
//! prompt, `1 / (target tokens of the whole optimizer batch)` on the target and `<end_of_turn>`,
//! so the summed loss of a batch, over all its micro-batches, is the mean cross-entropy per
//! target token.

use super::data::Example;
use crate::model::GemmaTokenizer;
use crate::train::Sequence;
use anyhow::{Result, bail};
use env_core::Rng;

/// An example's token ids and where its target starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenizedExample {
    /// `<bos>`, the prompt's tokens, the target's tokens, `<end_of_turn>`.
    pub ids: Vec<u32>,
    /// Positions `prompt_len..` are the target (`ids[..prompt_len]` is `<bos>` + prompt).
    pub prompt_len: usize,
}

impl TokenizedExample {
    /// Number of target tokens (the closing `<end_of_turn>` included).
    pub fn target_len(&self) -> usize {
        self.ids.len() - self.prompt_len
    }
}

/// Tokenizes one example; `max_len` bounds the whole sequence (the model's context).
pub fn tokenize(tok: &GemmaTokenizer, ex: &Example, max_len: usize) -> Result<TokenizedExample> {
    let mut ids = vec![tok.bos_id];
    ids.extend(tok.encode(&ex.prompt, false).map_err(anyhow::Error::msg)?);
    let prompt_len = ids.len();
    ids.extend(tok.encode(&ex.target, false).map_err(anyhow::Error::msg)?);
    ids.push(tok.end_of_turn_id);
    if ids.len() > max_len {
        bail!(
            "an example has {} tokens ({} of prompt, {} of target), more than the {max_len} allowed \
             (--max-len, or the model's max_position_embeddings): use shorter prompts (e.g. a shorter --horizon)",
            ids.len(),
            prompt_len,
            ids.len() - prompt_len
        );
    }
    Ok(TokenizedExample { ids, prompt_len })
}

/// The sequences of one optimizer batch, weighted `1 / total target tokens`, and that total.
pub fn weigh_batch(batch: &[TokenizedExample]) -> (Vec<Sequence>, usize) {
    let total: usize = batch.iter().map(TokenizedExample::target_len).sum();
    let w = if total > 0 { 1.0 / total as f32 } else { 0.0 };
    let seqs = batch
        .iter()
        .map(|ex| {
            let weights =
                (0..ex.ids.len()).map(|t| if t >= ex.prompt_len && t > 0 { w } else { 0.0 }).collect();
            Sequence::new(ex.ids.clone(), weights)
        })
        .collect();
    (seqs, total)
}

/// The order examples are visited in: epoch `e` is a permutation of `0..n` shuffled by
/// `Rng::from_stream(seed, e)`, and the examples are read epoch after epoch. Position `g` of the
/// stream (the data cursor a checkpoint stores) fixes everything, so a resumed run reads the
/// same examples as an uninterrupted one.
#[derive(Debug, Clone)]
pub struct DataOrder {
    n: usize,
    seed: u64,
    epoch: u64,
    perm: Vec<usize>,
}

impl DataOrder {
    /// The order of `n` examples under `seed`.
    pub fn new(n: usize, seed: u64) -> Result<DataOrder> {
        if n == 0 {
            bail!("no training examples");
        }
        let mut order = DataOrder { n, seed, epoch: 0, perm: Vec::new() };
        order.shuffle(0);
        Ok(order)
    }

    fn shuffle(&mut self, epoch: u64) {
        self.perm = (0..self.n).collect();
        Rng::from_stream(self.seed, epoch).shuffle(&mut self.perm);
        self.epoch = epoch;
    }

    /// The example at stream position `g`.
    pub fn at(&mut self, g: u64) -> usize {
        let epoch = g / self.n as u64;
        if epoch != self.epoch {
            self.shuffle(epoch);
        }
        self.perm[(g % self.n as u64) as usize]
    }

    /// The examples at positions `cursor..cursor + count`.
    pub fn take(&mut self, cursor: u64, count: usize) -> Vec<usize> {
        (cursor..cursor + count as u64).map(|g| self.at(g)).collect()
    }

    /// The epoch of stream position `g`.
    pub fn epoch_of(&self, g: u64) -> u64 {
        g / self.n as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_cover_exactly_the_targets_and_sum_to_one() {
        let a = TokenizedExample { ids: vec![2, 10, 11, 12, 20, 21, 5], prompt_len: 4 };
        let b = TokenizedExample { ids: vec![2, 13, 22, 5], prompt_len: 2 };
        let (seqs, total) = weigh_batch(&[a.clone(), b.clone()]);
        assert_eq!(total, 3 + 2);
        let w = 1.0 / 5.0;
        assert_eq!(seqs[0].weights, vec![0.0, 0.0, 0.0, 0.0, w, w, w]);
        assert_eq!(seqs[1].weights, vec![0.0, 0.0, w, w]);
        let sum: f32 = seqs.iter().flat_map(|s| &s.weights).sum();
        assert!((sum - 1.0).abs() < 1e-6);
        assert_eq!(seqs[0].ids, a.ids);
    }

    #[test]
    fn order_is_a_permutation_per_epoch_and_restartable() {
        let mut o = DataOrder::new(7, 3).unwrap();
        let first: Vec<usize> = o.take(0, 7);
        let mut sorted = first.clone();
        sorted.sort();
        assert_eq!(sorted, (0..7).collect::<Vec<_>>());
        let second = o.take(7, 7);
        assert_ne!(first, second, "each epoch has its own shuffle");
        // A fresh order started mid-stream reads the same examples.
        let mut fresh = DataOrder::new(7, 3).unwrap();
        assert_eq!(fresh.take(10, 4), o.take(10, 4));
        assert_eq!(fresh.take(3, 2), first[3..5].to_vec());
        assert_ne!(DataOrder::new(7, 4).unwrap().take(0, 7), first, "the seed matters");
    }
}
