//! Progress bars on stderr for the library's long work ([`gpu_trainer::progress::Progress`]):
//! evaluation episodes, rollout steps, training steps.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar on stderr, or nothing when hidden (`--json`, `--quiet`, no terminal).
pub struct Bar(ProgressBar);

impl Bar {
    /// A bar drawn on stderr when `show`, else a hidden one.
    pub fn new(show: bool) -> Bar {
        let target = if show { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        Bar(ProgressBar::with_draw_target(Some(0), target))
    }

    /// Shown when stderr is a terminal and `quiet` is false.
    pub fn on_terminal(quiet: bool) -> Bar {
        Bar::new(!quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()))
    }
}

impl gpu_trainer::progress::Progress for Bar {
    fn start(&self, total: u64, unit: &str) {
        self.0.set_length(total);
        self.0.set_position(0);
        if let Ok(style) = ProgressStyle::with_template(&format!(
            "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit} ({{eta}} left) {{msg}}"
        )) {
            self.0.set_style(style);
        }
        self.0.reset_eta();
    }

    fn set(&self, n: u64) {
        self.0.set_position(n);
    }

    fn inc(&self, n: u64) {
        self.0.inc(n);
    }

    fn message(&self, text: &str) {
        self.0.set_message(text.to_string());
    }

    fn note(&self, text: &str) {
        self.0.println(text);
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
}
