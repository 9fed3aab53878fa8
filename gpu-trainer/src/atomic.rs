//! Atomic output: a reader sees a file or a directory either as it was or as it is meant to be,
//! never half-written, and a killed writer leaves nothing that outlives it.
//!
//! - [`write_file`]: bytes into `.<name>.tmp.<pid>` beside the target, fsync, rename over it,
//!   fsync the directory.
//! - [`StagedDir`]: a whole directory built aside (`.<name>.tmp.<pid>`) and swapped in by
//!   [`StagedDir::commit`]: on Linux one `renameat2(RENAME_EXCHANGE)`, so the target is at every
//!   instant the old directory or the new one; elsewhere (or where the file system cannot
//!   exchange) the old one is renamed to `.<name>.old.<pid>` first, and [`recover`] puts it back
//!   if the writer died between the two renames.
//! - [`replace_dir`]: the same swap for a directory the caller built itself (a resumable run that
//!   keeps its staging directory across invocations).
//! - [`sweep_stale`]: removes the temporary files and directories of processes that are gone
//!   (a killed run's `.episodes.jsonl.tmp.4242`), so they never accumulate.
//!
//! Every name this module makes starts with a dot and ends with the writer's process id and
//! host (`.episodes.jsonl.tmp.4242-node07`), which is how [`sweep_stale`] knows whose it is:
//! on a file system that several machines share (the shards of a cluster run writing side by
//! side), another host's temporaries are left alone, since whether their writer still runs
//! cannot be known from here. Names without a host (older versions) are this host's.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// What a temporary name is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// being written
    Tmp,
    /// a replaced directory, removed once the new one is in place
    Old,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Kind::Tmp => "tmp",
            Kind::Old => "old",
        }
    }
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn file_name_of(path: &Path) -> io::Result<String> {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("{} has no final name", path.display()))
    })
}

/// `.<name>.<kind>.<pid>-<host>` beside `target` (`host`: this machine, see [`host_tag`]).
fn sibling(target: &Path, kind: Kind, pid: u32) -> io::Result<PathBuf> {
    Ok(parent_of(target).join(format!(".{}.{}.{pid}-{}", file_name_of(target)?, kind.tag(), host_tag())))
}

/// Who made a temporary name: a process, on a host (None: a name without host, this one's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Owner<'a> {
    pid: u32,
    host: Option<&'a str>,
}

impl Owner<'_> {
    /// Is the owner running, or unknowable (another host's process): then it is kept.
    fn alive(&self) -> bool {
        match self.host {
            Some(h) if h != host_tag() => true,
            _ => process_alive(self.pid),
        }
    }
}

/// Parses a name this module made: (target name, kind, owner).
fn parse_sibling(name: &str) -> Option<(&str, Kind, Owner<'_>)> {
    let rest = name.strip_prefix('.')?;
    let (rest, owner) = rest.rsplit_once('.')?;
    let (pid, host) = match owner.split_once('-') {
        Some((p, h)) if !h.is_empty() => (p, Some(h)),
        Some(_) => return None,
        None => (owner, None),
    };
    let pid: u32 = pid.parse().ok()?;
    let (target, tag) = rest.rsplit_once('.')?;
    let kind = match tag {
        "tmp" => Kind::Tmp,
        "old" => Kind::Old,
        _ => return None,
    };
    (!target.is_empty()).then_some((target, kind, Owner { pid, host }))
}

/// This machine's name as temporary names carry it: the host name with every character but
/// `[A-Za-z0-9_]` made `_` (so it holds no `.` or `-`), or `host` when it cannot be read.
pub fn host_tag() -> &'static str {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| {
        let name = host_name().unwrap_or_default();
        let tag: String =
            name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
        if tag.is_empty() { "host".into() } else { tag }
    })
}

