//! `tokenizer.json` (HuggingFace `tokenizers`) from a GGUF's SentencePiece
//! vocabulary (`tokenizer.ggml.model = "llama"`), the way transformers'
//! GGUF loader builds Gemma's (`integrations/gguf/gguf_tokenizer_mapping.py`,
//! `gemma_tokenizer`), so both tokenize alike:
//!
//! - model: BPE with byte fallback (`<0x00>`..`<0xFF>`), `fuse_unk`, the unknown token
//!   `tokenizer.ggml.unknown_token_id`; vocabulary: every token at its index. A token made
//!   only of whitespace that holds a space (Gemma's `"  "`, `"   "`, ...) is stored by
//!   llama.cpp with real spaces; it is spelled with `▁` (one per character), as the
//!   normalizer writes spaces.
//! - merges: `tokenizer.ggml.merges` when the file has them; otherwise rebuilt as
//!   transformers' `generate_merges` does: for every token, in vocabulary order, each
//!   split into two tokens of the vocabulary, longest left part first. Gemma's merge
//!   order is its vocabulary order (for its normal tokens the SentencePiece scores fall
//!   strictly with the index, so they give the same order).
//! - added tokens: CONTROL tokens (type 3: `<bos>`, `<start_of_turn>`, `<unusedN>` ...) as
//!   special, USER_DEFINED ones (type 4: `"\n\n"`, `"<div>"` ...) as plain added tokens,
//!   all matched whole in the raw text; the whitespace tokens above are left to the merges.
//! - normalizer `Replace(" " -> "▁")`, no pre-tokenizer, post-processor `<bos> $A` when
//!   `tokenizer.ggml.add_bos_token` (default true, as llama.cpp), decoder
//!   `Replace("▁" -> " ")`, `ByteFallback`, `Fuse`.

use super::reader::{GgufFile, MetaValue};
use super::{GgufError, Result};
use serde_json::{Value, json};
use std::collections::HashMap;

/// SentencePiece / llama.cpp token types.
pub const TOKEN_NORMAL: u32 = 1;
pub const TOKEN_CONTROL: u32 = 3;
pub const TOKEN_USER_DEFINED: u32 = 4;

/// The vocabulary of a GGUF file.
#[derive(Clone, Debug)]
pub struct Vocab {
    /// tokens as HuggingFace spells them (whitespace tokens respelled with `▁`)
    pub tokens: Vec<String>,
    /// which tokens were respelled
    pub respelled: Vec<bool>,
    /// token types (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte)
    pub types: Vec<u32>,
    /// merges from the file, if it has them
    pub merges: Option<Vec<(String, String)>>,
    pub bos_id: Option<u32>,
    pub eos_id: Option<u32>,
    pub unk_id: Option<u32>,
    pub pad_id: Option<u32>,
    pub add_bos: bool,
    pub add_eos: bool,
    pub chat_template: Option<String>,
}

fn bad(g: &GgufFile, key: &str, message: String) -> GgufError {
    GgufError::BadMetadata { file: g.label(), key: key.into(), message }
}

fn array<'a>(g: &'a GgufFile, key: &str) -> Result<Option<&'a [MetaValue]>> {
    match g.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_array()
            .map(Some)
            .ok_or_else(|| bad(g, key, format!("must be an array, got {}", v.type_name()))),
    }
}

/// a token id key: absent -> None; present -> checked against the vocabulary size
fn id(g: &GgufFile, key: &str, n: usize) -> Result<Option<u32>> {
    match g.get(key) {
        None => Ok(None),
        Some(v) => match v.as_u64() {
            Some(i) if (i as usize) < n => Ok(Some(i as u32)),
            Some(i) => Err(bad(g, key, format!("is {i}, past the vocabulary of {n} tokens"))),
            None => Err(bad(g, key, format!("must be an integer, got {}", v.type_name()))),
        },
    }
}

fn flag(g: &GgufFile, key: &str, default: bool) -> Result<bool> {
    match g.get(key) {
        None => Ok(default),
        Some(v) => v.as_bool().ok_or_else(|| bad(g, key, format!("must be a bool, got {}", v.type_name()))),
    }
}

/// Is this a token llama.cpp stores with real spaces that HuggingFace spells with `▁`?
fn is_space_token(t: &str) -> bool {
    t.contains(' ') && t.chars().all(char::is_whitespace)
}

