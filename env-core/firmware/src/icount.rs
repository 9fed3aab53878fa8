//! Instruction counts in the emulator.
//!
//! QEMU does not model cycle timing, and the DWT cycle counter is not implemented for these
//! boards. But run with `-icount shift=0`, QEMU advances its virtual clock by exactly 1 ns per
//! executed guest instruction, and SysTick (clocked from the board's CPU clock in virtual
//! time) then counts instructions: one tick per `N` instructions, `N` = ns per clock period
//! (40 at the MPS2's 25 MHz). [`Counter::new`] measures `N` itself on a loop of known length
//! (2 instructions per iteration), so nothing assumes the board's clock; each measurement is
//! good to about one tick (~N instructions). Without `-icount` the numbers are host time and
//! meaningless (the footprint report says which was used).

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;

const RELOAD: u32 = 0x00FF_FFFF;
/// Iterations of the calibration loop (2 instructions each).
const CALIBRATION_LOOPS: u32 = 1_000_000;

/// SysTick as a free-running down-counter, calibrated in instructions.
pub struct Counter {
    _syst: SYST,
    /// Ticks the calibration loop took.
    pub calibration_ticks: u32,
}

/// 2 instructions per iteration (`subs`, `bne`), `n` iterations.
#[inline(never)]
fn spin(n: u32) {
    // SAFETY: register-only loop.
    unsafe {
        core::arch::asm!("2:", "subs {0}, #1", "bne 2b", inout(reg) n => _, options(nomem, nostack));
    }
}

impl Counter {
    /// Starts SysTick on the processor clock and calibrates it.
    pub fn new(mut syst: SYST) -> Counter {
        syst.disable_interrupt();
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(RELOAD);
        syst.clear_current();
        syst.enable_counter();
        let mut c = Counter { _syst: syst, calibration_ticks: 0 };
        let ((), ticks) = c.ticks(|| spin(CALIBRATION_LOOPS));
        c.calibration_ticks = ticks.max(1);
        c
    }

    /// Runs `f`, returning its result and the SysTick ticks it took (up to 2^24).
    pub fn ticks<R>(&self, f: impl FnOnce() -> R) -> (R, u32) {
        let start = SYST::get_current();
        let r = f();
        let end = SYST::get_current();
        (r, start.wrapping_sub(end) & RELOAD)
    }

    /// Instructions per tick, times 1000, from the calibration.
    pub fn milli_instructions_per_tick(&self) -> u64 {
        2 * u64::from(CALIBRATION_LOOPS) * 1000 / u64::from(self.calibration_ticks)
    }

    /// Runs `f`, returning its result and the instructions it executed.
    pub fn instructions<R>(&self, f: impl FnOnce() -> R) -> (R, u64) {
        let (r, ticks) = self.ticks(f);
        (r, u64::from(ticks) * self.milli_instructions_per_tick() / 1000)
    }
}
