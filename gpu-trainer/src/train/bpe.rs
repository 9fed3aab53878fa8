//! A small Gemma-style BPE tokenizer for models trained from scratch, learned with the
//! `tokenizers` crate's BPE trainer over the project's own text (prompts and rationales).
//!
//! Layout of the vocabulary (so `gpu_trainer::model::GemmaTokenizer` and the chat template work):
//! `<pad>` = 0, `<eos>` = 1, `<bos>` = 2, `<unk>` = 3, `<start_of_turn>` = 4, `<end_of_turn>` = 5,
//! then the 256 byte-fallback tokens `<0x00>`..`<0xFF>` (any text encodes, as in Gemma), then the
//! learned characters and merges in the trainer's order.
//!
//! Text handling is Gemma's: spaces become `▁` (normalizer), the decoder turns `▁` back into spaces
//! and fuses byte tokens; `<bos>` is added by the post-processor. Pre-tokenization is a choice for
//! small models that see only this project's text: merges may span words (the fixed sentences of
//! the prompts become a few tokens, so sequences are about 40% shorter than with word-level
//! merges), but every digit is its own token (as in Gemma: numbers are read digit by digit),
//! newlines stand alone, and each button label (a colour of `env_core::labels::COLOURS`, as a
//! whole word) is always one piece, so a label has the same token wherever it appears. The same
//! corpus and size give the same file.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use tokenizers::Tokenizer;
use tokenizers::models::TrainerWrapper;
use tokenizers::models::bpe::BpeTrainerBuilder;

/// The special tokens, in id order.
pub const SPECIAL_TOKENS: [&str; 6] =
    ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"];

/// Ids reserved before the learned tokens: the special tokens and the 256 byte tokens.
pub const RESERVED: usize = SPECIAL_TOKENS.len() + 256;

/// Smallest `--vocab` accepted: the reserved ids plus room for characters and merges.
pub const MIN_VOCAB: usize = 384;
/// Largest `--vocab` accepted.
pub const MAX_VOCAB: usize = 65_536;

/// The normalizer, pre-tokenizer, post-processor and decoder of the tokenizer, as JSON.
fn pipeline() -> (Value, Value, Value, Value) {
    let normalizer = json!({"type": "Replace", "pattern": {"String": " "}, "content": "▁"});
    let labels = format!("\\b(?:{})\\b", env_core::labels::COLOURS.join("|"));
    let pre_tokenizer = json!({"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": labels}, "behavior": "Isolated", "invert": false},
        {"type": "Split", "pattern": {"String": "\n"}, "behavior": "Isolated", "invert": false},
        {"type": "Digits", "individual_digits": true},
    ]});
    let post_processor = json!({
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [
            {"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
            {"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}},
        ],
        "special_tokens": {"<bos>": {"id": "<bos>", "ids": [2], "tokens": ["<bos>"]}},
    });
    let decoder = json!({"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
        {"type": "ByteFallback"},
        {"type": "Fuse"},
    ]});
    (normalizer, pre_tokenizer, post_processor, decoder)
}

/// A whole `tokenizer.json` for `vocab` (token -> id) and `merges`.
fn tokenizer_json(vocab: &serde_json::Map<String, Value>, merges: &[(String, String)], added: bool) -> Value {
    let (normalizer, pre_tokenizer, post_processor, decoder) = pipeline();
    let added_tokens: Vec<Value> = if added {
        SPECIAL_TOKENS
            .iter()
            .enumerate()
            .map(|(id, t)| {
                json!({"id": id, "content": t, "single_word": false, "lstrip": false, "rstrip": false,
                       "normalized": false, "special": true})
            })
            .collect()
    } else {
        Vec::new()
    };
    json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added_tokens,
        "normalizer": normalizer,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": post_processor,
        "decoder": decoder,
        "model": {
            "type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": true, "byte_fallback": true, "ignore_merges": false,
            "vocab": vocab, "merges": merges.iter().map(|(a, b)| json!([a, b])).collect::<Vec<_>>(),
        },
    })
}

/// Removes the special-token strings from a training text (they are whole tokens, not text to
/// learn merges from).
fn strip_specials(text: &str) -> String {
    let mut s = text.to_string();
    for t in SPECIAL_TOKENS {
        s = s.replace(t, "\n");
    }
    s
}

