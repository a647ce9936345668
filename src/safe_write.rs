//! Writing files without surprises: every file is written to a temporary file in its own
//! directory, flushed to disk and renamed over the target, so a reader sees the old content or
//! the new, never a part (a full disk leaves the old file as it was); nothing is ever written
//! through a symbolic link. Directories are held open and files are created relative to them
//! (`openat` with `O_NOFOLLOW`), so a symbolic link swapped in between a check and a write is
//! refused too, never followed.

use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags};

/// What went wrong, naming the path.
#[derive(Debug, thiserror::Error)]
pub enum SafeWriteError {
    /// A symbolic link where steward would write.
    #[error(
        "{} is a symbolic link: steward never writes through symbolic links; remove it or choose another path",
        .0.display()
    )]
    Symlink(PathBuf),
    /// Something other than what is needed (a directory where a file goes …).
    #[error("{} is not a {expected}", .0.display(), expected = .1)]
    NotA(PathBuf, &'static str),
    /// An operating-system error.
    #[error("{action} {}: {error}", path.display())]
    Io {
        /// What steward was doing (`writing`, `creating` …).
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// The error (not a `source`: the message already says it).
        error: std::io::Error,
    },
}

type Result<T> = std::result::Result<T, SafeWriteError>;

fn io(action: &'static str, path: PathBuf) -> impl FnOnce(rustix::io::Errno) -> SafeWriteError {
    move |errno| SafeWriteError::Io {
        action,
        path,
        error: errno.into(),
    }
}

/// What a name in a directory is, without following symbolic links.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// Nothing by that name.
    Missing,
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A device, socket, pipe.
    Other,
}

/// An open directory: names are looked up in it, never through a symbolic link.
#[derive(Clone, Debug)]
pub struct SafeDir {
    fd: Arc<OwnedFd>,
    path: PathBuf,
}

impl SafeDir {
    /// Opens `path`, which the user named (symbolic links on the way to it are theirs to use);
    /// when it is missing, creates it and its parents when `create`, else `None`.
    pub fn open(path: &Path, create: bool) -> Result<Option<SafeDir>> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        match rustix::fs::openat(CWD, path, flags, Mode::empty()) {
            Ok(fd) => Ok(Some(SafeDir {
                fd: Arc::new(fd),
                path: path.to_owned(),
            })),
            Err(rustix::io::Errno::NOENT) if create => {
                std::fs::create_dir_all(path).map_err(|error| SafeWriteError::Io {
                    action: "creating",
                    path: path.to_owned(),
                    error,
                })?;
                SafeDir::open(path, false)
            }
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(rustix::io::Errno::NOTDIR) => Err(SafeWriteError::NotA(path.into(), "directory")),
            Err(e) => Err(io("opening", path.to_owned())(e)),
        }
    }

    /// The directory's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `name`'s path, for messages.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// What `name` is.
    pub fn entry(&self, name: &str) -> Result<Entry> {
        match rustix::fs::statat(&*self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => Ok(match FileType::from_raw_mode(stat.st_mode) {
                FileType::RegularFile => Entry::File,
                FileType::Directory => Entry::Dir,
                FileType::Symlink => Entry::Symlink,
                _ => Entry::Other,
            }),
            Err(rustix::io::Errno::NOENT) => Ok(Entry::Missing),
            Err(e) => Err(io("inspecting", self.join(name))(e)),
        }
    }

    /// The subdirectory `name`, refused when it is a symbolic link or not a directory; made when
    /// missing and `create`, else `None`.
    pub fn subdir(&self, name: &str, create: bool) -> Result<Option<SafeDir>> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match rustix::fs::openat(&*self.fd, name, flags, Mode::empty()) {
            Ok(fd) => Ok(Some(SafeDir {
                fd: Arc::new(fd),
                path: self.join(name),
            })),
            Err(rustix::io::Errno::NOENT) if create => {
                match rustix::fs::mkdirat(&*self.fd, name, Mode::from_raw_mode(0o777)) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => self.subdir(name, false),
                    Err(e) => Err(io("creating", self.join(name))(e)),
                }
            }
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(self.refusal(name, "directory", e)),
        }
    }

    /// Why opening `name` failed: a symbolic link, the wrong kind of entry, or the OS error.
    fn refusal(&self, name: &str, expected: &'static str, e: rustix::io::Errno) -> SafeWriteError {
        match self.entry(name) {
            Ok(Entry::Symlink) => SafeWriteError::Symlink(self.join(name)),
            Ok(Entry::Dir | Entry::File | Entry::Other)
                if matches!(e, rustix::io::Errno::NOTDIR | rustix::io::Errno::ISDIR) =>
            {
                SafeWriteError::NotA(self.join(name), expected)
            }
            _ => io("opening", self.join(name))(e),
        }
    }

    /// The regular file `name`'s bytes; `None` when it is missing; refused when it is a symbolic
    /// link or not a regular file.
    pub fn read(&self, name: &str) -> Result<Option<Vec<u8>>> {
        match self.entry(name)? {
            Entry::Missing => return Ok(None),
            Entry::Symlink => return Err(SafeWriteError::Symlink(self.join(name))),
            Entry::File => {}
            Entry::Dir | Entry::Other => return Err(SafeWriteError::NotA(self.join(name), "file")),
        }
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&*self.fd, name, flags, Mode::empty())
            .map_err(|e| self.refusal(name, "file", e))?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::fs::File::from(fd), &mut bytes).map_err(|error| {
            SafeWriteError::Io {
                action: "reading",
                path: self.join(name),
                error,
            }
        })?;
        Ok(Some(bytes))
    }

    /// Writes `bytes` to a new temporary file next to `name` and flushes it to disk; nothing is
    /// visible under `name` until [`Staged::commit`]. Dropped uncommitted, the temporary file is
    /// removed. `name` itself, when it exists, must be a regular file (its permissions carry
    /// over).
    pub fn stage(&self, name: &str, bytes: &[u8]) -> Result<Staged> {
        let existing_mode = match self.entry(name)? {
            Entry::Missing => None,
            Entry::File => rustix::fs::statat(&*self.fd, name, AtFlags::SYMLINK_NOFOLLOW)
                .map(|s| Some(Mode::from_raw_mode(s.st_mode & 0o7777)))
                .map_err(io("inspecting", self.join(name)))?,
            Entry::Symlink => return Err(SafeWriteError::Symlink(self.join(name))),
            Entry::Dir | Entry::Other => return Err(SafeWriteError::NotA(self.join(name), "file")),
        };
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let (temp, fd) = loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let temp = format!(".steward-tmp-{}-{n}", std::process::id());
            let mode = existing_mode.unwrap_or(Mode::from_raw_mode(0o666));
            match rustix::fs::openat(&*self.fd, temp.as_str(), flags, mode) {
                Ok(fd) => break (temp, fd),
                Err(rustix::io::Errno::EXIST) => continue,
                Err(e) => return Err(io("creating a temporary file in", self.path.clone())(e)),
            }
        };
        let staged = Staged {
            dir: self.clone(),
            temp,
            name: name.to_owned(),
            committed: false,
        };
        let mut file = std::fs::File::from(fd);
        let written = file
            .write_all(bytes)
            .and_then(|()| file.sync_all())
            .and_then(|()| match existing_mode {
                // Cut by the umask on creation: the file it replaces keeps its mode whole.
                Some(mode) => rustix::fs::fchmod(&file, mode).map_err(Into::into),
                None => Ok(()),
            });
        written.map_err(|error| SafeWriteError::Io {
            action: "writing",
            path: self.join(name),
            error,
        })?;
        Ok(staged)
    }

    /// Removes the file `name` (a symbolic link by that name is removed itself, never followed).
    pub fn remove(&self, name: &str) -> Result<()> {
        rustix::fs::unlinkat(&*self.fd, name, AtFlags::empty())
            .map_err(io("removing", self.join(name)))
    }

    /// Flushes the directory's entries (renames, removals) to disk.
    pub fn sync(&self) -> Result<()> {
        rustix::fs::fsync(&*self.fd).map_err(io("flushing", self.path.clone()))
    }
}

