//! Helpers shared by gpu-trainer's integration tests: the committed fixtures, and copies of them
//! with a changed config.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A committed fixture (`tests/fixtures/<name>`).
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A scratch directory deleted when the guard drops (also when the test fails).
pub fn tmpdir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("greedy-gpu-trainer-{tag}-")).tempdir().unwrap()
}

/// A copy of fixture `name` (a model directory) whose config.json `edit` changes; the guard
/// deletes it.
pub fn edited_fixture(
    name: &str,
    edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) -> (tempfile::TempDir, PathBuf) {
    let tmp = tmpdir(name);
    let dir = tmp.path().join(name);
    copy_dir(&fixture(name), &dir);
    let path = dir.join("config.json");
    let mut cfg: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(cfg.as_object_mut().unwrap());
    std::fs::write(&path, serde_json::to_string_pretty(&cfg).unwrap()).unwrap();
    (tmp, dir)
}

/// Fixture `name` with a context of `n` tokens (the tiny fixtures have 128).
pub fn with_context(name: &str, n: usize) -> (tempfile::TempDir, PathBuf) {
    edited_fixture(name, |c| {
        c.insert("max_position_embeddings".into(), n.into());
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}