fn host_name() -> Option<String> {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer and its length are valid; the name is NUL-terminated on success
        // (or truncated, in which case the bytes up to the buffer's end are taken).
        if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
            return None;
        }
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        Some(String::from_utf8_lossy(&buf[..end]).into_owned())
    }
    #[cfg(not(unix))]
    {
        std::env::var("COMPUTERNAME").ok()
    }
}

/// Is process `pid` running (or unknowable: then it is treated as running)?
pub fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    #[cfg(unix)]
    {
        let Ok(p) = libc::pid_t::try_from(pid) else { return false };
        // signal 0: no signal, only the existence and permission checks
        if unsafe { libc::kill(p, 0) } == 0 {
            return true;
        }
        io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        true
    }
}

/// fsync a directory, so that renames and new entries in it survive a crash (a no-op where
/// directories cannot be opened).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    let _ = dir;
    Ok(())
}

/// Writes `bytes` to `path` atomically: into `.<name>.tmp.<pid>` in the same directory, flushed
/// to disk, renamed over `path`, the directory synced. On error the temporary file is removed.
pub fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(path, |f| f.write_all(bytes))
}

/// [`write_file`] with the content written by `fill` (large files: no copy in memory).
pub fn write_with(path: &Path, fill: impl FnOnce(&mut File) -> io::Result<()>) -> io::Result<()> {
    let tmp = sibling(path, Kind::Tmp, std::process::id())?;
    let result = (|| {
        let mut f = File::create(&tmp)?;
        fill(&mut f)?;
        f.flush()?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        sync_dir(&parent_of(path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e| io::Error::new(e.kind(), format!("writing {}: {e}", path.display())))
}

/// Swaps `src` (a complete directory) into `target`: afterwards `target` holds what `src` held,
/// and the previous `target`, if any, is gone. See the module doc for the guarantees.
pub fn replace_dir(src: &Path, target: &Path) -> io::Result<()> {
    let ctx = |what: &str, e: io::Error| {
        io::Error::new(e.kind(), format!("{what} {} -> {}: {e}", src.display(), target.display()))
    };
    sync_dir(src).map_err(|e| ctx("sync", e))?;
    let parent = parent_of(target);
    if target.exists() {
        if exchange(src, target).is_ok() {
            // `src` now holds the previous directory
            sync_dir(&parent).map_err(|e| ctx("sync", e))?;
            return remove_any(src).map_err(|e| ctx("remove the replaced directory", e));
        }
        let old = sibling(target, Kind::Old, std::process::id())?;
        std::fs::rename(target, &old).map_err(|e| ctx("move the previous directory aside", e))?;
        if let Err(e) = std::fs::rename(src, target) {
            let _ = std::fs::rename(&old, target);
            return Err(ctx("install", e));
        }
        sync_dir(&parent).map_err(|e| ctx("sync", e))?;
        return remove_any(&old).map_err(|e| ctx("remove the replaced directory", e));
    }
    std::fs::rename(src, target).map_err(|e| ctx("install", e))?;
    sync_dir(&parent).map_err(|e| ctx("sync", e))
}

/// Atomically exchanges two paths (Linux `renameat2(RENAME_EXCHANGE)`); an error where the
/// system or file system cannot.
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let ca = CString::new(a.as_os_str().as_bytes())?;
        let cb = CString::new(b.as_os_str().as_bytes())?;
        const RENAME_EXCHANGE: libc::c_uint = 2;
        let r = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                libc::AT_FDCWD,
                ca.as_ptr(),
                libc::AT_FDCWD,
                cb.as_ptr(),
                RENAME_EXCHANGE,
            )
        };
        if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (a, b);
        Err(io::Error::new(io::ErrorKind::Unsupported, "no atomic exchange on this system"))
    }
}

