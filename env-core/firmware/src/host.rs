//! Talking to the host through semihosting: output lines, the exit code, and a panic handler
//! that reports and exits with failure (so QEMU returns non-zero).

use cortex_m_semihosting::debug::{self, EXIT_FAILURE, EXIT_SUCCESS};
pub use cortex_m_semihosting::hprintln;

/// Ends the emulation: exit code 0 on `ok`, 1 otherwise.
pub fn exit(ok: bool) -> ! {
    debug::exit(if ok { EXIT_SUCCESS } else { EXIT_FAILURE });
    // Only reached without a semihosting host (real hardware): stop here.
    loop {
        cortex_m::asm::bkpt();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    hprintln!("PANIC: {}", info);
    exit(false)
}

use cortex_m_rt::{ExceptionFrame, exception};

/// A hard fault (e.g. the stack ran past the end of RAM): report where and fail.
#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    hprintln!("HARD FAULT at pc {:#010x}, sp in frame {:p}", frame.pc(), frame);
    exit(false)
}
