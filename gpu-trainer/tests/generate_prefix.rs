//! Prefix caching across generate calls: an engine that reuses its KV cache
//! gives the same greedy ids (and log-probs within 1e-4) as one that prefills
//! everything each call, whatever the order of the prompts, when they diverge
//! early, grow in number or length, get shorter, or when `logits` runs in
//! between; and its reuse counter is what the prompts' arithmetic says.

mod common;

use env_core::Rng;
use gpu_trainer::generate::{Engine, GenerateOptions, Generation, LoadOptions, PrefixStats};
use std::time::Instant;

const TOL: f32 = 1e-4;

/// (prefix caching on, off) on the same fixture, with a context of 1024 tokens (the prompts here
/// grow past the fixtures' 128)
fn engines(name: &str) -> (Engine, Engine) {
    let (_tmp, dir) = common::with_context(name, 1024);
    let on = Engine::load(&dir, &LoadOptions::default()).unwrap();
    let mut off = Engine::load(&dir, &LoadOptions::default()).unwrap();
    assert!(on.prefix_cache(), "on by default");
    off.set_prefix_cache(false);
    (on, off)
}

fn greedy(max_new_tokens: usize) -> GenerateOptions {
    GenerateOptions { max_new_tokens, stop_ids: vec![1], ..Default::default() }
}

/// Same ids and stops, log-probs within TOL; returns the largest log-prob difference.
fn assert_same(cached: &[Generation], fresh: &[Generation], what: &str) -> f32 {
    assert_eq!(cached.len(), fresh.len(), "{what}");
    let mut worst = 0.0f32;
    for (i, (a, b)) in cached.iter().zip(fresh).enumerate() {
        assert_eq!(a.ids, b.ids, "{what}: prompt {i}: ids differ with prefix caching");
        assert_eq!(a.stop, b.stop, "{what}: prompt {i}");
        let err = a.logprobs.iter().zip(&b.logprobs).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        assert!(err <= TOL, "{what}: prompt {i}: logprob difference {err}");
        worst = worst.max(err);
    }
    worst
}

/// Both engines on the same call; the cached one's stats change by
/// (reused, prefilled) = `want`.
fn both(
    on: &mut Engine,
    off: &mut Engine,
    prompts: &[Vec<u32>],
    streams: &[u64],
    opts: &GenerateOptions,
    want: (u64, u64),
    what: &str,
) -> Vec<Generation> {
    let before = on.prefix_stats();
    let a = on.generate_streams(prompts, streams, opts).unwrap();
    let b = off.generate_streams(prompts, streams, opts).unwrap();
    let err = assert_same(&a, &b, what);
    if err > 0.0 {
        println!("{what}: largest log-prob difference {err:.2e}");
    }
    let after = on.prefix_stats();
    let got = (after.reused - before.reused, after.prefilled - before.prefilled);
    assert_eq!(got, want, "{what}: (reused, prefilled) tokens");
    assert_eq!(after.calls, before.calls + 1);
    a
}

fn random_ids(rng: &mut Rng, n: usize) -> Vec<u32> {
    (0..n).map(|_| 3 + rng.below(250) as u32).collect()
}

/// Episodes of an evaluation: each step's prompt is the previous prompt, its
/// answer and a new observation; prompts come shuffled, episodes end.
fn eval_like(name: &str, opts: &GenerateOptions) {
    let (mut on, mut off) = engines(name);
    let mut rng = Rng::new(17);
    // distinct second tokens: no episode shares more than <bos> with another
    let mut prompts: Vec<Vec<u32>> = (0..5u32)
        .map(|e| {
            let mut p = vec![2, 10 + e];
            p.extend(random_ids(&mut rng, 3 + e as usize));
            p
        })
        .collect();
    let mut episodes: Vec<u64> = (0..5).collect();
    let mut held: Vec<usize> = vec![0; 5]; // tokens cached for each episode
    for step in 0..6 {
        // shuffle the running episodes (the slot assignment must follow them)
        for i in (1..episodes.len()).rev() {
            let j = rng.below(i + 1);
            episodes.swap(i, j);
        }
        let batch: Vec<Vec<u32>> = episodes.iter().map(|&e| prompts[e as usize].clone()).collect();
        let reused: usize = episodes.iter().map(|&e| held[e as usize]).sum();
        let total: usize = batch.iter().map(Vec::len).sum();
        let what = format!("{name} step {step}");
        let gens =
            both(&mut on, &mut off, &batch, &episodes, opts, (reused as u64, (total - reused) as u64), &what);
        for (&e, g) in episodes.iter().zip(&gens) {
            let p = &mut prompts[e as usize];
            held[e as usize] = p.len() + g.ids.len() - 1; // the last sampled id is never fed
            p.extend(&g.ids);
            let n = 1 + rng.below(4);
            p.extend(random_ids(&mut rng, n));
        }
        if step == 2 {
            episodes.retain(|&e| e != 3); // episode 3 ends
        }
    }
    let s = on.prefix_stats();
    assert_eq!(s.copied, 0, "{name}: no episode shares more than <bos> with another");
    println!("{name}: {s:?}, reuse ratio {:.2}", s.reuse_ratio());
    assert_eq!(off.prefix_stats().reused, 0);
    assert_eq!(off.prefix_stats().prefilled, s.reused + s.prefilled);
}