fn remove_any(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Finishes what a writer of `target` that died left behind: a displaced `.<name>.old.<pid>`
/// goes back to `target` when `target` is missing (the writer died between its two renames) and
/// is removed otherwise; `.<name>.tmp.<pid>` of dead writers are removed.
pub fn recover(target: &Path) -> io::Result<()> {
    let name = file_name_of(target)?;
    let parent = parent_of(target);
    let Ok(entries) = std::fs::read_dir(&parent) else { return Ok(()) };
    for entry in entries.flatten() {
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        let Some((t, kind, owner)) = parse_sibling(&entry_name) else { continue };
        if t != name || owner.alive() {
            continue;
        }
        let path = entry.path();
        if kind == Kind::Old && !target.exists() {
            std::fs::rename(&path, target)?;
        } else {
            remove_any(&path)?;
        }
    }
    Ok(())
}

/// Removes, in `dir`, every temporary file or directory this module made for a process that is
/// no longer running (`.<name>.tmp.<pid>`; a displaced `.<name>.old.<pid>` is put back first if
/// its target is missing, see [`recover`]). Returns what was removed. A missing `dir` is fine.
pub fn sweep_stale(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(removed) };
    let mut targets = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some((target, _, owner)) = parse_sibling(&name)
            && !owner.alive()
        {
            targets.push(dir.join(target));
            removed.push(entry.path());
        }
    }
    targets.sort();
    targets.dedup();
    for t in targets {
        recover(&t)?;
    }
    removed.retain(|p| !p.exists());
    Ok(removed)
}

/// A directory being built beside its final place, swapped in by [`StagedDir::commit`] and
/// removed if dropped uncommitted (an error, a panic).
#[derive(Debug)]
pub struct StagedDir {
    path: PathBuf,
    target: PathBuf,
    done: bool,
}

