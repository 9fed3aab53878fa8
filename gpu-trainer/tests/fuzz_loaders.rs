//! A mutation fuzzer for the loaders a user points at files: config.json
//! (`Config::from_json_str`), the safetensors header (`Weights::open_file`), the GGUF header,
//! metadata and tensor table (`GgufFile::open`, then the config and vocabulary a conversion
//! derives from them) and tokenizer.json (`GemmaTokenizer::from_file`).
//!
//! Every input is a committed fixture mutated by a seeded generator: byte flips, random bytes,
//! cuts, duplicated spans, and "interesting" integers (0, 1, 2^31, 10^9, 2^63, u64::MAX, ...)
//! written over little-endian count fields (GGUF, safetensors) or JSON numbers (configs,
//! tokenizers). Each load must return `Ok` or a named error: a panic fails the test with the
//! input that caused it, written next to the test's temp dir for replay; an allocation past the
//! address-space limit set here (`GREEDY_FUZZ_MEMORY_MB`, default 2048) aborts the process, which
//! fails the test binary too.
//!
//! It runs for `GREEDY_FUZZ_SECONDS` (default 20: CI) and prints the executions per loader.
//! `GREEDY_FUZZ_SECONDS=600 cargo test --release -p gpu-trainer --test fuzz_loaders -- --nocapture`
//! is the long run recorded in the README.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use env_core::Rng;
use gpu_trainer::gguf::GgufFile;
use gpu_trainer::model::{Config, GemmaTokenizer, Weights};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

/// Limits the process's address space (Unix), so that a loader that sizes an allocation by an
/// unchecked number aborts here instead of exhausting the machine.
fn limit_memory(mb: u64) {
    #[cfg(unix)]
    unsafe {
        let bytes = (mb << 20) as libc::rlim_t;
        let lim = libc::rlimit { rlim_cur: bytes, rlim_max: bytes };
        assert_eq!(libc::setrlimit(libc::RLIMIT_AS, &lim), 0, "setrlimit");
    }
}

const INTERESTING: &[u64] = &[
    0,
    1,
    2,
    3,
    7,
    255,
    256,
    65535,
    65536,
    1 << 31,
    (1 << 31) - 1,
    1 << 32,
    1_000_000_000,
    10_000_000,
    1 << 40,
    1 << 62,
    1 << 63,
    u64::MAX,
    u64::MAX - 1,
];

/// One mutation of `seed`: for JSON files (`json`), most of the time a structural one (a
/// uniformly chosen number replaced by an interesting value, or a key removed), so that inputs
/// still parse and reach the value checks; otherwise byte-level noise.
fn mutate(seed: &[u8], rng: &mut Rng, json: bool) -> Vec<u8> {
    if json
        && rng.below(4) != 0
        && let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(seed)
    {
        for _ in 0..1 + rng.below(2) {
            mutate_json(&mut v, rng);
        }
        return serde_json::to_vec_pretty(&v).unwrap();
    }
    mutate_bytes(seed, rng)
}

