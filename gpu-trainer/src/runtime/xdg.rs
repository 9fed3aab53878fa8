//! A private `XDG_RUNTIME_DIR` when the environment has none.
//!
//! Mesa's Vulkan drivers (lavapipe included) initialise their Wayland support when the instance
//! is created, and libwayland prints "error: XDG_RUNTIME_DIR is invalid or not set in the
//! environment." once per driver when the variable is unset or names no directory: four false
//! errors on every GPU command of a headless machine (a container, CI, ssh without a login
//! session). [`ensure_runtime_dir`] gives the process its own runtime directory first:
//! `<temp>/greedy-runtime-<uid>`, created mode 0700 and used only if it is a directory owned by
//! this user with no access for anyone else (the XDG base-directory rules). A variable that names
//! a directory is left alone.

use std::path::{Path, PathBuf};
use std::sync::Once;

/// The variable.
pub const RUNTIME_DIR_ENV: &str = "XDG_RUNTIME_DIR";

/// Sets `XDG_RUNTIME_DIR` to a private directory when it is unset or not a directory (Unix
/// only; once per process). Called before every GPU instance is created; the `greedy` command
/// also calls it first thing, while it has a single thread.
pub fn ensure_runtime_dir() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let Some(dir) = wanted_dir() {
            // SAFETY: runs once, before this process creates a GPU instance (the only code of
            // ours that reads the variable) and, in `greedy`, before any other thread exists.
            unsafe { std::env::set_var(RUNTIME_DIR_ENV, dir) };
        }
    });
}

/// The directory to set, or None when the current value is usable (or not on Unix).
fn wanted_dir() -> Option<PathBuf> {
    if !cfg!(unix) {
        return None;
    }
    if let Some(v) = std::env::var_os(RUNTIME_DIR_ENV)
        && Path::new(&v).is_absolute()
        && Path::new(&v).is_dir()
    {
        return None;
    }
    private_dir()
}

#[cfg(unix)]
fn private_dir() -> Option<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let uid = unsafe { libc::getuid() };
    let dir = std::env::temp_dir().join(format!("greedy-runtime-{uid}"));
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    let m = std::fs::symlink_metadata(&dir).ok()?;
    (m.is_dir() && m.uid() == uid && m.permissions().mode() & 0o077 == 0).then_some(dir)
}

#[cfg(not(unix))]
fn private_dir() -> Option<PathBuf> {
    None
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn the_private_directory_belongs_to_this_user_alone() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = private_dir().expect("a private runtime directory");
        let m = std::fs::metadata(&dir).unwrap();
        assert_eq!(m.uid(), unsafe { libc::getuid() });
        assert_eq!(m.permissions().mode() & 0o077, 0);
    }
}