impl StagedDir {
    /// Creates `.<name>.tmp.<pid>` beside `target` (and `target`'s parent if missing), after
    /// sweeping what dead writers of that parent left.
    pub fn beside(target: &Path) -> io::Result<StagedDir> {
        let parent = parent_of(target);
        std::fs::create_dir_all(&parent)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", parent.display())))?;
        sweep_stale(&parent)?;
        recover(target)?;
        let path = sibling(target, Kind::Tmp, std::process::id())?;
        remove_any(&path)?;
        std::fs::create_dir(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display())))?;
        Ok(StagedDir { path, target: target.to_path_buf(), done: false })
    }

    /// Where to write.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The final place.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Swaps the directory into its final place (see [`replace_dir`]).
    pub fn commit(mut self) -> io::Result<()> {
        replace_dir(&self.path, &self.target)?;
        self.done = true;
        Ok(())
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.done {
            let _ = remove_any(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> tempfile::TempDir {
        tempfile::Builder::new().prefix("greedy-atomic-").tempdir().unwrap()
    }

    /// A pid that is not running: a child that has exited and been reaped.
    fn dead_pid() -> u32 {
        let mut c = std::process::Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        assert!(!process_alive(pid));
        pid
    }

    #[test]
    fn names_round_trip() {
        let p = sibling(Path::new("a/run.d"), Kind::Tmp, 42).unwrap();
        assert_eq!(p, Path::new(&format!("a/.run.d.tmp.42-{}", host_tag())));
        let me = Some(host_tag());
        let name = p.file_name().unwrap().to_str().unwrap();
        assert_eq!(parse_sibling(name), Some(("run.d", Kind::Tmp, Owner { pid: 42, host: me })));
        assert_eq!(parse_sibling(".run.d.tmp.42"), Some(("run.d", Kind::Tmp, Owner { pid: 42, host: None })));
        let old = parse_sibling(".episodes.jsonl.old.7-node_7");
        assert_eq!(old, Some(("episodes.jsonl", Kind::Old, Owner { pid: 7, host: Some("node_7") })));
        assert_eq!(parse_sibling("episodes.jsonl"), None);
        assert_eq!(parse_sibling(".x.tmp.notapid"), None);
        assert_eq!(parse_sibling(".x.tmp.7-"), None);
        assert_eq!(parse_sibling("..tmp.3"), None);
        assert!(!host_tag().contains(['.', '-']) && !host_tag().is_empty());
    }

    #[test]
    fn write_file_replaces_and_leaves_nothing() {
        let d = tmp();
        let p = d.path().join("a.txt");
        write_file(&p, b"one").unwrap();
        write_file(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1, "no temporary file is left behind");
        let e = write_file(&d.path().join("missing/a.txt"), b"x").unwrap_err().to_string();
        assert!(e.contains("missing/a.txt"), "{e}");
    }

    #[test]
    fn staged_dir_swaps_whole_directories() {
        let d = tmp();
        let target = d.path().join("run");
        let s = StagedDir::beside(&target).unwrap();
        std::fs::write(s.path().join("a"), "1").unwrap();
        assert!(!target.exists(), "nothing is visible before the commit");
        s.commit().unwrap();
        assert_eq!(std::fs::read_to_string(target.join("a")).unwrap(), "1");
        // a second run replaces the first as a whole: its extra file is gone too
        std::fs::write(target.join("old-only"), "x").unwrap();
        let s = StagedDir::beside(&target).unwrap();
        std::fs::write(s.path().join("a"), "2").unwrap();
        assert_eq!(
            std::fs::read_to_string(target.join("a")).unwrap(),
            "1",
            "the old run stays until the commit"
        );
        s.commit().unwrap();
        assert_eq!(std::fs::read_to_string(target.join("a")).unwrap(), "2");
        assert!(!target.join("old-only").exists());
        let names: Vec<_> = std::fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("run")], "no staging or old directory is left");
        // dropped uncommitted: removed, the target untouched
        let s = StagedDir::beside(&target).unwrap();
        let staged = s.path().to_path_buf();
        std::fs::write(staged.join("a"), "3").unwrap();
        drop(s);
        assert!(!staged.exists());
        assert_eq!(std::fs::read_to_string(target.join("a")).unwrap(), "2");
    }

    #[test]
    fn stale_temporaries_of_dead_writers_are_swept() {
        let d = tmp();
        let dead = dead_pid();
        let mine = std::process::id();
        std::fs::write(d.path().join(format!(".episodes.jsonl.tmp.{dead}")), "partial").unwrap();
        std::fs::create_dir(d.path().join(format!(".run.tmp.{dead}"))).unwrap();
        std::fs::write(d.path().join(format!(".summary.json.tmp.{mine}")), "mine").unwrap();
        std::fs::write(d.path().join(".not.ours"), "keep").unwrap();
        // this host's dead writer (with its host in the name), and another host's writer, whose
        // process cannot be checked from here: kept
        std::fs::write(d.path().join(format!(".a.tmp.{dead}-{}", host_tag())), "partial").unwrap();
        std::fs::write(d.path().join(format!(".b.tmp.{dead}-{}x", host_tag())), "elsewhere").unwrap();
        let removed = sweep_stale(d.path()).unwrap();
        assert_eq!(removed.len(), 3, "{removed:?}");
        assert!(
            d.path().join(format!(".b.tmp.{dead}-{}x", host_tag())).exists(),
            "another host's file stays"
        );
        assert!(d.path().join(format!(".summary.json.tmp.{mine}")).exists(), "a live writer's file stays");
        assert!(d.path().join(".not.ours").exists());
    }

    #[test]
    fn a_writer_killed_between_its_renames_is_recovered() {
        let d = tmp();
        let target = d.path().join("ckpt");
        let dead = dead_pid();
        // the previous directory was moved aside, the new one never arrived
        let old = d.path().join(format!(".ckpt.old.{dead}"));
        std::fs::create_dir(&old).unwrap();
        std::fs::write(old.join("f"), "previous").unwrap();
        recover(&target).unwrap();
        assert_eq!(std::fs::read_to_string(target.join("f")).unwrap(), "previous");
        assert!(!old.exists());
        // both exist (killed before the clean-up): the displaced one is removed
        std::fs::create_dir(&old).unwrap();
        recover(&target).unwrap();
        assert!(!old.exists() && target.join("f").exists());
    }
}