/// Every number's path in `v` (object keys and array indices).
fn number_paths(v: &serde_json::Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        serde_json::Value::Number(_) => out.push(path.clone()),
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                path.push(k.clone());
                number_paths(x, path, out);
                path.pop();
            }
        }
        serde_json::Value::Array(a) => {
            // long arrays (a vocabulary) are sampled, not walked
            for (i, x) in a.iter().enumerate().take(64) {
                path.push(i.to_string());
                number_paths(x, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn at_path<'a>(v: &'a mut serde_json::Value, path: &[String]) -> Option<&'a mut serde_json::Value> {
    path.iter().try_fold(v, |v, k| match v {
        serde_json::Value::Object(m) => m.get_mut(k),
        serde_json::Value::Array(a) => a.get_mut(k.parse::<usize>().ok()?),
        _ => None,
    })
}

fn mutate_json(v: &mut serde_json::Value, rng: &mut Rng) {
    if rng.below(8) == 0 {
        if let Some(m) = v.as_object_mut()
            && !m.is_empty()
        {
            let k = m.keys().nth(rng.below(m.len())).cloned().unwrap();
            m.remove(&k);
        }
        return;
    }
    let mut paths = Vec::new();
    number_paths(v, &mut Vec::new(), &mut paths);
    if paths.is_empty() {
        return;
    }
    let path = &paths[rng.below(paths.len())];
    let x = INTERESTING[rng.below(INTERESTING.len())];
    let new = match rng.below(6) {
        0 => serde_json::json!(-(x.min(i64::MAX as u64) as i64)),
        1 => serde_json::json!(x as f64 + 0.5),
        2 => serde_json::json!(1e308),
        _ => serde_json::json!(x),
    };
    if let Some(slot) = at_path(v, path) {
        *slot = new;
    }
}

/// The offsets and widths of the integer fields of a GGUF file's header, metadata and tensor
/// table (counts, lengths, types, values, dimensions, data offsets), found by walking the
/// format independently of the reader under test; stops at the first thing it cannot walk.
fn gguf_int_fields(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let u32_at = |p: usize| b.get(p..p + 4).map(|x| u32::from_le_bytes(x.try_into().unwrap()));
    let u64_at = |p: usize| b.get(p..p + 8).map(|x| u64::from_le_bytes(x.try_into().unwrap()));
    let (Some(_), Some(nt), Some(nkv)) = (u32_at(4), u64_at(8), u64_at(16)) else { return out };
    out.extend([(4, 4), (8, 8), (16, 8)]);
    let mut p = 24usize;
    // a string: u64 length + bytes
    let string = |p: &mut usize, out: &mut Vec<(usize, usize)>| -> Option<()> {
        let n = u64_at(*p)? as usize;
        out.push((*p, 8));
        *p = p.checked_add(8 + n).filter(|&e| e <= b.len())?;
        Some(())
    };
    let width = |t: u32| match t {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        _ => None,
    };
    let walk = |p: &mut usize, out: &mut Vec<(usize, usize)>| -> Option<()> {
        for _ in 0..nkv.min(10_000) {
            string(p, out)?;
            let t = u32_at(*p)?;
            out.push((*p, 4));
            *p += 4;
            match t {
                8 => string(p, out)?,
                9 => {
                    let et = u32_at(*p)?;
                    out.push((*p, 4));
                    let n = u64_at(*p + 4)?;
                    out.push((*p + 4, 8));
                    *p += 12;
                    for i in 0..n.min(1 << 20) {
                        if et == 8 {
                            string(p, out)?;
                        } else {
                            let w = width(et)?;
                            if i < 8 && w >= 4 {
                                out.push((*p, w));
                            }
                            *p += w;
                        }
                    }
                }
                t => {
                    let w = width(t)?;
                    if w >= 4 {
                        out.push((*p, w));
                    }
                    *p += w;
                }
            }
        }
        for _ in 0..nt.min(10_000) {
            string(p, out)?;
            let nd = u32_at(*p)?;
            out.push((*p, 4));
            *p += 4;
            for _ in 0..nd.min(8) {
                out.push((*p, 8));
                *p += 8;
            }
            out.push((*p, 4));
            out.push((*p + 4, 8));
            *p += 12;
        }
        Some(())
    };
    let _ = walk(&mut p, &mut out);
    out.retain(|&(o, w)| o + w <= b.len());
    out
}

/// A GGUF mutation: an interesting integer over one of its integer fields (or byte noise).
fn mutate_gguf(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let fields = gguf_int_fields(seed);
    if fields.is_empty() || rng.below(4) == 0 {
        return mutate_bytes(seed, rng);
    }
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(2) {
        let (at, w) = fields[rng.below(fields.len())];
        let v = INTERESTING[rng.below(INTERESTING.len())];
        b[at..at + w].copy_from_slice(&v.to_le_bytes()[..w]);
    }
    b
}

/// A safetensors mutation: its JSON header mutated as JSON (shapes, offsets, dtypes' keys), with
/// the length field updated or kept stale; or byte noise.
fn mutate_safetensors(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let n = u64::from_le_bytes(seed[..8].try_into().unwrap()) as usize;
    let Ok(mut header) = serde_json::from_slice::<serde_json::Value>(&seed[8..8 + n]) else {
        return mutate_bytes(seed, rng);
    };
    if rng.below(4) == 0 {
        return mutate_bytes(seed, rng);
    }
    mutate_json(&mut header, rng);
    let h = serde_json::to_vec(&header).unwrap();
    let len = if rng.below(3) == 0 { n } else { h.len() };
    let mut b = (len as u64).to_le_bytes().to_vec();
    b.extend_from_slice(&h);
    b.extend_from_slice(&seed[8 + n..]);
    b
}

/// Byte-level noise: flips, random bytes, cuts, deletions, duplicated spans, and interesting
/// integers over little-endian fields (u64 or u32, 4-aligned).
fn mutate_bytes(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        if b.is_empty() {
            b.push(rng.below(256) as u8);
            continue;
        }
        let at = rng.below(b.len());
        match rng.below(7) {
            0 => b[at] ^= 1 << rng.below(8),
            1 => b[at] = rng.below(256) as u8,
            2 => b.truncate(at),
            3 => {
                let len = 1 + rng.below(16.min(b.len() - at));
                b.drain(at..at + len);
            }
            4 => {
                let len = 1 + rng.below(64.min(b.len() - at));
                let span: Vec<u8> = b[at..at + len].to_vec();
                let to = rng.below(b.len());
                b.splice(to..to, span);
            }
            _ => {
                let v = INTERESTING[rng.below(INTERESTING.len())];
                let at = at & !3;
                if rng.below(2) == 0 && at + 8 <= b.len() {
                    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
                } else if at + 4 <= b.len() {
                    b[at..at + 4].copy_from_slice(&(v as u32).to_le_bytes());
                }
            }
        }
    }
    b
}

