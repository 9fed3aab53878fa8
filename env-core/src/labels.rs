//! Action labels: colour names for "buttons", indices for "continuous" (numeric) labels.

use core::fmt;

use crate::error::{Error, Result};
use crate::rng::Rng;

/// The colour palette for button labels. The first 20 are the paper's; the rest extend the
/// palette so that every supported arm count (up to [`crate::MAX_ARMS`]) has distinct names.
pub const COLOURS: [&str; 32] = [
    "blue",
    "green",
    "red",
    "yellow",
    "orange",
    "purple",
    "pink",
    "brown",
    "black",
    "white",
    "gray",
    "cyan",
    "magenta",
    "maroon",
    "olive",
    "lime",
    "teal",
    "navy",
    "indigo",
    "violet",
    "gold",
    "silver",
    "beige",
    "coral",
    "crimson",
    "khaki",
    "lavender",
    "salmon",
    "turquoise",
    "tan",
    "azure",
    "ivory",
];

/// How actions are named in prompts and answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LabelStyle {
    /// Colour names ("blue", "green", ...), drawn from [`COLOURS`] in a scenario-seeded order.
    Buttons,
    /// The arm indices `0..k`.
    Numeric,
}

/// One action's label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Label {
    /// A name such as a colour.
    Name(&'static str),
    /// A number.
    Index(u16),
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Label::Name(s) => f.write_str(s),
            Label::Index(i) => write!(f, "{i}"),
        }
    }
}

impl Label {
    /// Whether `text` names this label (ASCII case-insensitive; numbers compare by value).
    pub fn matches(&self, text: &str) -> bool {
        match self {
            Label::Name(s) => s.eq_ignore_ascii_case(text),
            Label::Index(i) => parse_index(text) == Some(*i as usize),
        }
    }
}

fn parse_index(text: &str) -> Option<usize> {
    if text.is_empty() || text.len() > 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.bytes().try_fold(0usize, |acc, b| Some(acc * 10 + (b - b'0') as usize))
}

/// The labels of `k` actions: `labels[arm]` is what arm `arm` is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelSet {
    labels: [Label; crate::MAX_ARMS],
    len: usize,
}

impl LabelSet {
    /// Labels for `k` arms in `style`; button colours are chosen and ordered by `scenario_seed`.
    pub fn new(style: LabelStyle, k: usize, scenario_seed: u64) -> Result<Self> {
        crate::error::check_count("arms", k, 1, crate::MAX_ARMS)?;
        let mut labels = [Label::Index(0); crate::MAX_ARMS];
        match style {
            LabelStyle::Numeric => {
                for (i, l) in labels.iter_mut().enumerate().take(k) {
                    *l = Label::Index(i as u16);
                }
            }
            LabelStyle::Buttons => {
                let mut order = [0u8; 32];
                for (i, o) in order.iter_mut().enumerate() {
                    *o = i as u8;
                }
                let mut rng = Rng::from_stream(scenario_seed, 0x4C41_4245_4C53); // "LABELS"
                rng.shuffle(&mut order);
                for i in 0..k {
                    labels[i] = Label::Name(COLOURS[order[i] as usize]);
                }
            }
        }
        Ok(LabelSet { labels, len: k })
    }

    /// Labels given explicitly (for example movie titles); at most [`crate::MAX_ARMS`].
    pub fn from_labels(list: &[Label]) -> Result<Self> {
        crate::error::check_count("labels", list.len(), 1, crate::MAX_ARMS)?;
        let mut labels = [Label::Index(0); crate::MAX_ARMS];
        labels[..list.len()].copy_from_slice(list);
        Ok(LabelSet { labels, len: list.len() })
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no labels (never true for a set built by [`LabelSet::new`]).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The label of `arm`.
    pub fn get(&self, arm: usize) -> Result<Label> {
        if arm >= self.len {
            return Err(Error::InvalidAction { action: arm, num_actions: self.len });
        }
        Ok(self.labels[arm])
    }

    /// All labels, in arm order.
    pub fn as_slice(&self) -> &[Label] {
        &self.labels[..self.len]
    }

    /// The arm whose label is `text` (see [`Label::matches`]).
    pub fn find(&self, text: &str) -> Result<usize> {
        self.as_slice().iter().position(|l| l.matches(text)).ok_or(Error::UnknownLabel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_are_distinct_and_seeded() {
        let a = LabelSet::new(LabelStyle::Buttons, 32, 1).unwrap();
        for i in 0..32 {
            for j in 0..i {
                assert_ne!(a.get(i).unwrap(), a.get(j).unwrap());
            }
        }
        let b = LabelSet::new(LabelStyle::Buttons, 5, 1).unwrap();
        assert_eq!(&a.as_slice()[..5], b.as_slice());
        let c = LabelSet::new(LabelStyle::Buttons, 5, 2).unwrap();
        assert_ne!(b, c);
    }

    #[test]
    fn find_is_case_insensitive_and_numeric() {
        let n = LabelSet::new(LabelStyle::Numeric, 10, 0).unwrap();
        assert_eq!(n.find("7"), Ok(7));
        assert_eq!(n.find("07"), Ok(7));
        assert_eq!(n.find("10"), Err(Error::UnknownLabel));
        let b = LabelSet::new(LabelStyle::Buttons, 3, 0).unwrap();
        let Label::Name(name) = b.get(2).unwrap() else { panic!() };
        let mut upper = heapless::String::<16>::new();
        for c in name.chars() {
            upper.push(c.to_ascii_uppercase()).unwrap();
        }
        assert_eq!(b.find(&upper), Ok(2));
        assert!(LabelSet::new(LabelStyle::Numeric, 33, 0).is_err());
        assert!(LabelSet::new(LabelStyle::Numeric, 0, 0).is_err());
        assert_eq!(b.get(3), Err(Error::InvalidAction { action: 3, num_actions: 3 }));
    }
}
