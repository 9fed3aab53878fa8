//! Ctrl-C and SIGTERM for long runs: the first signal asks the run to stop at the next safe point
//! (a training run saves a checkpoint at the step it finished and exits cleanly); a second one
//! ends the process at once, with the shell's exit status for that signal (130 for SIGINT, 143
//! for SIGTERM).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Exit status of a run stopped by a signal (as shells report SIGINT).
pub const INTERRUPTED_EXIT: u8 = 130;

/// A stop request raised by SIGINT or SIGTERM.
#[derive(Debug, Clone)]
pub struct StopRequest(Arc<AtomicBool>);

impl StopRequest {
    /// Installs the handlers (Unix: SIGINT and SIGTERM; elsewhere Ctrl-C through SIGINT) and
    /// returns the flag they raise. Call it once, from the command that owns the process.
    pub fn install() -> std::io::Result<StopRequest> {
        let flag = Arc::new(AtomicBool::new(false));
        for sig in signal_hook::consts::TERM_SIGNALS {
            // order matters: the conditional exit sees the flag as it was before this signal
            let code = if *sig == signal_hook::consts::SIGINT { 130 } else { 128 + *sig };
            signal_hook::flag::register_conditional_shutdown(*sig, code, Arc::clone(&flag))?;
            signal_hook::flag::register(*sig, Arc::clone(&flag))?;
        }
        Ok(StopRequest(flag))
    }

    /// A flag nobody raises (tests, library use).
    pub fn never() -> StopRequest {
        StopRequest(Arc::new(AtomicBool::new(false)))
    }

    /// Was a stop asked for?
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Asks for a stop (as the first signal does).
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// The flag itself, for the library's loops.
    pub fn flag(&self) -> &AtomicBool {
        &self.0
    }
}

/// The error a run stopped by [`StopRequest`] returns, after it saved what it had.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Interrupted(pub String);