/// What one loader is: its name, the seed inputs, how they are mutated, and the load.
struct Target {
    name: &'static str,
    seeds: Vec<Vec<u8>>,
    mutate: fn(&[u8], &mut Rng) -> Vec<u8>,
    load: fn(&Path, &[u8]),
    runs: u64,
    ok: u64,
}

/// An older-style config: no `layer_types` (the layer kinds then come from the layer count).
fn without_layer_types(bytes: &[u8]) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    v.as_object_mut().unwrap().remove("layer_types");
    serde_json::to_vec_pretty(&v).unwrap()
}

fn load_config(_: &Path, bytes: &[u8]) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = Config::from_json_str(text, "config.json");
    }
}

fn load_safetensors(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
    if let Ok(w) = Weights::open_file(path) {
        // the header passed: reading a tensor must stay inside the file too
        if let Ok(c) = Config::from_json_str(
            &std::fs::read_to_string(fixture("gemma2_tiny_f32/config.json")).unwrap(),
            "config.json",
        ) {
            let _ = w.check(&c);
        }
        let names: Vec<String> = w.names().take(3).map(str::to_string).collect();
        for name in names {
            let _ = w.to_f32(&name);
        }
    }
}

fn load_gguf(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
    if let Ok(g) = GgufFile::open(path)
        && let Ok(arch) = gpu_trainer::gguf::hf_config::Arch::of(&g)
        && let Ok(vocab) = gpu_trainer::gguf::tokenizer::Vocab::from_gguf(&g)
    {
        let _ =
            gpu_trainer::gguf::hf_config::config_json(&g, arch, vocab.len(), [None, None, None], "float32");
    }
}

fn load_tokenizer(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
    let _ = GemmaTokenizer::from_file(path);
}

#[test]
fn loaders_never_panic_or_exhaust_memory_on_mutated_files() {
    let seconds: u64 = std::env::var("GREEDY_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let memory_mb: u64 =
        std::env::var("GREEDY_FUZZ_MEMORY_MB").ok().and_then(|s| s.parse().ok()).unwrap_or(2048);
    let read = |rel: &str| std::fs::read(fixture(rel)).unwrap();
    let mut targets = vec![
        Target {
            name: "config.json",
            seeds: vec![
                read("gemma2_tiny_f32/config.json"),
                without_layer_types(&read("gemma2_tiny_f32/config.json")),
                read("gemma3_tiny_f32_sharded/config.json"),
                read("gemma2_tiny_bf16/config.json"),
            ],
            mutate: |s, r| mutate(s, r, true),
            load: load_config,
            runs: 0,
            ok: 0,
        },
        Target {
            name: "safetensors",
            seeds: vec![read("gemma2_tiny_f32/model.safetensors")],
            mutate: mutate_safetensors,
            load: load_safetensors,
            runs: 0,
            ok: 0,
        },
        Target {
            name: "gguf",
            seeds: vec![read("gguf/tiny_gemma3.gguf")],
            mutate: mutate_gguf,
            load: load_gguf,
            runs: 0,
            ok: 0,
        },
        Target {
            name: "tokenizer.json",
            seeds: vec![read("tokenizer/tokenizer.json")],
            mutate: |s, r| mutate(s, r, true),
            load: load_tokenizer,
            runs: 0,
            ok: 0,
        },
    ];
    let dir = tempfile::Builder::new().prefix("greedy-fuzz-").tempdir().unwrap();
    limit_memory(memory_mb);
    // panics are caught and reported with their input, not printed by the default hook
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = Rng::new(0x0F0F_2026);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut failures = Vec::new();
    while Instant::now() < deadline && failures.is_empty() {
        for t in targets.iter_mut() {
            let seed = &t.seeds[rng.below(t.seeds.len())];
            let input = (t.mutate)(seed, &mut rng);
            let path = dir.path().join(format!("input-{}", t.name));
            let load = t.load;
            let r = std::panic::catch_unwind(|| load(&path, &input));
            t.runs += 1;
            match r {
                Ok(()) => t.ok += 1,
                Err(p) => {
                    let msg = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    let keep = std::env::temp_dir().join(format!("greedy-fuzz-crash-{}", t.name));
                    std::fs::write(&keep, &input).unwrap();
                    failures.push(format!("{}: panicked ({msg}); input saved as {}", t.name, keep.display()));
                }
            }
        }
    }
    let _ = std::panic::take_hook();
    let total: u64 = targets.iter().map(|t| t.runs).sum();
    println!("fuzzed {seconds} s under a {memory_mb} MiB address-space limit: {total} executions");
    for t in &targets {
        println!("  {:<15} {:>8} executions", t.name, t.runs);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(targets.iter().all(|t| t.runs > 0));
}