#[test]
fn eval_like_steps_match_uncached_gemma2() {
    eval_like("gemma2_tiny_f32", &greedy(4));
    eval_like("gemma2_tiny_bf16", &greedy(3));
}

#[test]
fn eval_like_steps_match_uncached_gemma3() {
    eval_like("gemma3_tiny_f32_sharded", &greedy(4));
}

#[test]
fn eval_like_sampled_steps_match_uncached() {
    let opts = GenerateOptions { temperature: 0.8, top_k: Some(50), seed: 9, ..greedy(4) };
    eval_like("gemma2_tiny_f32", &opts);
}

/// `p` + the answer `g` + `more`: the next prompt of an episode.
fn extend(p: &[u32], g: &Generation, more: &[u32]) -> Vec<u32> {
    let mut next = p.to_vec();
    next.extend(&g.ids);
    next.extend(more);
    next
}

fn lens(prompts: &[Vec<u32>]) -> u64 {
    prompts.iter().map(|p| p.len() as u64).sum()
}

/// Every case of slot assignment, one call at a time; the comments track
/// what each slot holds (S0, S1, ...). No call stops early in this fixture
/// (asserted), so every slot holds its prompt + 3 generated ids.
#[test]
fn diverging_shorter_more_and_longer_prompts() {
    let (mut on, mut off) = engines("gemma2_tiny_f32");
    let mut rng = Rng::new(3);
    let o = greedy(4);
    let no_early_stop = |g: &[Generation]| assert!(g.iter().all(|g| g.ids.len() == 4), "{g:?}");
    let a = vec![2, 40, 41, 42, 43, 44, 45];
    let b = vec![2, 50, 51, 52, 53];
    let g = both(&mut on, &mut off, &[a.clone(), b.clone()], &[0, 1], &o, (0, 12), "first call");
    no_early_stop(&g);
    // S0 = a + 3, S1 = b + 3

    // shorter than what its slot holds: all but its last token reused
    let short = a[..5].to_vec();
    let g = both(&mut on, &mut off, std::slice::from_ref(&short), &[0], &o, (4, 1), "shorter prompt");
    no_early_stop(&g);
    // S0 = short + 3

    // diverging early: shares [<bos>, 50, 51] with S1, <bos> with S0
    let div = vec![2, 50, 51, 99, 98, 97];
    let g = both(&mut on, &mut off, std::slice::from_ref(&div), &[1], &o, (3, 3), "diverging prompt");
    no_early_stop(&g);
    // S1 = div + 3

    // more prompts than slots: the cache grows to 3 slots (rows copied over);
    // ext keeps S1 (9 tokens), new1 takes S0 for [<bos>, 40], new2 gets the
    // new slot 2 and a copy of S0's [<bos>, 40]
    let ext = extend(&div, &g[0], &[7]);
    let new1 = vec![2, 40, 200, 201];
    let new2 = vec![2, 40, 210, 211, 212];
    let prompts = vec![new1, ext.clone(), new2];
    let before = on.prefix_stats();
    let reused = 2 + 9 + 2;
    let g =
        both(&mut on, &mut off, &prompts, &[5, 1, 6], &o, (reused, lens(&prompts) - reused), "more prompts");
    no_early_stop(&g);
    assert_eq!(on.prefix_stats().copied - before.copied, 2, "new2 copies [<bos>, 40] from S0");
    // S0 = new1 + 3, S1 = ext + 3, S2 = new2 + 3
    let ext2 = extend(&ext, &g[1], &[8]);

    // longer than the cache (256 rows a slot): it is reallocated with the
    // valid rows copied; <bos> reused from S0 (all slots share only <bos>)
    let mut long = vec![2, 60];
    long.extend(random_ids(&mut rng, 258));
    let n = long.len() as u64;
    let g = both(&mut on, &mut off, std::slice::from_ref(&long), &[2], &o, (1, n - 1), "long prompt");
    no_early_stop(&g);
    // S0 = long + 3 (263), S1 = ext + 3 (14) survived the reallocation
    let longer = extend(&long, &g[0], &random_ids(&mut rng, 20));
    let prompts = vec![ext2, longer];
    let reused = 14 + 263;
    both(&mut on, &mut off, &prompts, &[1, 2], &o, (reused, lens(&prompts) - reused), "after reallocation");
}