/// A file written under a temporary name, waiting to replace its target.
#[derive(Debug)]
pub struct Staged {
    dir: SafeDir,
    temp: String,
    name: String,
    committed: bool,
}

impl Staged {
    /// Renames the temporary file over the target (atomically; a symbolic link that appeared
    /// under the target's name is replaced, never followed).
    pub fn commit(mut self) -> Result<()> {
        rustix::fs::renameat(
            &*self.dir.fd,
            self.temp.as_str(),
            &*self.dir.fd,
            self.name.as_str(),
        )
        .map_err(io("renaming into", self.dir.join(&self.name)))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = self.dir.remove(&self.temp);
        }
    }
}

/// Replaces the file at `path` with `bytes` atomically: its directory must exist, and `path` must
/// not be a symbolic link or a directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| SafeWriteError::NotA(path.into(), "file name"))?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = SafeDir::open(parent, false)?.ok_or_else(|| SafeWriteError::Io {
        action: "writing",
        path: path.to_owned(),
        error: std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("the directory {} does not exist", parent.display()),
        ),
    })?;
    dir.stage(name, bytes)?.commit()?;
    dir.sync()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_staged_file_is_invisible_until_committed_and_gone_when_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = SafeDir::open(tmp.path(), false).unwrap().unwrap();
        std::fs::write(tmp.path().join("a.yaml"), "old").unwrap();
        let staged = dir.stage("a.yaml", b"new").unwrap();
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("a.yaml")).unwrap(),
            "old"
        );
        drop(staged);
        let names: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "the temporary file is left: {names:?}");
        dir.stage("a.yaml", b"new").unwrap().commit().unwrap();
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("a.yaml")).unwrap(),
            "new"
        );
    }

    #[test]
    fn symbolic_links_are_refused_never_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("target");
        std::fs::write(&target, "outside").unwrap();
        std::os::unix::fs::symlink(&target, tmp.path().join("file")).unwrap();
        std::os::unix::fs::symlink(outside.path(), tmp.path().join("sub")).unwrap();
        let dir = SafeDir::open(tmp.path(), false).unwrap().unwrap();
        assert!(matches!(
            dir.stage("file", b"x"),
            Err(SafeWriteError::Symlink(_))
        ));
        assert!(matches!(dir.read("file"), Err(SafeWriteError::Symlink(_))));
        assert!(matches!(
            dir.subdir("sub", true),
            Err(SafeWriteError::Symlink(_))
        ));
        assert!(matches!(
            write_atomically(&tmp.path().join("file"), b"x"),
            Err(SafeWriteError::Symlink(_))
        ));
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "outside");
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1);
    }
}
