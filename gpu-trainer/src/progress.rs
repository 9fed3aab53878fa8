//! Progress of long work (evaluation episodes, rollout steps, training steps), reported to
//! whoever shows it: the command line draws bars; tests and library users pass `&()`, which
//! shows nothing.

/// Receives progress: a phase of `total` `unit`s starts, advances, carries a status message and
/// occasional notes, ends. Called from several threads at once (`Sync`).
pub trait Progress: Sync {
    /// A phase of `total` units (`"episodes"`, `"steps"`, ...) starts.
    fn start(&self, _total: u64, _unit: &str) {}
    /// `n` units are done (a resumed run starts past 0).
    fn set(&self, _n: u64) {}
    /// `n` more units are done.
    fn inc(&self, _n: u64) {}
    /// A short status (`"loss 0.42 lr 1e-4"`).
    fn message(&self, _text: &str) {}
    /// A line worth keeping (`"step 7: update skipped (...)"`).
    fn note(&self, _text: &str) {}
    /// The phase is over.
    fn finish(&self) {}
}

/// Shows nothing.
impl Progress for () {}