impl Vocab {
    /// Reads the vocabulary of `g`; it must be a SentencePiece one (`tokenizer.ggml.model = "llama"`).
    pub fn from_gguf(g: &GgufFile) -> Result<Self> {
        let model_key = "tokenizer.ggml.model";
        match g.get(model_key).and_then(MetaValue::as_str) {
            Some("llama") => {}
            Some(other) => {
                return Err(GgufError::Unsupported {
                    file: g.label(),
                    message: format!(
                        "metadata \"{model_key}\" is \"{other}\": only SentencePiece vocabularies (\"llama\") are supported"
                    ),
                });
            }
            None => return Err(bad(g, model_key, "is missing (the file has no tokenizer)".into())),
        }
        let tokens_key = "tokenizer.ggml.tokens";
        let raw = array(g, tokens_key)?.ok_or_else(|| bad(g, tokens_key, "is missing".into()))?;
        if raw.is_empty() {
            return Err(bad(g, tokens_key, "is empty".into()));
        }
        let n = raw.len();
        let mut tokens = Vec::with_capacity(n);
        let mut respelled = Vec::with_capacity(n);
        for (i, v) in raw.iter().enumerate() {
            let t = v.as_str().ok_or_else(|| bad(g, tokens_key, format!("entry {i} is not a string")))?;
            let space = is_space_token(t);
            respelled.push(space);
            tokens.push(if space { "\u{2581}".repeat(t.chars().count()) } else { t.to_string() });
        }
        let types: Vec<u32> = match array(g, "tokenizer.ggml.token_type")? {
            None => vec![TOKEN_NORMAL; n],
            Some(a) if a.len() != n => {
                return Err(bad(
                    g,
                    "tokenizer.ggml.token_type",
                    format!("has {} entries but \"{tokens_key}\" has {n}", a.len()),
                ));
            }
            Some(a) => a
                .iter()
                .enumerate()
                .map(|(i, v)| match v.as_u64() {
                    Some(t @ 1..=6) => Ok(t as u32),
                    _ => Err(bad(
                        g,
                        "tokenizer.ggml.token_type",
                        format!("entry {i} is {v:?}, expected 1..=6"),
                    )),
                })
                .collect::<Result<_>>()?,
        };
        if let Some(a) = array(g, "tokenizer.ggml.scores")?
            && a.len() != n
        {
            let msg = format!("has {} entries but \"{tokens_key}\" has {n}", a.len());
            return Err(bad(g, "tokenizer.ggml.scores", msg));
        }
        let merges = match array(g, "tokenizer.ggml.merges")? {
            None => None,
            Some(a) => Some(
                a.iter()
                    .enumerate()
                    .map(|(i, v)| {
                        v.as_str()
                            .and_then(|s| s.split_once(' '))
                            .map(|(l, r)| (l.to_string(), r.to_string()))
                            .ok_or_else(|| {
                                bad(g, "tokenizer.ggml.merges", format!("entry {i} is not \"left right\""))
                            })
                    })
                    .collect::<Result<_>>()?,
            ),
        };
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(n);
        for (i, t) in tokens.iter().enumerate() {
            if let Some(j) = seen.insert(t, i) {
                return Err(bad(g, tokens_key, format!("tokens {j} and {i} are both {t:?}")));
            }
        }
        Ok(Vocab {
            bos_id: id(g, "tokenizer.ggml.bos_token_id", n)?,
            eos_id: id(g, "tokenizer.ggml.eos_token_id", n)?,
            unk_id: id(g, "tokenizer.ggml.unknown_token_id", n)?,
            pad_id: id(g, "tokenizer.ggml.padding_token_id", n)?,
            add_bos: flag(g, "tokenizer.ggml.add_bos_token", true)?,
            add_eos: flag(g, "tokenizer.ggml.add_eos_token", false)?,
            chat_template: g.get("tokenizer.chat_template").and_then(MetaValue::as_str).map(str::to_string),
            tokens,
            respelled,
            types,
            merges,
        })
    }

    /// number of tokens
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The merges: the file's, or [`merges_from_vocab`].
    pub fn merges(&self) -> Vec<(String, String)> {
        match &self.merges {
            Some(m) => m.clone(),
            None => merges_from_vocab(&self.tokens),
        }
    }

