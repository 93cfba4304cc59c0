//! Replacing a file so that a crash leaves either the old contents or the new, never a mix
//! (the contract: the blocklist file is rewritten by writing a temporary file, then renaming).
//!
//! The steps follow POSIX `rename(2)` ("If the link named by the new argument exists, it shall
//! be removed and old renamed to new ... there shall be no point at which new does not exist")
//! and `fsync(2)`: the new contents are written to a temporary file in the same directory (a
//! rename is atomic only within one file system) and flushed to disk, then renamed over the
//! target, then the directory is flushed so the rename itself survives a power cut.
//! A symlink at `path` is replaced by a regular file (the link's target is left alone).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Replaces the file at `path` with `bytes`, atomically. The new file keeps the old one's
/// permissions. On error the target is unchanged and no temporary file is left behind.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temp = write_temp(path, bytes)?;
    commit(&temp, path).inspect_err(|_| {
        let _ = fs::remove_file(&temp);
    })
}

/// Step 1: the new contents in a temporary file beside `path`, flushed to disk.
fn write_temp(path: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp = dir_of(path).join(format!(".{}.{}.{n}.tmp", name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&temp)?;
        if let Ok(old) = fs::metadata(path) {
            file.set_permissions(old.permissions())?;
        }
        file.write_all(bytes)?;
        file.sync_all()
    })();
    match result {
        Ok(()) => Ok(temp),
        Err(e) => {
            let _ = fs::remove_file(&temp);
            Err(e)
        }
    }
}

/// Step 2: the temporary file renamed over `path`, and the directory flushed.
fn commit(temp: &Path, path: &Path) -> io::Result<()> {
    fs::rename(temp, path)?;
    File::open(dir_of(path))?.sync_all()
}

/// The directory holding `path` (`.` for a bare file name).
fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh, empty directory for one test.
    fn scratch(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("danmaku-atomic-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn creates_and_replaces() {
        let dir = scratch("replace");
        let path = dir.join("blocklist.txt");
        write_atomically(&path, b"first\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"first\n");
        write_atomically(&path, b"second\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second\n");
        write_atomically(&path, b"").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"");
        assert_eq!(entries(&dir), vec!["blocklist.txt"], "no temporary file left");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_crash_before_the_rename_leaves_the_old_file_intact() {
        let dir = scratch("crash");
        let path = dir.join("blocklist.txt");
        write_atomically(&path, b"old\n").unwrap();
        // The process dies after step 1: the temporary file is complete, the rename never ran.
        let temp = write_temp(&path, b"new\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"old\n");
        assert_eq!(fs::read(&temp).unwrap(), b"new\n");
        assert_eq!(temp.parent(), Some(dir.as_path()), "same directory, same file system");
        assert!(temp.file_name().unwrap().to_string_lossy().starts_with(".blocklist.txt."));
        // Had it lived on, step 2 would have swapped the whole file in.
        commit(&temp, &path).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new\n");
        assert_eq!(entries(&dir), vec!["blocklist.txt"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_leave_nothing_behind() {
        let dir = scratch("errors");
        let missing_dir = dir.join("nope").join("list.txt");
        assert_eq!(write_atomically(&missing_dir, b"x").unwrap_err().kind(), io::ErrorKind::NotFound);
        // The target is a directory: the rename fails, the temporary file goes.
        let target = dir.join("a-directory");
        fs::create_dir(&target).unwrap();
        assert!(write_atomically(&target, b"x").is_err());
        assert_eq!(entries(&dir), vec!["a-directory"]);
        assert!(write_atomically(Path::new("/"), b"x").is_err(), "no file name");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn permissions_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("perms");
        let path = dir.join("list.txt");
        fs::write(&path, b"old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_bare_file_name_is_in_the_current_directory() {
        assert_eq!(dir_of(Path::new("list.txt")), Path::new("."));
        assert_eq!(dir_of(Path::new("/etc/list.txt")), Path::new("/etc"));
    }
}
