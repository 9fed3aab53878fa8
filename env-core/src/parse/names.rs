//! How an answer's text is matched against the action names: [`ActionNames`].

use crate::labels::LabelSet;

/// A set of action names that can recognise a name at the start of a text.
pub trait ActionNames {
    /// Number of actions.
    fn num_actions(&self) -> usize;

    /// If `text` starts with the name of an action, that action and the byte length of the
    /// name (always a char boundary of `text`). The name must end at a word boundary: the
    /// character after it, if any, is not alphanumeric.
    fn match_prefix(&self, text: &str) -> Option<(usize, usize)>;
}

/// Whether the character at byte `end` of `text` (if any) ends a word.
fn ends_word(text: &str, end: usize) -> bool {
    text.get(end..).and_then(|rest| rest.chars().next()).is_none_or(|c| !c.is_alphanumeric())
}

/// Labels are single words or numbers: the name is the leading run of ASCII letters and digits,
/// looked up with [`LabelSet::find`] (ASCII case-insensitive, numbers by value). A number
/// followed by a decimal part (`3.5`, `3,5`) is not a label.
impl ActionNames for LabelSet {
    fn num_actions(&self) -> usize {
        self.len()
    }

    fn match_prefix(&self, text: &str) -> Option<(usize, usize)> {
        let b = text.as_bytes();
        let len = b.iter().position(|c| !c.is_ascii_alphanumeric()).unwrap_or(b.len());
        if len == 0 || !ends_word(text, len) {
            return None;
        }
        let token = &text[..len];
        if token.bytes().all(|c| c.is_ascii_digit())
            && matches!(b.get(len), Some(b'.' | b','))
            && b.get(len + 1).is_some_and(u8::is_ascii_digit)
        {
            return None;
        }
        self.find(token).ok().map(|arm| (arm, len))
    }
}

/// Movie titles (or any multi-word names) as action names: the longest title that `text`
/// starts with, ASCII case-insensitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Titles<'a>(pub &'a [&'a str]);

impl ActionNames for Titles<'_> {
    fn num_actions(&self) -> usize {
        self.0.len()
    }

    fn match_prefix(&self, text: &str) -> Option<(usize, usize)> {
        let b = text.as_bytes();
        let mut best: Option<(usize, usize)> = None;
        for (arm, title) in self.0.iter().enumerate() {
            let n = title.len();
            if n == 0 || n > b.len() || !b[..n].eq_ignore_ascii_case(title.as_bytes()) {
                continue;
            }
            // Equal bytes up to ASCII case: `n` ends a char of `text` as it ends one of `title`.
            if ends_word(text, n) && best.is_none_or(|(_, l)| n > l) {
                best = Some((arm, n));
            }
        }
        best
    }
}
