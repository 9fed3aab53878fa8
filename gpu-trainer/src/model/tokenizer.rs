//! Gemma's `tokenizer.json` (BPE with byte fallback, `▁` for spaces) through
//! the `tokenizers` crate, plus the Gemma chat template:
//!
//! ```text
//! <bos><start_of_turn>user
//! {message}<end_of_turn>
//! <start_of_turn>model
//! ```

use super::config::file_label;
use super::{ModelError, Result};
use std::path::Path;
use tokenizers::Tokenizer;

pub const BOS: &str = "<bos>";
pub const EOS: &str = "<eos>";
pub const PAD: &str = "<pad>";
pub const START_OF_TURN: &str = "<start_of_turn>";
pub const END_OF_TURN: &str = "<end_of_turn>";

/// Who speaks in a turn of the chat template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    User,
    /// Gemma calls the assistant `model`
    Model,
}

impl Role {
    fn tag(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Model => "model",
        }
    }
}

/// A loaded Gemma tokenizer with the ids of its special tokens.
pub struct GemmaTokenizer {
    inner: Tokenizer,
    file: String,
    pub bos_id: u32,
    pub eos_id: u32,
    pub pad_id: Option<u32>,
    pub start_of_turn_id: u32,
    pub end_of_turn_id: u32,
}

impl std::fmt::Debug for GemmaTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GemmaTokenizer")
            .field("file", &self.file)
            .field("vocab", &self.vocab_size())
            .field("bos_id", &self.bos_id)
            .field("eos_id", &self.eos_id)
            .field("end_of_turn_id", &self.end_of_turn_id)
            .finish()
    }
}

impl GemmaTokenizer {
    /// Loads `tokenizer.json`; the special tokens `<bos>`, `<eos>`,
    /// `<start_of_turn>` and `<end_of_turn>` must be in its vocabulary.
    pub fn from_file(path: &Path) -> Result<Self> {
        let file = file_label(path);
        let bytes = std::fs::read(path).map_err(|e| ModelError::new(&file, format!("cannot read: {e}")))?;
        Self::from_bytes(&bytes, &file)
    }

    /// [`GemmaTokenizer::from_file`] of a tokenizer.json's bytes; `file` names it in errors.
    pub fn from_bytes(bytes: &[u8], file: &str) -> Result<Self> {
        let file = file.to_string();
        // The tokenizers crate panics on some malformed files (seen by the loader fuzzer,
        // tests/fuzz_loaders.rs): check the JSON first, and turn what still panics into an error.
        serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
            .map_err(|e| ModelError::new(&file, format!("not a tokenizer: not valid JSON: {e}")))?;
        let inner = std::panic::catch_unwind(|| Tokenizer::from_bytes(bytes))
            .map_err(|_| ModelError::new(&file, "not a tokenizer: the tokenizers library could not read it"))?
            .map_err(|e| ModelError::new(&file, format!("not a tokenizer: {e}")))?;
        let id = |tok: &str| {
            inner.token_to_id(tok).ok_or_else(|| {
                ModelError::new(&file, format!("special token \"{tok}\" is not in the vocabulary"))
            })
        };
        Ok(Self {
            bos_id: id(BOS)?,
            eos_id: id(EOS)?,
            pad_id: inner.token_to_id(PAD),
            start_of_turn_id: id(START_OF_TURN)?,
            end_of_turn_id: id(END_OF_TURN)?,
            inner,
            file,
        })
    }

    /// Loads `tokenizer.json` from a model directory.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        Self::from_file(&dir.join("tokenizer.json"))
    }

    /// vocabulary size including added tokens
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Encodes `text`; with `add_special_tokens` the tokenizer's post-processor
    /// adds what it adds (Gemma: `<bos>` in front). Special tokens written in
    /// the text (`<start_of_turn>`) become their single ids.
    pub fn encode(&self, text: &str, add_special_tokens: bool) -> Result<Vec<u32>> {
        self.inner
            .encode(text, add_special_tokens)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| ModelError::new(&self.file, format!("cannot encode: {e}")))
    }

    /// Decodes ids to text; `skip_special_tokens` drops `<bos>`, `<eos>`, ...
    pub fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String> {
        self.inner
            .decode(ids, skip_special_tokens)
            .map_err(|e| ModelError::new(&self.file, format!("cannot decode: {e}")))
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// Ids that end a model turn: `<eos>` and `<end_of_turn>`.
    pub fn stop_ids(&self) -> [u32; 2] {
        [self.eos_id, self.end_of_turn_id]
    }

    /// The ids of a chat prompt, ending with the opening of the model's turn
    /// (see [`chat_prompt`]). Starts with exactly one `<bos>`.
    pub fn encode_chat(&self, turns: &[(Role, &str)]) -> Result<Vec<u32>> {
        let text = chat_prompt(turns);
        let ids = self.encode(text.strip_prefix(BOS).unwrap_or(&text), false)?;
        let mut out = Vec::with_capacity(ids.len() + 1);
        out.push(self.bos_id);
        out.extend(ids);
        Ok(out)
    }

    /// The underlying `tokenizers::Tokenizer`.
    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }
}

/// Gemma's chat template as text, generation prompt included:
/// `<bos>` then per turn `<start_of_turn>{role}\n{text}<end_of_turn>\n`, then
/// `<start_of_turn>model\n`. (Gemma has no system role: as the official
/// template does, put system text at the start of the first user turn.)
pub fn chat_prompt(turns: &[(Role, &str)]) -> String {
    let mut s = String::from(BOS);
    for (role, text) in turns {
        s.push_str(START_OF_TURN);
        s.push_str(role.tag());
        s.push('\n');
        s.push_str(text.trim());
        s.push_str(END_OF_TURN);
        s.push('\n');
    }
    s.push_str(START_OF_TURN);
    s.push_str("model\n");
    s
}

/// A single-user-message prompt: `<bos><start_of_turn>user\n{msg}<end_of_turn>\n<start_of_turn>model\n`.
pub fn user_prompt(msg: &str) -> String {
    chat_prompt(&[(Role::User, msg)])
}

/// Checks tokenizer output against the model's vocabulary: an id past it means the
/// tokenizer.json belongs to another model.
pub fn check_vocab(ids: &[u32], vocab: usize) -> anyhow::Result<()> {
    if let Some(&bad) = ids.iter().find(|&&i| i as usize >= vocab) {
        anyhow::bail!(
            "the tokenizer produced id {bad}, but the model's vocabulary has {vocab} tokens: tokenizer.json does not belong to this model"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_text() {
        assert_eq!(user_prompt("hi"), "<bos><start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n");
        assert_eq!(
            chat_prompt(&[(Role::User, "a"), (Role::Model, "b"), (Role::User, "c")]),
            "<bos><start_of_turn>user\na<end_of_turn>\n<start_of_turn>model\nb<end_of_turn>\n\
             <start_of_turn>user\nc<end_of_turn>\n<start_of_turn>model\n"
        );
    }
}
