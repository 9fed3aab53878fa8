//! The footprint image: what a simulator firmware needs to run one UCB episode on the paper's
//! 10-arm bandit and render the prompt an LLM would see. Linked for a 256 KiB-flash, 64 KiB-RAM
//! part (memory.x). It reports, through semihosting:
//! - the stack high-water mark of the work (the stack is painted at boot);
//! - instructions per bandit step and per prompt render, counted by SysTick under QEMU's
//!   `-icount shift=0` (see `icount`); run without it, the counts are meaningless.
#![no_std]
#![no_main]

use core::fmt;

use cortex_m_rt::entry;
use env_core::agents::{Ucb, run_bandit_episode};
use env_core::prompt::{MabPromptSpec, write_mab_prompt};
use env_core::{Environment, MabConfig, MultiArmedBandit};
use env_core_firmware::host::{exit, hprintln};
use env_core_firmware::icount::Counter;
use env_core_firmware::stack;

const HORIZON: usize = 50;
const PROMPT_STEP: usize = 10;
/// Steps of the bare environment-stepping loop.
const STEPS: usize = 1000;

/// A fixed text buffer (the prompt goes here, as it would to a display or a UART).
struct Text<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> fmt::Write for Text<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        self.buf.get_mut(self.len..end).ok_or(fmt::Error)?.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[entry]
fn main() -> ! {
    stack::paint();
    let Some(p) = cortex_m::Peripherals::take() else { exit(false) };
    let counter = Counter::new(p.SYST);

    let config = MabConfig::default();
    let Ok(mut env) = MultiArmedBandit::new(config, 7) else { exit(false) };
    let (mut actions, mut rewards) = ([0usize; HORIZON], [0.0f64; HORIZON]);
    let mut ucb = Ucb::paper();
    let (episode, episode_insns) =
        counter.instructions(|| run_bandit_episode(&mut env, &mut ucb, 11, &mut actions, &mut rewards));

    let mut text = Text { buf: [0u8; 2048], len: 0 };
    let spec = MabPromptSpec::new(&config);
    let (rendered, prompt_insns) = counter.instructions(|| {
        write_mab_prompt(&mut text, &spec, env.labels(), &actions[..PROMPT_STEP], &rewards[..PROMPT_STEP])
    });

    // The environment alone: STEPS steps of a long episode.
    let long = MabConfig { horizon: STEPS, ..config };
    let Ok(mut bare) = MultiArmedBandit::new(long, 7) else { exit(false) };
    let _ = bare.reset(11);
    let (stepped, step_insns) = counter.instructions(|| {
        let mut sum = 0.0;
        for t in 0..STEPS {
            match bare.step(t % 10) {
                Ok(tr) => sum += tr.reward,
                Err(_) => return None,
            }
        }
        Some(sum)
    });
    let hwm = stack::high_water();

    let ok = episode == Ok(HORIZON) && rendered.is_ok() && stepped.is_some() && hwm.is_some();
    hprintln!("calibration: {} ticks for 2000000 instructions", counter.calibration_ticks);
    hprintln!(
        "ucb episode: {} instructions, {} per step (UCB select + update + env step)",
        episode_insns,
        episode_insns / HORIZON as u64
    );
    hprintln!(
        "env step: {} instructions per step (Gaussian arm, {} steps)",
        step_insns / STEPS as u64,
        STEPS
    );
    hprintln!("prompt render: {} instructions for {} bytes (step {})", prompt_insns, text.len, PROMPT_STEP);
    hprintln!(
        "stack high-water: {:?} bytes (of {} between the statics and the top of RAM)",
        hwm,
        stack::top() - stack::bottom()
    );
    hprintln!("static RAM end: {:#010x}", stack::bottom());
    exit(ok)
}
