//! The stack high-water mark: [`paint`] fills the free stack with a pattern at boot, and
//! [`high_water`] finds the deepest word that was overwritten since.
//!
//! The stack grows down from `_stack_start` (the top of RAM) towards `__sheap` (the end of
//! `.data`, `.bss` and `.uninit`; cortex-m-rt's linker script defines both). Everything from
//! the stack pointer at paint time up to the top counts as used.

use core::ptr::{addr_of, read_volatile, write_volatile};

const PATTERN: u32 = 0xC5AC_CE55;

/// Bytes left untouched below the stack pointer while painting (the painter's own frame).
const MARGIN: usize = 256;

unsafe extern "C" {
    static __sheap: u32;
    static _stack_start: u32;
}

/// The bottom of the stack region (the end of static RAM).
pub fn bottom() -> usize {
    addr_of!(__sheap) as usize
}

/// The top of the stack (its initial pointer).
pub fn top() -> usize {
    addr_of!(_stack_start) as usize
}

/// Fills the unused stack, from the bottom to just below the current stack pointer, with the
/// pattern.
pub fn paint() {
    let sp = cortex_m::register::msp::read() as usize;
    let mut p = bottom();
    while p + 4 <= sp - MARGIN {
        // SAFETY: word-aligned RAM between the end of the statics and the live stack.
        unsafe { write_volatile(p as *mut u32, PATTERN) };
        p += 4;
    }
}

/// The most stack used since [`paint`], in bytes (from the top down to the deepest
/// overwritten word); `None` when even the bottom word was overwritten (the stack may have
/// run into the statics).
pub fn high_water() -> Option<usize> {
    let mut p = bottom();
    // SAFETY: reads of word-aligned RAM below the live stack.
    while p < top() && unsafe { read_volatile(p as *const u32) } == PATTERN {
        p += 4;
    }
    if p == bottom() { None } else { Some(top() - p) }
}
