//! Sharding a run over many processes, machines or GPUs, and putting the pieces back together
//! exactly.
//!
//! A run (an evaluation's episodes, a diagnostic study's contexts) is a list of independent
//! items `0..total`: item `i` draws everything from `derive_seed(seed, i)` and its own streams,
//! never from its neighbours. Shard `I` of `N` ([`Shard`]) plays the items `i` with
//! `i mod N == I` (strided, not contiguous blocks: the shards' sizes differ by at most one,
//! and items of any position, early or late, spread over all shards), so a shard is a pure
//! function of (settings, seed, I, N), and its items' output is the unsharded run's, line for
//! line.
//!
//! - [`manifest`]: what a shard records beside its files (`shard.json`: the settings and their
//!   digest, I, N, the items, the size and digest of every data file), read back and checked.
//! - [`set`]: the checks before a merge: one run's settings, every shard once, no file
//!   truncated or changed; each refusal names the directory, the file or the field.
//! - [`lines`]: a shard's JSONL data, read back line by line and put in the unsharded order.
//!
//! The merges themselves are [`crate::eval::merge`] and [`crate::diagnose::merge`].

pub mod lines;
pub mod manifest;
pub mod set;

use std::fmt;

use anyhow::{Result, bail};

pub use manifest::{FileDigest, MANIFEST_FILE, ShardManifest, digest_hex};
pub use set::ShardSet;

/// Shard `index` of `count`: the items `i` with `i mod count == index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shard {
    /// Which shard, `0..count`.
    pub index: usize,
    /// How many shards.
    pub count: usize,
}

/// Most shards of one run.
pub const MAX_SHARDS: usize = 100_000;

impl Shard {
    /// The whole run as one shard.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Shard `index` of `count`; an error unless `index < count <= MAX_SHARDS`.
    pub fn new(index: usize, count: usize) -> Result<Shard> {
        if count == 0 || count > MAX_SHARDS {
            bail!("invalid shard count {count}: allowed 1..={MAX_SHARDS}");
        }
        if index >= count {
            bail!("invalid shard {index}/{count}: the index is 0..{count} (0-based)");
        }
        Ok(Shard { index, count })
    }

    /// Parses `I/N` (as `--shard` takes it), with an error that names `flag` and the value.
    pub fn parse(text: &str, flag: &str) -> Result<Shard> {
        let bad =
            |why: &str| anyhow::anyhow!("invalid value '{text}' for {flag}: {why} (expected I/N, e.g. 0/4)");
        let (i, n) = text.trim().split_once('/').ok_or_else(|| bad("no '/'"))?;
        let index: usize = i.trim().parse().map_err(|_| bad("I is not a non-negative integer"))?;
        let count: usize = n.trim().parse().map_err(|_| bad("N is not a positive integer"))?;
        Shard::new(index, count).map_err(|e| bad(&e.to_string()))
    }

    /// Is this the whole run?
    pub fn is_whole(&self) -> bool {
        self.count == 1
    }

    /// The items of this shard among `0..total`, in increasing order.
    pub fn items(&self, total: usize) -> Vec<u64> {
        (self.index..total).step_by(self.count).map(|i| i as u64).collect()
    }

    /// Does item `i` belong to this shard?
    pub fn owns(&self, item: u64) -> bool {
        item % self.count as u64 == self.index as u64
    }

    /// Fails unless every shard of `count` gets at least one of `total` items (`unit`: what they
    /// are, `flag`: the flag that set their number).
    pub fn check_total(&self, total: usize, unit: &str, flag: &str) -> Result<()> {
        if self.count > total {
            bail!(
                "--shard {self}: {total} {unit} cannot be split into {} shards (at most {total}, one each; {flag} {total})",
                self.count
            );
        }
        Ok(())
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_items_cover_the_run_once() {
        for total in [1usize, 2, 7, 64] {
            for count in 1..=total.min(9) {
                let mut all: Vec<u64> =
                    (0..count).flat_map(|i| Shard::new(i, count).unwrap().items(total)).collect();
                let sizes: Vec<usize> =
                    (0..count).map(|i| Shard::new(i, count).unwrap().items(total).len()).collect();
                assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1, "{sizes:?}");
                all.sort();
                assert_eq!(all, (0..total as u64).collect::<Vec<_>>());
            }
        }
        let s = Shard::new(1, 3).unwrap();
        assert_eq!(s.items(8), vec![1, 4, 7]);
        assert!(s.owns(4) && !s.owns(5));
        assert_eq!(Shard::WHOLE.items(3), vec![0, 1, 2]);
    }

    #[test]
    fn parse_names_the_flag_and_the_value() {
        assert_eq!(Shard::parse(" 2/4 ", "--shard").unwrap(), Shard { index: 2, count: 4 });
        assert_eq!(Shard::parse("2/4", "--shard").unwrap().to_string(), "2/4");
        for bad in ["4/4", "1", "a/2", "0/0", "-1/2", "1/x", ""] {
            let e = Shard::parse(bad, "--shard").unwrap_err().to_string();
            assert!(e.contains("--shard") && e.contains(&format!("'{bad}'")), "{e}");
        }
        let e = Shard::new(0, 5).unwrap().check_total(3, "episodes", "--episodes").unwrap_err().to_string();
        assert!(e.contains("3 episodes cannot be split into 5 shards") && e.contains("--episodes 3"), "{e}");
        assert!(Shard::new(2, 3).unwrap().check_total(3, "episodes", "--episodes").is_ok());
    }
}