/// `logits` between generate calls: its rows equal the uncached engine's, it
/// runs in the slot that loses the least, and later calls still match.
#[test]
fn interleaved_logits() {
    let (mut on, mut off) = engines("gemma3_tiny_f32_sharded");
    let o = greedy(3);
    let p0 = vec![2, 30, 31, 32, 33];
    let p1 = vec![2, 70, 71];
    let g = both(&mut on, &mut off, &[p0.clone(), p1.clone()], &[0, 1], &o, (0, 8), "first call");
    // S0 = p0 + 2, S1 = p1 + 2
    let cached_p1 = [p1.clone(), g[1].ids[..2].to_vec()].concat();

    // logits of something S1 is a prefix of: it runs in S1 and S1 then holds it
    let mut seq = cached_p1.clone();
    seq.extend([90, 91]);
    let want = off.logits(&seq).unwrap();
    let got = on.logits(&seq).unwrap();
    let err = got.iter().zip(&want).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(err <= 1e-5, "logits with a prefix cache differ by {err}");
    assert_eq!(on.prefix_stats().calls, 1, "logits is no generate call");

    // p0's extension still finds S0; the extension of seq reuses all of seq
    let e0 = extend(&p0, &g[0], &[5, 6]);
    let mut e1 = seq.clone();
    e1.extend([92, 93]);
    let held0 = (p0.len() + 2) as u64;
    let reused = held0 + seq.len() as u64;
    let prompts = vec![e1, e0];
    both(&mut on, &mut off, &prompts, &[1, 0], &o, (reused, lens(&prompts) - reused), "after logits");

    // logits of an unrelated sequence: no slot holds a prefix of it, no slot
    // is empty, so it overwrites the shortest; generate calls still match
    let other = vec![2, 120, 121];
    let want = off.logits(&other).unwrap();
    assert_eq!(on.logits(&other).unwrap(), want);
    let g = on.generate_streams(&prompts, &[1, 0], &o).unwrap();
    assert_same(&g, &off.generate_streams(&prompts, &[1, 0], &o).unwrap(), "after unrelated logits");
}

/// Turning it off forgets the cache and reuses nothing; on again, it starts empty.
#[test]
fn off_reuses_nothing() {
    let (mut on, _) = engines("gemma2_tiny_f32");
    let p = vec![vec![2, 5, 6, 7], vec![2, 8]];
    let o = greedy(2);
    let first = on.generate(&p, &o).unwrap();
    assert_eq!(
        on.generate(&p, &o).unwrap().iter().map(|g| &g.ids).collect::<Vec<_>>(),
        first.iter().map(|g| &g.ids).collect::<Vec<_>>()
    );
    assert_eq!(on.prefix_stats(), PrefixStats { calls: 2, prefilled: 6 + 2, reused: 3 + 1, copied: 0 });
    on.set_prefix_cache(false);
    on.generate(&p, &o).unwrap();
    assert_eq!(on.prefix_stats().reused, 4);
    assert_eq!(on.prefix_stats().prefilled, 8 + 6);
    on.set_prefix_cache(true);
    on.reset_prefix_stats();
    on.generate(&p, &o).unwrap();
    assert_eq!(on.prefix_stats(), PrefixStats { calls: 1, prefilled: 6, reused: 0, copied: 0 });
}

/// Wall time of a 20-step evaluation-like run with and without prefix
/// caching (a measurement, not a check: `cargo test --test generate_prefix
/// -- --ignored --nocapture`).
#[test]
#[ignore]
fn eval_like_wall_time() {
    let (mut on, mut off) = engines("gemma2_tiny_f32");
    let o = GenerateOptions { max_new_tokens: 6, stop_ids: vec![u32::MAX], ..Default::default() };
    let mut rng = Rng::new(1);
    let start: Vec<Vec<u32>> = (0..8u32)
        .map(|e| {
            let mut p = vec![2, 10 + e];
            p.extend(random_ids(&mut rng, 60));
            p
        })
        .collect();
    let streams: Vec<u64> = (0..8).collect();
    on.generate(&start, &GenerateOptions { max_new_tokens: 1, ..o.clone() }).unwrap(); // warm up
    off.generate(&start, &GenerateOptions { max_new_tokens: 1, ..o.clone() }).unwrap();
    on.set_prefix_cache(true); // forget the warm-up
    on.reset_prefix_stats();
    for (label, e) in [("on", &mut on), ("off", &mut off)] {
        let mut prompts = start.clone();
        let mut obs = Rng::new(2);
        let t0 = Instant::now();
        for _ in 0..20 {
            let g = e.generate_streams(&prompts, &streams, &o).unwrap();
            for (p, g) in prompts.iter_mut().zip(&g) {
                *p = extend(p, g, &random_ids(&mut obs, 8));
            }
        }
        let dt = t0.elapsed().as_secs_f64();
        let s = e.prefix_stats();
        println!(
            "prefix cache {label}: 20 calls x 8 prompts ({} -> {} tokens) in {dt:.2}s; prefilled {} reused {} (ratio {:.2})",
            start[0].len(),
            prompts[0].len(),
            s.prefilled,
            s.reused,
            s.reuse_ratio()
        );
    }
}
