//! Reading the `<ucb_values>` block of a knowing-doing answer (SPEC section 4).
//!
//! Rules:
//! - The LAST `<ucb_values>` opening tag (any case) starts the block; it ends at the next
//!   `</ucb_values>` or, for an answer cut off by the token budget, at the end of the text.
//! - Each line of the block may start with whitespace, bullets (`-`, `*`, `+`, `•`), quotes,
//!   backticks or `#`, then must start with an action's label (see [`ActionNames`]); other
//!   lines are ignored.
//! - The value is the first number after the LAST `=` of the rest of the line if there is one
//!   (so `blue: 0.5 + sqrt(1/2) = 1.21` reads 1.21), else after the first `:`, else right after
//!   the label. Numbers use Rust's float syntax: `1.5`, `-2`, `1e-3`, and `nan`, `inf`,
//!   `infinity` in any case, as written.
//! - A label given twice keeps its last value.

use super::names::ActionNames;
use crate::MAX_ARMS;

/// The values stated in a `<ucb_values>` block, indexed by arm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UcbValues {
    values: [f64; MAX_ARMS],
    given: u32,
    arms: usize,
}

impl UcbValues {
    /// Number of arms of the names parsed against.
    pub fn arms(&self) -> usize {
        self.arms
    }

    /// The value stated for `arm`, if any.
    pub fn get(&self, arm: usize) -> Option<f64> {
        self.is_given(arm).then(|| self.values[arm])
    }

    /// Whether a value was stated for `arm`.
    pub fn is_given(&self, arm: usize) -> bool {
        arm < self.arms && self.given & (1 << arm) != 0
    }

    /// The mask of arms with a value (bit `a` set for arm `a`).
    pub fn given_mask(&self) -> u32 {
        self.given
    }

    /// Number of arms with a value.
    pub fn given_count(&self) -> usize {
        self.given.count_ones() as usize
    }

    /// Whether every arm has a value.
    pub fn is_complete(&self) -> bool {
        self.given_count() == self.arms
    }

    /// The arm with the highest stated value, for grading the knowing-doing probe. NaN and +inf
    /// (an untried arm's value) rank above every finite value; ties go to the lowest index,
    /// as in [`crate::UcbRule::choose`]. `None` when no value was stated.
    pub fn argmax(&self) -> Option<usize> {
        let mut best: Option<(usize, f64)> = None;
        for arm in 0..self.arms {
            let Some(v) = self.get(arm) else { continue };
            let key = if v.is_nan() { f64::INFINITY } else { v };
            if best.is_none_or(|(_, b)| key > b) {
                best = Some((arm, key));
            }
        }
        best.map(|(a, _)| a)
    }
}

const OPEN: &[u8] = b"<ucb_values>";
const CLOSE: &[u8] = b"</ucb_values>";

fn find_ci(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    (from..=hay.len().checked_sub(needle.len())?)
        .find(|&i| hay[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

fn rfind_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    (0..=hay.len().checked_sub(needle.len())?)
        .rev()
        .find(|&i| hay[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

/// The text inside the last `<ucb_values>` block, if there is one.
pub fn ucb_block(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    let start = rfind_ci(b, OPEN)? + OPEN.len();
    let end = find_ci(b, CLOSE, start).unwrap_or(b.len());
    // Both ends sit next to ASCII tags (or at the end), so they are char boundaries.
    text.get(start..end)
}

fn parse_number(s: &str) -> Option<f64> {
    let s =
        s.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '*' | '`' | '"' | '\'' | '~' | '≈'));
    let len = s
        .bytes()
        .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')))
        .unwrap_or(s.len());
    let mut token = &s[..len];
    loop {
        if let Ok(v) = token.parse::<f64>() {
            return Some(v);
        }
        token = token.strip_suffix('.')?;
    }
}

fn value_text(rest: &str) -> &str {
    if let Some(i) = rest.rfind('=') {
        &rest[i + 1..]
    } else if let Some(i) = rest.find(':') {
        &rest[i + 1..]
    } else {
        rest
    }
}

/// Parses the last `<ucb_values>` block of `text` against `names`; `None` when there is no block.
pub fn parse_ucb_values<N: ActionNames + ?Sized>(text: &str, names: &N) -> Option<UcbValues> {
    let block = ucb_block(text)?;
    let arms = names.num_actions().min(MAX_ARMS);
    let mut out = UcbValues { values: [f64::NAN; MAX_ARMS], given: 0, arms };
    for line in block.lines() {
        let line = line.trim_start_matches(|c: char| {
            c.is_whitespace() || matches!(c, '-' | '*' | '+' | '•' | '`' | '"' | '\'' | '#')
        });
        let Some((arm, len)) = names.match_prefix(line) else { continue };
        if arm >= arms {
            continue;
        }
        if let Some(v) = parse_number(value_text(&line[len..])) {
            out.values[arm] = v;
            out.given |= 1 << arm;
        }
    }
    Some(out)
}
