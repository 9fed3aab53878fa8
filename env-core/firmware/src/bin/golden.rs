//! Prints env-core's golden digests (one line per scenario, `name digest values`, as the host
//! prints them), then the stack high-water mark, and exits 0; any error exits 1.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use env_core_firmware::host::{exit, hprintln};
use env_core_firmware::stack;

#[entry]
fn main() -> ! {
    stack::paint();
    let mut deepest = 0;
    let result = env_core_golden::run_all(&mut |r| {
        // The stack this scenario used, then repaint for the next one.
        let used = stack::high_water();
        deepest = deepest.max(used.unwrap_or(usize::MAX));
        hprintln!("{:<18} {:016x} {}", r.name, r.digest, r.values);
        hprintln!("# {:<16} stack {:?} bytes", r.name, used);
        stack::paint();
    });
    match result {
        Ok(()) => {
            let room = stack::top() - stack::bottom();
            hprintln!(
                "# stack high-water: {} bytes of {} (static RAM: {} bytes)",
                deepest,
                room,
                stack::bottom() - 0x2000_0000
            );
            exit(deepest < room)
        }
        Err(e) => {
            hprintln!("ERROR: {}", e);
            exit(false)
        }
    }
}
