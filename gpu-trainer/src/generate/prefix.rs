//! Prefix caching: which KV-cache slot serves which prompt, and how many of
//! its tokens need no recomputation.
//!
//! The [`Engine`](super::Engine) keeps, per cache slot, the token ids whose
//! keys/values are valid in that slot ([`SlotTokens`]): after a generation,
//! the prompt plus every generated id but the last (which is never fed back).
//! The next call's prompts usually extend those (an evaluation step's prompt
//! is the previous one + its answer + the new observation), so [`plan`] puts
//! each prompt in the slot that shares the longest token prefix with it, and
//! only the rest is prefilled. At least the prompt's last token is always run,
//! since its logits give the first new token. A prompt may instead get the
//! prefix of another slot copied into its own (a GPU buffer copy, no math):
//! prompts of a new episode share the instructions with the old ones.
//!
//! Stale keys beyond a slot's valid length are harmless: the attention of a
//! token at position p reads rows 0..=p of its own slot only
//! (`shaders/kv_cache.wgsl`, `kv_attention`), and every row it reads was
//! written earlier in the same step or is part of the reused prefix.
//!
//! Everything here is plain host logic: no GPU.

/// The token ids whose K/V are valid in each slot of the engine's KV cache
/// (rows `0..tokens(s).len()` of slot `s`). Always an under-approximation:
/// whatever writes into a slot first truncates its entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlotTokens {
    slots: Vec<Vec<u32>>,
}

impl SlotTokens {
    /// Number of slots tracked (the cache may have more: those hold nothing).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The tokens valid in slot `s` (empty beyond the tracked slots).
    pub fn tokens(&self, s: usize) -> &[u32] {
        self.slots.get(s).map_or(&[], Vec::as_slice)
    }

    /// Every slot's valid length, for `n` slots.
    pub fn lens(&self, n: usize) -> Vec<usize> {
        (0..n).map(|s| self.tokens(s).len()).collect()
    }

    /// All slots hold nothing (a new cache, or an exclusive user of it).
    pub fn forget_all(&mut self) {
        self.slots.clear();
    }

    /// Slot `s` keeps only its first `len` tokens (something writes at `len`).
    pub fn truncate(&mut self, s: usize, len: usize) {
        if let Some(t) = self.slots.get_mut(s) {
            t.truncate(len);
        }
    }

    /// Slot `s` now holds the K/V of exactly `tokens` (positions 0..).
    pub fn set(&mut self, s: usize, tokens: Vec<u32>) {
        if self.slots.len() <= s {
            self.slots.resize(s + 1, Vec::new());
        }
        self.slots[s] = tokens;
    }
}

/// Where one prompt runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// the cache slot (sequence index of the forward steps)
    pub slot: usize,
    /// prompt tokens `0..reuse` already have their K/V in `slot` (after the
    /// copy, if any); prefill runs positions `reuse..`. Always < prompt length.
    pub reuse: usize,
    /// copy rows `0..reuse` of this slot into `slot` first
    pub copy_from: Option<usize>,
}

/// Length of the common prefix of `a` and `b`.
pub fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Tokens of `prompt` that `cached` can serve: the common prefix, but never
/// the prompt's last token (it must run to give logits).
fn usable(prompt: &[u32], cached: &[u32]) -> usize {
    common_prefix(prompt, cached).min(prompt.len().saturating_sub(1))
}

