//! Reading the action out of a model's answer (SPEC section 3).
//!
//! Rules:
//! - A *marker* is the word `action` in any case (not preceded by an ASCII letter or digit),
//!   then optional spaces, tabs, `*`, `_` or backticks, then `=` or `:`. So `ACTION=red`,
//!   `action = Blue`, `**ACTION**: red` and `Action: red` are all markers. `:` is accepted
//!   because models often write `Action: red` in markdown; the price is that prose such as
//!   "the final action: ..." after the real answer is also a marker.
//! - Only the LAST marker counts (SPEC: the last `ACTION=X`). If the label after it is not a
//!   valid action, the answer is invalid, even when an earlier marker named a valid one: the
//!   model's final word was not an action.
//! - After the marker, whitespace, quotes (`"` `'` and their typographic forms), backticks,
//!   `*`, `_`, `#` and opening brackets `( [ { <` are skipped; then the label must follow,
//!   ending at a word boundary. Whatever follows it (closing brackets, `**`, `.`) is ignored.
//! - Labels are matched by [`ActionNames`]: case-insensitive names, numbers by value (`07` is 7;
//!   `10` with 10 arms, `-1` and `3.5` are invalid).

use super::names::ActionNames;
use crate::error::{Error, Result};

/// A byte range of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The text of the span in `text` (empty if the span does not fit `text`).
    pub fn of<'t>(&self, text: &'t str) -> &'t str {
        text.get(self.start..self.end).unwrap_or("")
    }
}

/// What the answer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParsedAction {
    /// The last marker names this action; `span` is where its label is.
    Valid {
        /// The action (index into the names parsed against).
        arm: usize,
        /// The label's bytes.
        span: Span,
    },
    /// The last marker is followed by something that is no action's label; `span` covers it
    /// (up to the next whitespace; empty when nothing follows).
    UnknownLabel {
        /// The unrecognised text.
        span: Span,
    },
    /// No marker at all.
    NoActionFound,
}

impl ParsedAction {
    /// The action, if valid.
    pub fn arm(&self) -> Option<usize> {
        match *self {
            ParsedAction::Valid { arm, .. } => Some(arm),
            _ => None,
        }
    }
}

const MARKER: &[u8] = b"action";

/// Byte offset just after the last marker's separator, if any.
pub fn last_marker(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut found = None;
    let mut i = 0;
    while i + MARKER.len() <= b.len() {
        if b[i..i + MARKER.len()].eq_ignore_ascii_case(MARKER)
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
        {
            let mut j = i + MARKER.len();
            while j < b.len() && matches!(b[j], b' ' | b'\t' | b'*' | b'_' | b'`') {
                j += 1;
            }
            if j < b.len() && matches!(b[j], b'=' | b':') {
                found = Some(j + 1);
            }
        }
        i += 1;
    }
    found
}

fn is_decoration(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '"' | '\'' | '`' | '*' | '_' | '#' | '(' | '[' | '{' | '<' | '“' | '”' | '‘' | '’' | '«'
        )
}

/// Parses the action of `answer` against `names`.
pub fn parse_action<N: ActionNames + ?Sized>(answer: &str, names: &N) -> ParsedAction {
    let Some(after) = last_marker(answer) else {
        return ParsedAction::NoActionFound;
    };
    let rest = &answer[after..];
    let skip = rest.find(|c: char| !is_decoration(c)).unwrap_or(rest.len());
    let start = after + skip;
    let tail = &answer[start..];
    match names.match_prefix(tail) {
        Some((arm, len)) if arm < names.num_actions() => {
            ParsedAction::Valid { arm, span: Span { start, end: start + len } }
        }
        _ => {
            let len = tail.find(char::is_whitespace).unwrap_or(tail.len());
            ParsedAction::UnknownLabel { span: Span { start, end: start + len } }
        }
    }
}

/// The action of `answer`, or [`Error::NoValidAction`] when there is no marker or the last
/// marker names no valid action.
pub fn parse_action_arm<N: ActionNames + ?Sized>(answer: &str, names: &N) -> Result<usize> {
    parse_action(answer, names).arm().ok_or(Error::NoValidAction)
}
