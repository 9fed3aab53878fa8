//! Who owns a cell: the agent (`1`) or the opponent (`2`).

use crate::error::{Error, Result};

/// A player's mark. The numeric value is the digit written in the board's state string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Mark {
    /// The agent under study, written `1`.
    Agent = 1,
    /// The environment's opponent, written `2`.
    Opponent = 2,
}

impl Mark {
    /// Both marks, agent first.
    pub const ALL: [Mark; 2] = [Mark::Agent, Mark::Opponent];

    /// The digit value: 1 for the agent, 2 for the opponent.
    pub const fn value(self) -> u8 {
        self as u8
    }

    /// The ASCII digit of the mark in a state string (`b'1'` or `b'2'`).
    pub const fn ascii(self) -> u8 {
        b'0' + self as u8
    }

    /// The other player's mark.
    pub const fn other(self) -> Mark {
        match self {
            Mark::Agent => Mark::Opponent,
            Mark::Opponent => Mark::Agent,
        }
    }

    /// The mark with digit value `value` (1 or 2); [`Error::OutOfRange`] otherwise.
    pub fn from_value(value: u8) -> Result<Mark> {
        match value {
            1 => Ok(Mark::Agent),
            2 => Ok(Mark::Opponent),
            v => Err(Error::OutOfRange { name: "mark", value: v as f64, min: 1.0, max: 2.0 }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_other() {
        assert_eq!(Mark::Agent.value(), 1);
        assert_eq!(Mark::Opponent.value(), 2);
        assert_eq!(Mark::Agent.ascii(), b'1');
        assert_eq!(Mark::Opponent.ascii(), b'2');
        assert_eq!(Mark::Agent.other(), Mark::Opponent);
        assert_eq!(Mark::Opponent.other(), Mark::Agent);
        assert_eq!(Mark::from_value(1), Ok(Mark::Agent));
        assert_eq!(Mark::from_value(2), Ok(Mark::Opponent));
        assert!(matches!(Mark::from_value(0), Err(Error::OutOfRange { name: "mark", .. })));
        assert!(matches!(Mark::from_value(3), Err(Error::OutOfRange { .. })));
    }
}
