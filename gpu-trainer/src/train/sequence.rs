//! [`Sequence`]: one training sequence (token ids and a loss weight per predicted token), and
//! how a list of them is packed into one ragged step ([`Packed`]): rows contiguous, positions
//! restarting at 0, and the target rows (the rows whose next-token prediction is weighted).

use anyhow::{Result, bail};

/// One training sequence. `weights[t]` (t >= 1) is the loss weight of predicting `ids[t]` from
/// `ids[..t]`; `weights[0]` must be 0 (nothing predicts the first token). The loss of the
/// sequence is `sum_t weights[t] * (-log p(ids[t] | ids[..t]))`; positions with weight 0 are not
/// targets (prompt tokens, padding).
#[derive(Clone, Debug, PartialEq)]
pub struct Sequence {
    pub ids: Vec<u32>,
    pub weights: Vec<f32>,
}

impl Sequence {
    /// A sequence with explicit per-position weights.
    pub fn new(ids: Vec<u32>, weights: Vec<f32>) -> Sequence {
        Sequence { ids, weights }
    }

    /// Every position t >= 1 weighted `w` (w = 1/(n-1): the mean next-token cross-entropy that
    /// transformers computes for `labels = input_ids`).
    pub fn uniform(ids: Vec<u32>, w: f32) -> Sequence {
        let weights = (0..ids.len()).map(|t| if t == 0 { 0.0 } else { w }).collect();
        Sequence { ids, weights }
    }

    /// Number of target positions (weight != 0).
    pub fn num_targets(&self) -> usize {
        self.weights.iter().filter(|&&w| w != 0.0).count()
    }

    /// Errors name the sequence index `i`.
    pub fn validate(&self, i: usize, vocab: usize) -> Result<()> {
        if self.ids.is_empty() {
            bail!("sequence {i} is empty (no token ids)");
        }
        if self.weights.len() != self.ids.len() {
            bail!(
                "sequence {i}: {} token ids but {} weights (one per position expected)",
                self.ids.len(),
                self.weights.len()
            );
        }
        if let Some((t, &id)) = self.ids.iter().enumerate().find(|(_, id)| **id as usize >= vocab) {
            bail!("sequence {i}: token id {id} at position {t} is not below vocab_size {vocab}");
        }
        if let Some((t, &w)) = self.weights.iter().enumerate().find(|(_, w)| !w.is_finite()) {
            bail!("sequence {i}: weight {w} at position {t} is not finite");
        }
        if self.weights[0] != 0.0 {
            bail!("sequence {i}: weights[0] = {} must be 0 (no token predicts position 0)", self.weights[0]);
        }
        Ok(())
    }
}

/// A list of sequences packed into one step. Each sequence is cut after its last target's
/// predicting row (later tokens influence no target: attention is causal); sequences without
/// targets contribute no rows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Packed {
    /// token ids run through the model [n]
    pub ids: Vec<u32>,
    /// position of each row in its sequence [n]
    pub pos: Vec<u32>,
    /// the packed row that predicts each target [R] (distinct, increasing)
    pub rows: Vec<u32>,
    /// the target token of each of those rows [R]
    pub targets: Vec<u32>,
    /// the sequences' weight of each target [R]
    pub weights: Vec<f32>,
    /// number of targets of each sequence (in order; they sum to R)
    pub per_seq: Vec<usize>,
}

impl Packed {
    /// Validate and pack `seqs` (errors name the sequence index).
    pub fn new(seqs: &[Sequence], vocab: usize) -> Result<Packed> {
        let mut p = Packed::default();
        for (i, s) in seqs.iter().enumerate() {
            s.validate(i, vocab)?;
            let start = p.ids.len();
            let last = s.weights.iter().rposition(|&w| w != 0.0);
            let fed = last.unwrap_or(0); // tokens 0..fed predict targets 1..=last
            p.ids.extend_from_slice(&s.ids[..fed]);
            p.pos.extend(0..fed as u32);
            let mut count = 0;
            for t in 1..=fed {
                if s.weights[t] != 0.0 {
                    p.rows.push((start + t - 1) as u32);
                    p.targets.push(s.ids[t]);
                    p.weights.push(s.weights[t]);
                    count += 1;
                }
            }
            p.per_seq.push(count);
        }
        Ok(p)
    }

    /// Rows run through the model.
    pub fn tokens(&self) -> usize {
        self.ids.len()
    }

