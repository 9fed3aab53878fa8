//! Tic-tac-toe results: average return = win rate - loss rate.

use crate::error::{Error, Result};

/// Win / draw / loss counts of a set of games.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GameOutcomes {
    /// Games with a positive final reward.
    pub wins: u64,
    /// Games with a zero final reward.
    pub draws: u64,
    /// Games with a negative final reward.
    pub losses: u64,
}

impl GameOutcomes {
    /// Counts one game by its final reward (+1 win, 0 draw, -1 loss; the sign decides). Errors on
    /// a non-finite reward.
    pub fn add(&mut self, reward: f64) -> Result<()> {
        if !reward.is_finite() {
            return Err(Error::NotFinite { name: "game reward" });
        }
        if reward > 0.0 {
            self.wins += 1;
        } else if reward < 0.0 {
            self.losses += 1;
        } else {
            self.draws += 1;
        }
        Ok(())
    }

    /// Number of games.
    pub fn games(&self) -> u64 {
        self.wins + self.draws + self.losses
    }

    /// Win rate minus loss rate, in [-1, 1]. Errors when no game was counted.
    pub fn average_return(&self) -> Result<f64> {
        let n = self.games();
        if n == 0 {
            return Err(Error::Empty { what: "games" });
        }
        Ok((self.wins as f64 - self.losses as f64) / n as f64)
    }
}

/// Average return of a slice of per-game final rewards (+1 / 0 / -1): win rate - loss rate.
/// Errors on an empty slice or a non-finite reward.
pub fn average_return(rewards: &[f64]) -> Result<f64> {
    let mut o = GameOutcomes::default();
    for &r in rewards {
        o.add(r)?;
    }
    o.average_return()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand() {
        assert_eq!(average_return(&[1.0, 1.0, 0.0, -1.0]), Ok(0.25));
        assert_eq!(average_return(&[-1.0, -1.0]), Ok(-1.0));
        assert!(average_return(&[]).is_err());
        assert!(average_return(&[f64::NAN]).is_err());
        let mut o = GameOutcomes::default();
        o.add(0.0).unwrap();
        assert_eq!(o, GameOutcomes { wins: 0, draws: 1, losses: 0 });
    }
}
