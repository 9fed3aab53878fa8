//! `greedy train init` / `greedy train sft` end to end, and the SFT data against independent
//! recomputations: expert rationales recomputed from the prompt's own history, loss weights on
//! the target tokens only, the learned tokenizer round-tripping its corpus, the fresh checkpoint
//! loading through every loader of gpu-trainer.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use env_core::{ArmDistribution, LabelStyle, MabConfig};
use gpu_trainer::generate::{Engine, GenerateOptions, LoadOptions};
use gpu_trainer::model::tokenizer::Role;
use gpu_trainer::model::{Config, GemmaTokenizer, Weights};
use gpu_trainer::train::sft::batch::{tokenize, weigh_batch};
use gpu_trainer::train::sft::data::{SftData, TargetMode, ExpertData};
use tempfile::TempDir;

fn greedy(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_greedy")).args(args).output().expect("run greedy")
}

fn ok(args: &[&str]) -> String {
    let out = greedy(args);
    assert!(out.status.success(), "greedy {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn err_text(args: &[&str]) -> String {
    let out = greedy(args);
    assert!(!out.status.success(), "greedy {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A path that does not exist yet (the command creates it), inside a scratch directory that is
/// deleted when the returned guard drops (also when the test fails).
fn tmpdir(tag: &str) -> (TempDir, PathBuf) {
    let guard = tempfile::Builder::new().prefix(&format!("greedy-cli-train-{tag}-")).tempdir().unwrap();
    let path = guard.path().join("out");
    (guard, path)
}

fn ucb_data(mode: TargetMode, horizon: usize, episodes: usize) -> ExpertData {
    let c = MabConfig {
        arms: 4,
        horizon,
        distribution: ArmDistribution::Gaussian { sigma: 1.0 },
        labels: LabelStyle::Buttons,
    };
    ExpertData::new(vec![c], episodes, mode, true, 3).unwrap()
}

/// (label, reward) of each `Step=t Action=X Reward=r` line of a prompt.
fn history(prompt: &str) -> Vec<(String, f64)> {
    prompt
        .lines()
        .filter(|l| l.starts_with("Step="))
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (
                f[1].trim_start_matches("Action=").to_string(),
                f[2].trim_start_matches("Reward=").parse().unwrap(),
            )
        })
        .collect()
}

/// The labels in the order of the instruction ("labeled a, b, c, d.").
fn labels(prompt: &str) -> Vec<String> {
    let start = prompt.find("labeled ").unwrap() + "labeled ".len();
    let end = start + prompt[start..].find('.').unwrap();
    prompt[start..end].split(", ").map(str::to_string).collect()
}

#[test]
fn expert_rationales_match_the_ucb_rule_recomputed_from_the_prompt() {
    let data = ucb_data(TargetMode::Thought, 9, 6);
    let mut checked = 0;
    for e in 0..6 {
        let steps = data.episode_examples(0, e, 9).unwrap();
        for (t, ex) in steps.iter().enumerate() {
            let hist = history(&ex.prompt);
            assert_eq!(hist.len(), t);
            let names = labels(&ex.prompt);
            let lines: Vec<&str> = ex.target.lines().collect();
            assert_eq!(
                lines[0],
                "For each action I compute its count N, its mean reward and UCB = mean + sqrt(1/N)."
            );
            let mut best: Option<(f64, &str)> = None;
            let mut untried = None;
            for (i, name) in names.iter().enumerate() {
                let rs: Vec<f64> = hist.iter().filter(|h| &h.0 == name).map(|h| h.1).collect();
                let line = lines[1 + i];
                assert!(line.starts_with(&format!("{name}: count={}, ", rs.len())), "{line}");
                if rs.is_empty() {
                    assert!(line.ends_with("mean=NaN, UCB=NaN"), "{line}");
                    untried = untried.or(Some(name.as_str()));
                    continue;
                }
                // The prompt shows rewards rounded to 2 decimals: means agree to 0.01.
                let mean = rs.iter().sum::<f64>() / rs.len() as f64;
                let ucb = mean + (1.0 / rs.len() as f64).sqrt();
                let num = |key: &str| -> f64 {
                    let at = line.find(key).unwrap() + key.len();
                    line[at..].split(',').next().unwrap().parse().unwrap()
                };
                assert!((num("mean=") - mean).abs() <= 0.0101, "{line} vs {mean}");
                assert!((num("UCB=") - ucb).abs() <= 0.0101, "{line} vs {ucb}");
                if best.is_none_or(|b| ucb > b.0) {
                    best = Some((ucb, name));
                }
            }
            let decision = lines[1 + names.len()];
            let action = lines[2 + names.len()];
            let chosen = action.trim_start_matches("ACTION=");
            match untried {
                Some(u) => {
                    assert_eq!(
                        decision,
                        format!(
                            "Not all actions have been tried yet, so I choose the next untried one: {u}."
                        )
                    );
                    assert_eq!(chosen, u);
                }
                None => {
                    assert_eq!(decision, format!("{chosen} has the highest UCB value."));
                    // Rounded means cannot separate near ties: the chosen arm is within 0.02 of the best.
                    let b = best.unwrap();
                    let c: Vec<f64> = hist.iter().filter(|h| h.0 == chosen).map(|h| h.1).collect();
                    let cu = c.iter().sum::<f64>() / c.len() as f64 + (1.0 / c.len() as f64).sqrt();
                    assert!(cu >= b.0 - 0.02, "{chosen} {cu} vs {} {}", b.1, b.0);
                }
            }
            // The expert played what it wrote: the next prompt's last action.
            if let Some(next) = steps.get(t + 1) {
                assert_eq!(history(&next.prompt).last().unwrap().0, chosen);
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 54);
    // Behaviour cloning: the same action alone, under the action-only instruction.
    let bc = ucb_data(TargetMode::Behaviour, 9, 6).episode_examples(0, 2, 9).unwrap();
    let tc = data.episode_examples(0, 2, 9).unwrap();
    for (b, t) in bc.iter().zip(&tc) {
        assert_eq!(b.target, t.target.lines().last().unwrap());
        assert!(b.prompt.contains("Answer with ACTION=X only"));
        assert_eq!(history(&b.prompt), history(&t.prompt));
    }
}

/// A fresh model written by `greedy train init` (shared by the tests that only read it), with the
/// guard that keeps its directory.
fn init_model(tag: &str) -> (TempDir, PathBuf) {
    let (guard, out) = tmpdir(tag);
    let text = ok(&[
        "train",
        "init",
        "--init",
        "tiny",
        "--hidden",
        "32",
        "--layers",
        "2",
        "--heads",
        "2",
        "--kv-heads",
        "1",
        "--head-dim",
        "16",
        "--ffn",
        "48",
        "--window",
        "16",
        "--context",
        "256",
        "--vocab",
        "512",
        "--arms",
        "4",
        "--horizon",
        "6",
        "--expert-episodes",
        "40",
        "--summary",
        "--seed",
        "5",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(text.contains("wrote") && text.contains("vocabulary"), "{text}");
    (guard, out)
}

#[test]
fn init_writes_a_checkpoint_every_loader_reads() {
    let (_out_tmp, out) = init_model("init");
    let dir = out.join("checkpoint");
    let config = Config::from_dir(&dir).unwrap();
    assert_eq!((config.hidden_size, config.num_layers, config.num_heads, config.num_kv_heads), (32, 2, 2, 1));
    assert_eq!((config.head_dim, config.intermediate_size, config.sliding_window), (16, 48, Some(16)));
    let weights = Weights::open_dir(&dir).unwrap();
    weights.check(&config).unwrap();
    let embed = weights.to_f32("model.embed_tokens.weight").unwrap();
    let sd = (embed.iter().map(|x| x * x).sum::<f32>() / embed.len() as f32).sqrt();
    assert!((sd - 0.02).abs() < 0.002, "embedding std {sd}");
    assert!(weights.to_f32("model.norm.weight").unwrap().iter().all(|&x| x == 0.0));

    let tok = GemmaTokenizer::from_dir(&dir).unwrap();
    assert_eq!(
        (tok.pad_id, tok.eos_id, tok.bos_id, tok.start_of_turn_id, tok.end_of_turn_id),
        (Some(0), 1, 2, 4, 5)
    );
    assert_eq!(tok.token_to_id("<unk>"), Some(3));
    assert_eq!(tok.vocab_size(), config.vocab_size, "the model's vocabulary is the tokenizer's");
    assert!(tok.vocab_size() <= 512);
    // The tokenizer round-trips the text it was learned from, special tokens included.
    let data = ucb_data(TargetMode::Thought, 6, 40);
    let corpus = SftData::Expert(data).corpus(240).unwrap();
    for ex in &corpus {
        for text in [&ex.prompt, &ex.target] {
            let ids = tok.encode(text, false).unwrap();
            assert_eq!(&tok.decode(&ids, false).unwrap(), text);
        }
    }
    let chat = tok.encode_chat(&[(Role::User, "Which button?")]).unwrap();
    assert_eq!(chat[..2], [2, 4], "<bos><start_of_turn>");
    assert_eq!(
        tok.decode(&chat, false).unwrap(),
        "<bos><start_of_turn>user\nWhich button?<end_of_turn>\n<start_of_turn>model\n"
    );

    // The generation engine runs it.
    let mut engine = Engine::load(&dir, &LoadOptions::default()).unwrap();
    let logits = engine.logits(&chat).unwrap();
    assert_eq!(logits.len(), chat.len() * config.vocab_size);
    assert!(logits.iter().all(|x| x.is_finite()));
    let opts = GenerateOptions { max_new_tokens: 5, ..GenerateOptions::default() };
    let g = engine.generate(&[chat], &opts).unwrap();
    assert!(!g[0].ids.is_empty() && g[0].ids.len() <= 5);
    // Same seed, same bytes.
    let (_again_tmp, again) = init_model("init-again");
    assert_eq!(
        std::fs::read(dir.join("model.safetensors")).unwrap(),
        std::fs::read(again.join("checkpoint/model.safetensors")).unwrap()
    );
    assert_eq!(
        std::fs::read(dir.join("tokenizer.json")).unwrap(),
        std::fs::read(again.join("checkpoint/tokenizer.json")).unwrap()
    );
}

#[test]
fn loss_weights_cover_only_target_tokens() {
    let (_out_tmp, out) = init_model("weights");
    let tok = GemmaTokenizer::from_dir(&out.join("checkpoint")).unwrap();
    let data = ucb_data(TargetMode::Thought, 6, 3);
    let examples: Vec<_> = (0..4).map(|i| data.get(i * 4).unwrap()).collect();
    let batch: Vec<_> = examples.iter().map(|e| tokenize(&tok, e, 4096).unwrap()).collect();
    let (seqs, total) = weigh_batch(&batch);
    let mut sum = 0.0f64;
    for ((s, ex), b) in seqs.iter().zip(&examples).zip(&batch) {
        let prompt_ids = tok.encode(&ex.prompt, false).unwrap();
        let target_ids = tok.encode(&ex.target, false).unwrap();
        assert_eq!(s.ids[0], tok.bos_id);
        assert_eq!(&s.ids[1..1 + prompt_ids.len()], &prompt_ids[..]);
        assert_eq!(&s.ids[1 + prompt_ids.len()..s.ids.len() - 1], &target_ids[..]);
        assert_eq!(*s.ids.last().unwrap(), tok.end_of_turn_id, "the answer ends the turn");
        for (t, &w) in s.weights.iter().enumerate() {
            let target = t > prompt_ids.len();
            assert_eq!(w, if target { 1.0 / total as f32 } else { 0.0 }, "position {t}");
            sum += w as f64;
        }
        assert_eq!(b.target_len(), target_ids.len() + 1);
        assert_eq!(tok.decode(&s.ids[b.prompt_len..], false).unwrap(), format!("{}<end_of_turn>", ex.target));
    }
    assert!((sum - 1.0).abs() < 1e-5, "the batch's weights sum to 1: {sum}");
}

#[test]
fn bad_flags_give_named_errors() {
    let (_tmp, out) = tmpdir("bad");
    let o = out.to_str().unwrap();
    let e = err_text(&["train", "sft", "--out", o]);
    assert!(e.contains("--model DIR") && e.contains("--init tiny"), "{e}");
    let e = err_text(&["train", "sft", "--init", "tiny", "--kv-heads", "3", "--out", o]);
    assert!(e.contains("--kv-heads"), "{e}");
    let e = err_text(&["train", "sft", "--init", "tiny", "--batch", "4", "--micro-batch", "8", "--out", o]);
    assert!(e.contains("--micro-batch") && e.contains("8"), "{e}");
    let e = err_text(&["train", "sft", "--init", "tiny", "--data", "missing.jsonl", "--out", o]);
    assert!(e.contains("--data") && e.contains("missing.jsonl"), "{e}");
    let e = err_text(&["train", "sft", "--init", "tiny", "--mode", "thinking", "--out", o]);
    assert!(e.contains("--mode") && e.contains("thinking"), "{e}");
    let e = err_text(&["train", "sft", "--model", "/nonexistent/model", "--out", o]);
    assert!(e.contains("/nonexistent/model") && e.contains("config.json"), "{e}");
    let e = err_text(&["train", "sft", "--init", "tiny", "--resume", "--out", o]);
    assert!(e.contains("--resume"), "{e}");
    let e = err_text(&["train", "init", "--model", "x", "--out", o]);
    assert!(e.contains("--init"), "{e}");
    let e = err_text(&["demo", "--episodes", "0", "--out", o]);
    assert!(e.contains("--episodes"), "{e}");
    let bad = out.join("bad.jsonl");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(&bad, "{\"prompt\": \"p\", \"target\": \"t\"}\nnot json\n").unwrap();
    let e = err_text(&["train", "sft", "--init", "tiny", "--data", bad.to_str().unwrap(), "--out", o]);
    assert!(e.contains("bad.jsonl:2"), "{e}");
    let e = err_text(&[
        "train",
        "sft",
        "--init",
        "tiny",
        "--data",
        bad.to_str().unwrap(),
        "--arms",
        "3",
        "--out",
        o,
    ]);
    assert!(e.contains("--arms") && e.contains("--data ucb"), "{e}");
}

/// A fixed small data set: 8 (prompt, target) pairs in the chat format.
fn small_jsonl(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let colours = ["red", "blue", "green", "yellow", "pink", "gray", "teal", "navy"];
    let mut text = String::new();
    for (i, c) in colours.iter().enumerate() {
        let prompt =
            format!("<start_of_turn>user\nWhich button is number {i}?<end_of_turn>\n<start_of_turn>model\n");
        let target = format!("Button {i} is {c}. ACTION={c}");
        text.push_str(&serde_json::json!({"prompt": prompt, "target": target}).to_string());
        text.push('\n');
    }
    let path = dir.join("pairs.jsonl");
    std::fs::write(&path, text).unwrap();
    path
}

fn sft_args<'a>(data: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "train",
        "sft",
        "--init",
        "tiny",
        "--hidden",
        "32",
        "--layers",
        "2",
        "--heads",
        "2",
        "--kv-heads",
        "1",
        "--head-dim",
        "16",
        "--ffn",
        "64",
        "--window",
        "8",
        "--context",
        "64",
        "--vocab",
        "384",
        "--data",
        data,
        "--batch",
        "4",
        "--micro-batch",
        "2",
        "--lr",
        "2e-2",
        "--warmup",
        "3",
        "--seed",
        "9",
        "--quiet",
        "--out",
        out,
    ];
    a.extend_from_slice(extra);
    a
}

fn log_of(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_tiny_model_learns_a_small_data_set() {
    let (_tmp, dir) = tmpdir("learn");
    let data = small_jsonl(&dir);
    let out = dir.join("run");
    let text = ok(&sft_args(data.to_str().unwrap(), out.to_str().unwrap(), &["--steps", "60"]));
    assert!(text.contains("steps 60/60 (0 skipped)"), "{text}");
    let log = log_of(&out);
    assert_eq!(log.len(), 60);
    let loss = |r: &serde_json::Value| r["loss"].as_f64().unwrap();
    let first = loss(&log[0]);
    let last: f64 = log[55..].iter().map(loss).sum::<f64>() / 5.0;
    // From about ln(vocab) = 5.9 to under 30% of it in 60 steps (measured: 5.97 -> 1.0): the
    // answers' fixed words are learned; which digit and colour go where takes longer.
    assert!(first > 5.0, "initial loss {first}");
    assert!(last < 0.3 * first, "loss {first} -> {last} (mean of the last 5 steps)");
    for r in &log {
        assert_eq!(r["skipped"], false);
        assert!(r["grad_norm"].as_f64().unwrap().is_finite());
        let (targets, tokens) = (r["target_tokens"].as_u64().unwrap(), r["tokens"].as_u64().unwrap());
        assert!(targets > 0 && targets < tokens, "{targets} target tokens of {tokens}");
    }
    assert!(out.join("loss.png").is_file() && out.join("loss.svg").is_file());
    // The checkpoint is a model the other commands load; it answers the training prompt.
    let ckpt = out.join("checkpoint");
    for f in
        ["model.safetensors", "config.json", "tokenizer.json", "optimizer.safetensors", "trainer_state.json"]
    {
        assert!(ckpt.join(f).is_file(), "{f}");
    }
    let mut engine = Engine::load(&ckpt, &LoadOptions::default()).unwrap();
    let tok = GemmaTokenizer::from_dir(&ckpt).unwrap();
    let mut ids = vec![tok.bos_id];
    ids.extend(
        tok.encode(
            "<start_of_turn>user\nWhich button is number 2?<end_of_turn>\n<start_of_turn>model\n",
            false,
        )
        .unwrap(),
    );
    let opts = GenerateOptions { max_new_tokens: 16, ..GenerateOptions::default() };
    let g = engine.generate(&[ids], &opts).unwrap();
    let answer = tok.decode(&g[0].ids, true).unwrap();
    assert!(answer.contains("ACTION="), "the trained model answers in the trained format: {answer:?}");
}

#[test]
fn stopping_and_resuming_gives_the_same_run_bit_for_bit() {
    let (_tmp, dir) = tmpdir("resume");
    let data = small_jsonl(&dir);
    let d = data.to_str().unwrap();
    let (a, b) = (dir.join("a"), dir.join("b"));
    ok(&sft_args(d, a.to_str().unwrap(), &["--steps", "8", "--save-every", "3"]));
    ok(&sft_args(d, b.to_str().unwrap(), &["--steps", "8", "--save-every", "3", "--stop-at", "4"]));
    assert_eq!(log_of(&b).len(), 4);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(b.join("checkpoint/trainer_state.json")).unwrap())
            .unwrap();
    assert_eq!((state["step"].as_u64(), state["cursor"].as_u64()), (Some(4), Some(16)));
    let e = err_text(&sft_args(d, b.to_str().unwrap(), &["--steps", "8", "--clip", "0.5", "--resume"]));
    assert!(e.contains("optimizer.clip"), "a resumed run must keep its settings: {e}");
    ok(&sft_args(d, b.to_str().unwrap(), &["--steps", "8", "--save-every", "3", "--resume"]));
    let strip = |out: &Path| -> Vec<(u64, u64, u64, u64)> {
        log_of(out)
            .iter()
            .map(|r| {
                let bits = |k: &str| r[k].as_f64().unwrap().to_bits();
                (r["step"].as_u64().unwrap(), bits("loss"), bits("lr"), bits("grad_norm"))
            })
            .collect()
    };
    assert_eq!(strip(&a), strip(&b), "same losses, learning rates and gradient norms, bit for bit");
    for f in ["model.safetensors", "optimizer.safetensors", "trainer_state.json"] {
        assert_eq!(
            std::fs::read(a.join("checkpoint").join(f)).unwrap(),
            std::fs::read(b.join("checkpoint").join(f)).unwrap(),
            "{f} differs"
        );
    }
}
