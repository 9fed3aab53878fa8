//! `greedy logits` and `greedy generate`: a model's logits or generations for token ids or text.

use anyhow::{Result, bail};
use gpu_trainer::generate::{Engine, GenerateOptions, StopReason};
use gpu_trainer::model::check_vocab;
use serde_json::json;

use super::generate::GenerateArgs;
use super::logits::LogitsArgs;
use super::model::{load_engine, parse_ids, require_tokenizer};

/// Runs `greedy logits`; returns what to print.
pub fn logits(args: &LogitsArgs) -> Result<String> {
    let m = &args.model;
    let mut engine = load_engine(&m.model, m.dtype, m.adapter.clone())?;
    let vocab = engine.config().vocab_size;
    let ids = match (&args.ids, &args.text) {
        (Some(ids), _) => parse_ids(ids, vocab)?,
        (None, Some(text)) => {
            let tok = require_tokenizer(&engine, &m.model, "--text")?;
            let mut ids = vec![tok.bos_id];
            ids.extend(tok.encode(text, false).map_err(anyhow::Error::msg)?);
            check_vocab(&ids, vocab)?;
            ids
        }
        (None, None) => bail!("give the input as --ids or --text"),
    };
    if args.top == Some(0) {
        bail!("invalid value 0 for --top: allowed 1..={vocab}");
    }
    let logits = engine.logits(&ids)?;
    if logits.len() != ids.len() * vocab {
        bail!("the engine returned {} logits for {} positions x {vocab}", logits.len(), ids.len());
    }
    let rows: Vec<&[f32]> = logits.chunks(vocab).collect();
    if args.json && args.top.is_none() {
        return Ok(serde_json::to_string(&json!({ "logits": rows }))? + "\n");
    }
    let n = args.top.unwrap_or(5).min(vocab);
    let tops: Vec<Vec<usize>> = rows.iter().map(|r| top_n(r, n)).collect();
    if args.json {
        let top: Vec<TopRow> = tops
            .iter()
            .zip(&rows)
            .enumerate()
            .map(|(pos, (t, r))| TopRow { pos, ids: t.clone(), logits: t.iter().map(|&i| r[i]).collect() })
            .collect();
        return Ok(serde_json::to_string(&TopJson { top })? + "\n");
    }
    let tok = engine.tokenizer();
    let mut out = String::new();
    for (pos, (t, r)) in tops.iter().zip(&rows).enumerate() {
        let input = show_token(tok, ids[pos]);
        out.push_str(&format!("pos {pos:>4}  input {input:<16}  next:"));
        for &i in t {
            out.push_str(&format!("  {}={:.4}", show_token(tok, i as u32), r[i]));
        }
        out.push('\n');
    }
    Ok(out)
}

/// `greedy logits --top N --json`: `{"top": [{"pos": 0, "ids": [...], "logits": [...]}, ...]}`,
/// keys in that order.
#[derive(serde::Serialize)]
struct TopJson {
    top: Vec<TopRow>,
}

/// One position of [`TopJson`]: the N largest logits, largest first.
#[derive(serde::Serialize)]
struct TopRow {
    pos: usize,
    ids: Vec<usize>,
    logits: Vec<f32>,
}

fn show_token(tok: Option<&gpu_trainer::model::GemmaTokenizer>, id: u32) -> String {
    match tok.and_then(|t| t.id_to_token(id)) {
        Some(s) => format!("{id}:{s:?}"),
        None => id.to_string(),
    }
}

/// Indices of the `n` largest values, largest first (ties: lower index first).
pub fn top_n(row: &[f32], n: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..row.len()).collect();
    idx.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
    idx.truncate(n);
    idx
}

/// Checks the sampling flags.
pub fn check_sampling(temperature: f32, top_k: Option<usize>, top_p: Option<f32>) -> Result<()> {
    if !temperature.is_finite() || temperature < 0.0 {
        bail!("invalid value {temperature} for --temperature: allowed a number >= 0 (0 = greedy)");
    }
    if top_k == Some(0) {
        bail!("invalid value 0 for --top-k: allowed >= 1");
    }
    if let Some(p) = top_p
        && !(p > 0.0 && p <= 1.0)
    {
        bail!("invalid value {p} for --top-p: allowed 0 < p <= 1");
    }
    Ok(())
}

/// Runs `greedy generate`; returns what to print.
pub fn generate(args: &GenerateArgs) -> Result<String> {
    check_sampling(args.temperature, args.top_k, args.top_p)?;
    let m = &args.model;
    let mut engine: Engine = load_engine(&m.model, m.dtype, m.adapter.clone())?;
    let vocab = engine.config().vocab_size;
    let ids = match (&args.ids, &args.prompt) {
        (Some(ids), _) => parse_ids(ids, vocab)?,
        (None, Some(text)) => {
            let tok = require_tokenizer(&engine, &m.model, "--prompt")?;
            let ids = if args.chat {
                tok.encode_chat(&[(gpu_trainer::model::tokenizer::Role::User, text.as_str())])
                    .map_err(anyhow::Error::msg)?
            } else {
                let mut ids = vec![tok.bos_id];
                ids.extend(tok.encode(text, false).map_err(anyhow::Error::msg)?);
                ids
            };
            check_vocab(&ids, vocab)?;
            ids
        }
        (None, None) => bail!("give the prompt as --ids or --prompt"),
    };
    let opts = GenerateOptions {
        max_new_tokens: args.max_new_tokens,
        temperature: args.temperature,
        top_k: args.top_k,
        top_p: args.top_p,
        seed: args.seed,
        stop_ids: Vec::new(),
        entropy: false,
    };
    let g = engine
        .generate(std::slice::from_ref(&ids), &opts)?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("no generation"))?;
    let stop = match g.stop {
        StopReason::Eos(id) => format!("eos:{id}"),
        StopReason::MaxTokens => "max_tokens".into(),
    };
    let text = match (&args.prompt, engine.tokenizer()) {
        (Some(_), Some(tok)) => Some(tok.decode(&g.ids, true).map_err(anyhow::Error::msg)?),
        _ => None,
    };
    if args.json {
        let mut v = json!({"ids": g.ids, "logprobs": g.logprobs, "stop": stop});
        if let Some(t) = &text {
            v["text"] = json!(t);
        }
        return Ok(serde_json::to_string(&v)? + "\n");
    }
    Ok(match text {
        Some(t) => t + "\n",
        None => g.ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",") + "\n",
    })
}