/// The placement of every prompt (prompt i runs in `result[i].slot`, distinct
/// slots) given what the slots hold:
///
/// 1. greedy by reuse: the (prompt, slot) pair with the longest usable common
///    prefix first (ties: lower prompt, then lower slot), while both are free;
/// 2. prompts left over take the free slots that hold the least (empty first,
///    then the shortest), then new slots `slots.len()..`;
/// 3. with `allow_copy`, a prompt whose own slot serves fewer tokens than
///    another slot copies that slot's prefix (largest gain first). A slot is
///    never both copied from and copied into, so every copy reads the slot's
///    old contents whatever the order of the copies.
///
/// Slots needed = 1 + the largest slot of the result.
pub fn plan(slots: &SlotTokens, prompts: &[Vec<u32>], allow_copy: bool) -> Vec<Placement> {
    let n = prompts.len();
    let m = slots.len();
    let reuse: Vec<Vec<usize>> =
        prompts.iter().map(|p| (0..m).map(|s| usable(p, slots.tokens(s))).collect()).collect();

    // 1. greedy longest-prefix matching
    let mut pairs: Vec<(usize, usize, usize)> = Vec::new(); // (reuse, prompt, slot)
    for (i, row) in reuse.iter().enumerate() {
        pairs.extend(row.iter().enumerate().filter(|&(_, &r)| r > 0).map(|(s, &r)| (r, i, s)));
    }
    pairs.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut slot_of: Vec<Option<usize>> = vec![None; n];
    let mut taken = vec![false; m];
    for &(_, i, s) in &pairs {
        if slot_of[i].is_none() && !taken[s] {
            slot_of[i] = Some(s);
            taken[s] = true;
        }
    }

    // 2. the rest: the least useful free slots, then new ones
    let mut free: Vec<usize> = (0..m).filter(|&s| !taken[s]).collect();
    free.sort_by_key(|&s| (slots.tokens(s).len(), s));
    let mut free = free.into_iter();
    let mut next_new = m;
    let mut out: Vec<Placement> = Vec::with_capacity(n);
    for (i, s) in slot_of.iter().enumerate() {
        let slot = match s {
            Some(s) => *s,
            None => free.next().unwrap_or_else(|| {
                next_new += 1;
                next_new - 1
            }),
        };
        let own = if slot < m { reuse[i][slot] } else { 0 };
        out.push(Placement { slot, reuse: own, copy_from: None });
    }
    if !allow_copy || m == 0 {
        return out;
    }

    // 3. copies from a better slot
    let mut gains: Vec<(usize, usize, usize)> = Vec::new(); // (gain, prompt, source)
    for (i, p) in out.iter().enumerate() {
        let best = (0..m).filter(|&s| s != p.slot).max_by_key(|&s| (reuse[i][s], std::cmp::Reverse(s)));
        if let Some(s) = best
            && reuse[i][s] > p.reuse
        {
            gains.push((reuse[i][s] - p.reuse, i, s));
        }
    }
    gains.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut source = vec![false; m.max(out.iter().map(|p| p.slot + 1).max().unwrap_or(0))];
    let mut dest = source.clone();
    for (_, i, _) in gains {
        let dst = out[i].slot;
        if source[dst] {
            continue;
        }
        // the best source still allowed (not itself rewritten by a copy)
        let best = (0..m)
            .filter(|&s| s != dst && !dest[s])
            .max_by_key(|&s| (reuse[i][s], std::cmp::Reverse(s)))
            .filter(|&s| reuse[i][s] > out[i].reuse);
        if let Some(s) = best {
            out[i] = Placement { slot: dst, reuse: reuse[i][s], copy_from: Some(s) };
            source[s] = true;
            dest[dst] = true;
        }
    }
    out
}

/// The slot for a one-off forward over every position of `ids` (full
/// logits) in a cache of `capacity` slots, losing the least: the slot holding
/// the longest prefix of `ids` (rewriting it loses nothing; an empty slot
/// holds the empty prefix), else the slot holding the fewest tokens.
pub fn scratch_slot(slots: &SlotTokens, ids: &[u32], capacity: usize) -> usize {
    let n = capacity.max(slots.len()).max(1);
    let loss = |s: usize| {
        let held = slots.tokens(s);
        if common_prefix(ids, held) == held.len() { (0, usize::MAX - held.len()) } else { (1, held.len()) }
    };
    (0..n).min_by_key(|&s| (loss(s), s)).unwrap_or(0)
}

/// Prefix-cache counters of an engine, summed over its generate calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrefixStats {
    /// generate calls
    pub calls: u64,
    /// prompt tokens run through the model (prefill)
    pub prefilled: u64,
    /// prompt tokens whose K/V were already in the cache (not recomputed)
    pub reused: u64,
    /// of `reused`, those copied from another slot
    pub copied: u64,
}