    /// The whole `tokenizer.json`.
    pub fn tokenizer_json(&self) -> Value {
        let vocab: serde_json::Map<String, Value> =
            self.tokens.iter().enumerate().map(|(i, t)| (t.clone(), json!(i))).collect();
        let merges: Vec<Value> = self.merges().into_iter().map(|(l, r)| json!([l, r])).collect();
        let named = [self.bos_id, self.eos_id, self.unk_id, self.pad_id];
        let added: Vec<Value> = (0..self.len())
            .filter_map(|i| {
                let special = self.types[i] == TOKEN_CONTROL || named.contains(&Some(i as u32));
                let user = self.types[i] == TOKEN_USER_DEFINED && !self.respelled[i];
                (special || user).then(|| {
                    json!({"id": i, "content": self.tokens[i], "single_word": false, "lstrip": false,
                           "rstrip": false, "normalized": false, "special": special})
                })
            })
            .collect();
        let tok = |id: Option<u32>| id.map(|i| self.tokens[i as usize].clone());
        let post_processor = self.post_processor();
        json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": added,
            "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u{2581}"},
            "pre_tokenizer": null,
            "post_processor": post_processor,
            "decoder": {"type": "Sequence", "decoders": [
                {"type": "Replace", "pattern": {"String": "\u{2581}"}, "content": " "},
                {"type": "ByteFallback"},
                {"type": "Fuse"}
            ]},
            "model": {
                "type": "BPE",
                "dropout": null,
                "unk_token": tok(self.unk_id),
                "continuing_subword_prefix": null,
                "end_of_word_suffix": null,
                "fuse_unk": true,
                "byte_fallback": true,
                "ignore_merges": false,
                "vocab": vocab,
                "merges": merges
            }
        })
    }

    /// `<bos> $A` / `$A <eos>` as the add-BOS / add-EOS flags say (null when neither).
    fn post_processor(&self) -> Value {
        let bos = self.bos_id.filter(|_| self.add_bos).map(|i| (self.tokens[i as usize].clone(), i));
        let eos = self.eos_id.filter(|_| self.add_eos).map(|i| (self.tokens[i as usize].clone(), i));
        if bos.is_none() && eos.is_none() {
            return Value::Null;
        }
        let special =
            |t: &(String, u32), type_id: u32| json!({"SpecialToken": {"id": t.0, "type_id": type_id}});
        let seq = |name: &str, type_id: u32| json!({"Sequence": {"id": name, "type_id": type_id}});
        let mut single = Vec::new();
        let mut pair = Vec::new();
        single.extend(bos.iter().map(|t| special(t, 0)));
        single.push(seq("A", 0));
        single.extend(eos.iter().map(|t| special(t, 0)));
        pair.extend(single.iter().cloned());
        pair.extend(bos.iter().map(|t| special(t, 1)));
        pair.push(seq("B", 1));
        pair.extend(eos.iter().map(|t| special(t, 1)));
        let mut specials = serde_json::Map::new();
        for t in bos.iter().chain(eos.iter()) {
            specials.insert(t.0.clone(), json!({"id": t.0, "ids": [t.1], "tokens": [t.0]}));
        }
        json!({"type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": specials})
    }

    /// `tokenizer_config.json` (for transformers; this project reads only tokenizer.json).
    pub fn tokenizer_config_json(&self, max_len: Option<u64>) -> Value {
        let tok = |id: Option<u32>| id.map(|i| self.tokens[i as usize].clone());
        let mut v = json!({
            "tokenizer_class": "GemmaTokenizer",
            "add_bos_token": self.add_bos,
            "add_eos_token": self.add_eos,
            "bos_token": tok(self.bos_id),
            "eos_token": tok(self.eos_id),
            "unk_token": tok(self.unk_id),
            "pad_token": tok(self.pad_id),
        });
        if let Some(n) = max_len {
            v["model_max_length"] = json!(n);
        }
        if let Some(t) = &self.chat_template {
            v["chat_template"] = json!(t);
        }
        v
    }
}

/// Merges implied by a vocabulary whose order is its merge order (transformers'
/// `generate_merges(vocab, {token: -index})`): for each token in order, every split
/// `left + right` (at character boundaries) with both parts in the vocabulary, the
/// longest `left` first.
pub fn merges_from_vocab(tokens: &[String]) -> Vec<(String, String)> {
    let index: HashMap<&str, usize> = tokens.iter().enumerate().map(|(i, t)| (t.as_str(), i)).collect();
    let mut merges = Vec::new();
    for t in tokens {
        let cuts: Vec<usize> = t.char_indices().map(|(i, _)| i).skip(1).collect();
        for &cut in cuts.iter().rev() {
            let (l, r) = t.split_at(cut);
            if index.contains_key(l) && index.contains_key(r) {
                merges.push((l.to_string(), r.to_string()));
            }
        }
    }
    merges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_follow_vocab_order_then_longest_left() {
        let v: Vec<String> = ["a", "b", "c", "ab", "bc", "abc"].iter().map(|s| s.to_string()).collect();
        let m = merges_from_vocab(&v);
        let want = [("a", "b"), ("b", "c"), ("ab", "c"), ("a", "bc")];
        assert_eq!(m, want.map(|(l, r)| (l.to_string(), r.to_string())));
    }

    #[test]
    fn space_tokens() {
        assert!(is_space_token("  ") && is_space_token(" \t"));
        assert!(!is_space_token("\n\n") && !is_space_token(" a") && !is_space_token("▁▁"));
    }
}