/// Learns a BPE of at most `vocab_size` tokens (special and byte tokens included) from `texts`
/// and returns the `tokenizer.json` text. Pairs seen fewer than `min_frequency` times are not
/// merged, so a small corpus may give a smaller vocabulary.
pub fn train_bpe<S: AsRef<str>>(texts: &[S], vocab_size: usize, min_frequency: u64) -> Result<String> {
    if !(MIN_VOCAB..=MAX_VOCAB).contains(&vocab_size) {
        bail!("invalid value {vocab_size} for --vocab: allowed {MIN_VOCAB}..={MAX_VOCAB}");
    }
    if texts.is_empty() {
        bail!("cannot learn a tokenizer from an empty corpus");
    }
    // A tokenizer with the final text pipeline and an empty model, to train.
    let empty = tokenizer_json(&serde_json::Map::new(), &[], false);
    let mut learner = Tokenizer::from_bytes(serde_json::to_vec(&empty)?)
        .map_err(|e| anyhow::anyhow!("building the tokenizer pipeline: {e}"))?;
    let mut trainer: TrainerWrapper = BpeTrainerBuilder::new()
        .vocab_size(vocab_size - RESERVED)
        .min_frequency(min_frequency)
        .show_progress(false)
        .build()
        .into();
    let cleaned: Vec<String> = texts.iter().map(|t| strip_specials(t.as_ref())).collect();
    learner.train(&mut trainer, cleaned.iter()).map_err(|e| anyhow::anyhow!("training the BPE: {e}"))?;
    let model = serde_json::to_value(learner.get_model()).context("reading the trained BPE")?;
    let learned = model["vocab"].as_object().context("the trained BPE has no vocabulary")?;
    let merges = parse_merges(&model["merges"])?;
    // Renumber: specials, bytes, then the learned tokens in their trained order.
    let mut order: Vec<(&String, u64)> =
        learned.iter().map(|(t, id)| (t, id.as_u64().unwrap_or(u64::MAX))).collect();
    order.sort_by_key(|&(t, id)| (id, t.clone()));
    let mut vocab = serde_json::Map::new();
    for (id, t) in SPECIAL_TOKENS.iter().enumerate() {
        vocab.insert(t.to_string(), json!(id));
    }
    for b in 0..256 {
        vocab.insert(format!("<0x{b:02X}>"), json!(SPECIAL_TOKENS.len() + b));
    }
    for (t, _) in order {
        if !vocab.contains_key(t.as_str()) {
            let id = vocab.len();
            vocab.insert(t.clone(), json!(id));
        }
    }
    let text = serde_json::to_string_pretty(&tokenizer_json(&vocab, &merges, true))?;
    Tokenizer::from_bytes(text.as_bytes())
        .map_err(|e| anyhow::anyhow!("the learned tokenizer does not load: {e}"))?;
    Ok(text)
}

/// The merges of a serialized BPE: `[["a", "b"], ...]` or `["a b", ...]`.
fn parse_merges(v: &Value) -> Result<Vec<(String, String)>> {
    let items = v.as_array().context("the trained BPE has no merges list")?;
    items
        .iter()
        .map(|m| match m {
            Value::Array(p) if p.len() == 2 => Ok((
                p[0].as_str().context("merge part")?.to_string(),
                p[1].as_str().context("merge part")?.to_string(),
            )),
            Value::String(s) => {
                let (a, b) = s.split_once(' ').with_context(|| format!("merge {s:?}"))?;
                Ok((a.to_string(), b.to_string()))
            }
            other => bail!("unexpected merge {other}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::GemmaTokenizer;

    fn corpus() -> Vec<String> {
        (0..40)
            .map(|i| {
                format!(
                    "<start_of_turn>user\nYou have {i} steps. Press the red button or the blue button.\n\
                     Step={i} Action=red Reward=0.{i:02}<end_of_turn>\n<start_of_turn>model\n\
                     red: count={}, mean=0.5{}, UCB=1.2{}\nACTION=blue",
                    i % 7,
                    i % 10,
                    i % 3
                )
            })
            .collect()
    }

    fn load(text: &str) -> GemmaTokenizer {
        let dir = tempfile::Builder::new().prefix("greedy-bpe-").tempdir().unwrap();
        std::fs::write(dir.path().join("tokenizer.json"), text).unwrap();
        GemmaTokenizer::from_dir(dir.path()).unwrap()
    }

    #[test]
    fn gemma_ids_round_trip_and_digits_alone() {
        let c = corpus();
        let text = train_bpe(&c, 400, 2).unwrap();
        let tok = load(&text);
        assert_eq!((tok.pad_id, tok.eos_id, tok.bos_id), (Some(0), 1, 2));
        assert_eq!((tok.start_of_turn_id, tok.end_of_turn_id), (4, 5));
        assert_eq!(tok.token_to_id("<unk>"), Some(3));
        assert_eq!(tok.token_to_id("<0x0A>"), Some(6 + 10));
        assert!(tok.vocab_size() <= 400 && tok.vocab_size() > RESERVED, "{}", tok.vocab_size());
        for s in &c {
            let ids = tok.encode(s, false).unwrap();
            assert_eq!(ids[0], 4, "<start_of_turn> is one token");
            assert_eq!(&tok.decode(&ids, false).unwrap(), s);
        }
        // Unseen characters fall back to bytes and still round-trip.
        let odd = "Ünïcode ✓ 12345";
        assert_eq!(tok.decode(&tok.encode(odd, false).unwrap(), false).unwrap(), odd);
        let digits = tok.encode("0.4567", false).unwrap();
        let pieces: Vec<String> = digits.iter().map(|&i| tok.id_to_token(i).unwrap()).collect();
        assert_eq!(pieces, ["0", ".", "4", "5", "6", "7"]);
        let pieces = |s: &str| -> Vec<String> {
            tok.encode(s, false).unwrap().iter().map(|&i| tok.id_to_token(i).unwrap()).collect()
        };
        assert!(pieces("ACTION=blue").contains(&"blue".to_string()), "{:?}", pieces("ACTION=blue"));
        assert!(pieces("Step=3 Action=red Reward=0.1").contains(&"red".to_string()));
        assert!(pieces("the red button").contains(&"red".to_string()), "a label is one piece anywhere");
        assert_eq!(train_bpe(&c, 400, 2).unwrap(), text, "deterministic");
    }

    #[test]
    fn bad_sizes_are_named() {
        let e = train_bpe(&corpus(), 100, 2).unwrap_err().to_string();
        assert!(e.contains("--vocab") && e.contains("100"), "{e}");
        assert!(train_bpe::<&str>(&[], 512, 2).is_err());
    }
}