impl PrefixStats {
    /// reused / (reused + prefilled); 0 before any prompt token.
    pub fn reuse_ratio(&self) -> f64 {
        let total = self.reused + self.prefilled;
        if total == 0 { 0.0 } else { self.reused as f64 / total as f64 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(v: &[&[u32]]) -> SlotTokens {
        let mut s = SlotTokens::default();
        for (i, t) in v.iter().enumerate() {
            s.set(i, t.to_vec());
        }
        s
    }

    fn p(slot: usize, reuse: usize) -> Placement {
        Placement { slot, reuse, copy_from: None }
    }

    #[test]
    fn common_prefix_lengths() {
        assert_eq!(common_prefix(&[1, 2, 3], &[1, 2, 4]), 2);
        assert_eq!(common_prefix(&[1, 2], &[1, 2, 3]), 2);
        assert_eq!(common_prefix(&[], &[1]), 0);
        assert_eq!(common_prefix(&[5], &[1]), 0);
    }

    #[test]
    fn empty_cache_takes_new_slots_in_order() {
        let got = plan(&SlotTokens::default(), &[vec![1, 2], vec![3]], true);
        assert_eq!(got, vec![p(0, 0), p(1, 0)]);
    }

    #[test]
    fn extensions_find_their_slot_whatever_the_order() {
        let s = slots(&[&[2, 10, 11], &[2, 20, 21, 22], &[2, 30]]);
        let prompts = vec![vec![2, 30, 31, 32], vec![2, 10, 11, 12], vec![2, 20, 21, 22, 23]];
        assert_eq!(plan(&s, &prompts, true), vec![p(2, 2), p(0, 3), p(1, 4)]);
    }

    #[test]
    fn last_prompt_token_always_runs() {
        let s = slots(&[&[2, 5, 6, 7, 8]]);
        // equal to the cache, and shorter than it: the last token is recomputed
        assert_eq!(plan(&s, &[vec![2, 5, 6, 7, 8]], true), vec![p(0, 4)]);
        assert_eq!(plan(&s, &[vec![2, 5, 6]], true), vec![p(0, 2)]);
        // a one-token prompt reuses nothing
        assert_eq!(plan(&s, &[vec![2]], true), vec![p(0, 0)]);
    }

    #[test]
    fn greedy_gives_the_contested_slot_to_the_longest_match() {
        let s = slots(&[&[2, 1, 1, 1], &[]]);
        let prompts = vec![vec![2, 1, 9], vec![2, 1, 1, 1, 7]];
        let got = plan(&s, &prompts, false);
        assert_eq!(got, vec![p(1, 0), p(0, 4)]);
        // with copies allowed prompt 0 copies the shared [2, 1] from slot 0,
        // which keeps serving prompt 1 (it is only read)
        let got = plan(&s, &prompts, true);
        assert_eq!(got, vec![Placement { slot: 1, reuse: 2, copy_from: Some(0) }, p(0, 4)]);
    }

    #[test]
    fn leftovers_overwrite_the_least_useful_slots_then_grow() {
        let s = slots(&[&[7, 7, 7, 7], &[8], &[], &[3, 4]]);
        // prompt 0 matches slot 3; the others match nothing: empty slot 2,
        // then slot 1 (1 token), then slot 0 (4 tokens), then a new slot 4
        let prompts = vec![vec![3, 4, 5], vec![1], vec![1, 1], vec![1, 2], vec![1, 3]];
        let got = plan(&s, &prompts, true);
        assert_eq!(got, vec![p(3, 2), p(2, 0), p(1, 0), p(0, 0), p(4, 0)]);
    }

    #[test]
    fn copy_from_a_slot_that_keeps_its_own_prompt() {
        let s = slots(&[&[1, 2, 3, 4, 5], &[9, 8, 7, 6]]);
        let prompts = vec![vec![1, 2, 3, 4, 5, 6], vec![1, 2, 3, 4, 0], vec![9, 8, 7, 6, 5]];
        let got = plan(&s, &prompts, true);
        // prompt 0 keeps slot 0 (reuse 5), prompt 2 slot 1 (reuse 4), prompt 1
        // goes to a new slot 2 and copies slot 0's [1, 2, 3, 4] (slot 0 is only read)
        assert_eq!(got, vec![p(0, 5), Placement { slot: 2, reuse: 4, copy_from: Some(0) }, p(1, 4)]);
        // without copies it starts from scratch
        assert_eq!(plan(&s, &prompts, false), vec![p(0, 5), p(2, 0), p(1, 4)]);
        // duplicates: the second one copies the first one's slot
        let s = slots(&[&[3, 3, 3]]);
        let got = plan(&s, &[vec![3, 3, 3, 1], vec![3, 3, 3, 1]], true);
        assert_eq!(got, vec![p(0, 3), Placement { slot: 1, reuse: 3, copy_from: Some(0) }]);
    }

    #[test]
    fn a_better_copy_does_not_beat_an_equal_own_slot() {
        let s = slots(&[&[4, 4, 4, 4, 4, 4], &[4, 4, 4, 4]]);
        let prompts = vec![vec![4, 4, 4, 4, 1], vec![4, 4, 4, 4, 4, 4, 2]];
        // prompt 1 gets slot 0 (6), prompt 0 slot 1 (4): slot 0 would give it 4 too
        assert_eq!(plan(&s, &prompts, true), vec![p(1, 4), p(0, 6)]);
    }

    /// Random slots and prompts over a 3-letter alphabet (many shared
    /// prefixes): the plan's invariants, checked against brute force.
    #[test]
    fn random_plans_keep_their_invariants() {
        let mut rng = env_core::Rng::new(5);
        let word = |rng: &mut env_core::Rng, max: usize| -> Vec<u32> {
            (0..rng.below(max + 1)).map(|_| rng.below(3) as u32).collect()
        };
        for case in 0..2000 {
            let m = rng.below(5);
            let mut s = SlotTokens::default();
            for k in 0..m {
                let w = word(&mut rng, 7);
                s.set(k, w);
            }
            let n = 1 + rng.below(6);
            let prompts: Vec<Vec<u32>> = (0..n)
                .map(|_| {
                    let mut w = word(&mut rng, 8);
                    w.push(rng.below(3) as u32); // never empty
                    w
                })
                .collect();
            for allow_copy in [false, true] {
                let got = plan(&s, &prompts, allow_copy);
                let mut used: Vec<usize> = got.iter().map(|g| g.slot).collect();
                used.sort_unstable();
                used.dedup();
                assert_eq!(used.len(), n, "case {case}: slots not distinct: {got:?}");
                assert!(used.iter().all(|&u| u < m.max(n) + n), "case {case}");
                for (i, g) in got.iter().enumerate() {
                    let from = g.copy_from.unwrap_or(g.slot);
                    assert_eq!(g.reuse, usable(&prompts[i], s.tokens(from)), "case {case}: {got:?}");
                    assert!(g.reuse < prompts[i].len());
                    if let Some(src) = g.copy_from {
                        assert!(
                            allow_copy && src != g.slot && g.reuse > usable(&prompts[i], s.tokens(g.slot))
                        );
                        assert!(got.iter().all(|o| o.copy_from.is_none() || o.slot != src), "case {case}");
                    }
                }
                // new slots only when every old one is taken
                if got.iter().any(|g| g.slot >= m) {
                    assert!((0..m).all(|k| got.iter().any(|g| g.slot == k)), "case {case}");
                }
                // no prompt without reuse could have had a free slot's prefix
                for (i, g) in got.iter().enumerate() {
                    for k in (0..m).filter(|&k| got.iter().all(|o| o.slot != k)) {
                        assert!(usable(&prompts[i], s.tokens(k)) <= g.reuse, "case {case}: {got:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn slot_tokens_truncate_and_set() {
        let mut s = SlotTokens::default();
        s.set(2, vec![1, 2, 3]);
        assert_eq!(s.len(), 3);
        assert_eq!(s.lens(4), vec![0, 0, 3, 0]);
        s.truncate(2, 1);
        s.truncate(7, 0); // untracked: nothing to do
        assert_eq!(s.tokens(2), &[1]);
        s.forget_all();
        assert!(s.is_empty());
        assert_eq!(s.tokens(2), &[] as &[u32]);
    }

    #[test]
    fn scratch_slot_loses_the_least() {
        let s = slots(&[&[1, 2], &[5, 5, 5], &[1]]);
        // slot 0 holds a prefix of the ids: rewriting it loses nothing
        assert_eq!(scratch_slot(&s, &[1, 2, 3], 3), 0);
        // nothing is a prefix: an untracked (empty) slot of the cache
        assert_eq!(scratch_slot(&s, &[9, 9], 4), 3);
        // no empty slot: the one holding the fewest tokens
        assert_eq!(scratch_slot(&s, &[9, 9], 3), 2);
        assert_eq!(scratch_slot(&SlotTokens::default(), &[4], 0), 0);
    }

    #[test]
    fn reuse_ratio() {
        assert_eq!(PrefixStats::default().reuse_ratio(), 0.0);
        let s = PrefixStats { calls: 2, prefilled: 30, reused: 90, copied: 0 };
        assert!((s.reuse_ratio() - 0.75).abs() < 1e-12);
    }
}