    /// Number of target rows R.
    pub fn num_targets(&self) -> usize {
        self.rows.len()
    }

    /// Split a flat [R] vector into one vector per sequence.
    pub fn split<T: Copy>(&self, flat: &[T]) -> Vec<Vec<T>> {
        let mut out = Vec::with_capacity(self.per_seq.len());
        let mut at = 0;
        for &c in &self.per_seq {
            out.push(flat[at..at + c].to_vec());
            at += c;
        }
        out
    }

    /// Flatten per-sequence coefficients, checking they have one finite value per target.
    pub fn flatten_coef(&self, coef: &[Vec<f32>]) -> Result<Vec<f32>> {
        if coef.len() != self.per_seq.len() {
            bail!("coefficients for {} sequences, {} expected", coef.len(), self.per_seq.len());
        }
        let mut flat = Vec::with_capacity(self.num_targets());
        for (i, (c, &want)) in coef.iter().zip(&self.per_seq).enumerate() {
            if c.len() != want {
                bail!("sequence {i}: {} coefficients, {want} expected (one per target)", c.len());
            }
            if let Some((j, x)) = c.iter().enumerate().find(|(_, x)| !x.is_finite()) {
                bail!("sequence {i}: coefficient {j} is {x} (not finite)");
            }
            flat.extend_from_slice(c);
        }
        Ok(flat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_rows_positions_and_targets() {
        let a = Sequence::new(vec![2, 5, 7, 9], vec![0.0, 0.0, 1.0, 0.5]);
        let b = Sequence::new(vec![2, 3], vec![0.0, 0.0]); // no targets: no rows
        let c = Sequence::new(vec![2, 4, 6, 8, 1], vec![0.0, 2.0, 0.0, 3.0, 0.0]); // tail cut
        let p = Packed::new(&[a, b, c], 16).unwrap();
        assert_eq!(p.ids, vec![2, 5, 7, 2, 4, 6]);
        assert_eq!(p.pos, vec![0, 1, 2, 0, 1, 2]);
        assert_eq!(p.rows, vec![1, 2, 3, 5]);
        assert_eq!(p.targets, vec![7, 9, 4, 8]);
        assert_eq!(p.weights, vec![1.0, 0.5, 2.0, 3.0]);
        assert_eq!(p.per_seq, vec![2, 0, 2]);
        assert_eq!(p.split(&[10, 11, 12, 13]), vec![vec![10, 11], vec![], vec![12, 13]]);
        assert_eq!(
            p.flatten_coef(&[vec![1.0, 2.0], vec![], vec![3.0, 4.0]]).unwrap(),
            vec![1.0, 2.0, 3.0, 4.0]
        );
        let e = p.flatten_coef(&[vec![1.0], vec![], vec![3.0, 4.0]]).unwrap_err().to_string();
        assert!(e.contains("sequence 0") && e.contains("1 coefficients, 2 expected"), "{e}");
        let e = p.flatten_coef(&[vec![1.0, 2.0], vec![], vec![f32::NAN, 4.0]]).unwrap_err().to_string();
        assert!(e.contains("sequence 2") && e.contains("NaN"), "{e}");
        assert!(p.flatten_coef(&[vec![1.0, 2.0]]).is_err());
    }

    #[test]
    fn uniform_weights_mean_loss() {
        let s = Sequence::uniform(vec![2, 3, 4], 0.5);
        assert_eq!(s.weights, vec![0.0, 0.5, 0.5]);
        assert_eq!(s.num_targets(), 2);
    }

    #[test]
    fn validation_names_the_sequence() {
        let ok = Sequence::uniform(vec![1, 2], 1.0);
        let cases = [
            (Sequence::new(vec![], vec![]), "sequence 1 is empty"),
            (Sequence::new(vec![1, 2], vec![0.0]), "sequence 1: 2 token ids but 1 weights"),
            (Sequence::new(vec![1, 99], vec![0.0, 1.0]), "sequence 1: token id 99 at position 1"),
            (Sequence::new(vec![1, 2], vec![0.0, f32::INFINITY]), "sequence 1: weight inf at position 1"),
            (Sequence::new(vec![1, 2], vec![1.0, 1.0]), "sequence 1: weights[0] = 1 must be 0"),
        ];
        for (bad, want) in cases {
            let e = Packed::new(&[ok.clone(), bad], 16).unwrap_err().to_string();
            assert!(e.contains(want), "{e:?} lacks {want:?}");
        }
    }
}
