//! Gives each binary its memory map: `footprint` links against ld/footprint/memory.x (a
//! 256 KiB-flash, 64 KiB-RAM part), `golden` against ld/golden/memory.x (the emulated MPS2
//! board's memory). cortex-m-rt's link.x includes the first `memory.x` on the linker's path,
//! so there is deliberately none in the crate root (the linker would find it first).

use std::{env, path::PathBuf};

fn main() {
    let root = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    for bin in ["footprint", "golden"] {
        let dir = root.join("ld").join(bin);
        println!("cargo:rustc-link-arg-bin={bin}=-L{}", dir.display());
        println!("cargo:rerun-if-changed={}", dir.join("memory.x").display());
    }
}
