//! Path walking: from a name a process gives to what it names, as Linux's
//! fs/namei.c link_path_walk, walk_component and the *_lookupat functions do.
//!
//! Owns the walk rules: an absolute path starts at the root, a relative one
//! at the working directory or a directory descriptor; every directory on
//! the way needs search permission (EACCES) and must be one (ENOTDIR); "."
//! stays, ".." goes up and stops at the root; a component longer than
//! NAME_MAX is ENAMETOOLONG; symbolic links are followed in the middle of a
//! path always and at its end when asked (or when a slash follows), at most
//! 40 in one walk (ELOOP); a trailing slash requires a directory. procfs
//! names are resolved by `procfs` as the walk reaches them, and its magic
//! links (fd/N, cwd, exe, root) jump to what they refer to rather than to
//! their text, as nd_jump_link does.

use super::file::FileId;
use super::inode::{Ino, Node};
use super::procfs::{ProcNode, Shape};
use super::vfs::{Access, NAME_MAX};
use crate::kernel::Kernel;
use guest_mm::Errno;
use std::collections::VecDeque;

/// What a walk found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    Ino(Ino),
    Proc(ProcNode),
    /// The open description a /proc/PID/fd/N link refers to.
    File(FileId),
}

/// Whether the last component's symbolic link is followed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Follow {
    Yes,
    No,
}

/// The last component of a path whose parent a walk found (for calls that
/// create or remove names: Linux's LAST_NORM, LAST_DOT, LAST_DOTDOT, LAST_ROOT).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Last {
    Name(String),
    Dot,
    DotDot,
    Root,
}

/// A walk that stops before the last component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parent {
    pub dir: Found,
    pub last: Last,
    /// The path ended with a slash ("dir/").
    pub trailing_slash: bool,
}

/// Most symbolic links one walk follows (MAXSYMLINKS).
pub const MAX_SYMLINKS: u32 = 40;

fn components(path: &str) -> VecDeque<String> {
    path.split('/').filter(|c| !c.is_empty()).map(str::to_string).collect()
}

impl Kernel {
    /// Where a walk of `path` starts: the root for an absolute path, else `start`.
    fn walk_start(&self, path: &str, start: &Found) -> Found {
        if path.starts_with('/') {
            Found::Ino(self.vfs.root)
        } else {
            start.clone()
        }
    }

    /// Whether a found node is a directory, and search permission on it.
    fn enter(&mut self, at: &Found) -> Result<(), Errno> {
        match at {
            Found::Ino(ino) => {
                let i = self.vfs.get(*ino).ok_or(Errno::ENOENT)?;
                if !i.is_dir() {
                    return Err(Errno::ENOTDIR);
                }
                let c = self.procs.get(&self.current).map(|p| p.creds.clone()).ok_or(Errno::ESRCH)?;
                self.vfs.permission(*ino, &c, Access::EXEC)
            }
            Found::Proc(n) if n.shape() == Shape::Dir => Ok(()),
            Found::Proc(_) => Err(Errno::ENOTDIR),
            Found::File(id) => match self.files.get(*id).and_then(|f| f.inode) {
                Some(ino) => self.enter(&Found::Ino(ino)),
                None => Err(Errno::ENOTDIR),
            },
        }
    }

    fn parent_of(&self, at: &Found) -> Found {
        match at {
            Found::Ino(ino) => {
                let parent = self.vfs.get(*ino).and_then(|i| i.dir()).map_or(*ino, |d| d.parent);
                Found::Ino(parent)
            }
            Found::Proc(n) => match n.parent() {
                Some(p) => Found::Proc(p),
                // /proc/.. is the directory /proc is mounted on.
                None => Found::Ino(self.vfs.root),
            },
            Found::File(id) => {
                self.files.get(*id).and_then(|f| f.inode).map_or(Found::Ino(self.vfs.root), |i| self.parent_of(&Found::Ino(i)))
            }
        }
    }

    /// One step: the entry `name` of directory `at`.
    fn step(&mut self, at: &Found, name: &str) -> Result<Found, Errno> {
        match at {
            Found::Ino(ino) => {
                if let Some(Node::ProcRoot) = self.vfs.get(*ino).map(|i| &i.node) {
                    return ProcNode::Root.lookup(self, name).map(Found::Proc);
                }
                self.vfs.child(*ino, name).map(Found::Ino).ok_or(Errno::ENOENT)
            }
            Found::Proc(n) => n.lookup(self, name).map(Found::Proc),
            Found::File(id) => match self.files.get(*id).and_then(|f| f.inode) {
                Some(ino) => self.step(&Found::Ino(ino), name),
                None => Err(Errno::ENOTDIR),
            },
        }
    }

    /// A procfs node as a walk lands on it: /proc's own directory is the
    /// inode mounted there.
    fn normalise_found(&self, f: Found) -> Found {
        match f {
            Found::Proc(ProcNode::Root) => Found::Ino(self.vfs_proc_root()),
            other => other,
        }
    }

    fn vfs_proc_root(&self) -> Ino {
        let root = self.vfs.root;
        self.vfs.get(root).and_then(|i| i.dir()).and_then(|d| d.entries.get("proc")).map_or(root, |e| e.ino)
    }

    /// What a symbolic link at `f` leads to: its text (walked on from the
    /// directory holding it), or a jump (a magic link). None: not a link.
    fn link_of(&mut self, f: &Found) -> Result<Option<LinkTo>, Errno> {
        Ok(match f {
            Found::Ino(ino) => match self.vfs.get(*ino).map(|i| &i.node) {
                Some(Node::Symlink(t)) => Some(LinkTo::Text(t.clone())),
                _ => None,
            },
            Found::Proc(n) => match n {
                ProcNode::SelfLink | ProcNode::ThreadSelf | ProcNode::MountsLink => n.link_text(self).map(LinkTo::Text),
                ProcNode::Cwd(p) => Some(LinkTo::Jump(Found::Ino(self.procs.get(p).ok_or(Errno::ENOENT)?.cwd))),
                ProcNode::RootLink(_) => Some(LinkTo::Jump(Found::Ino(self.vfs.root))),
                ProcNode::Exe(p) => Some(LinkTo::Text(self.procs.get(p).ok_or(Errno::ENOENT)?.exe.clone())),
                ProcNode::Fd(p, n) => {
                    let e = self.procs.get(p).ok_or(Errno::ENOENT)?.fds.get(*n as u32).map_err(|_| Errno::ENOENT)?;
                    Some(LinkTo::Jump(match self.files.get(e.file).and_then(|f| f.inode) {
                        Some(ino) if self.vfs.get(ino).is_some_and(|i| i.is_dir()) => Found::Ino(ino),
                        _ => Found::File(e.file),
                    }))
                }
                _ => None,
            },
            Found::File(_) => None,
        })
    }

    /// Walks `path` from `start` (the working directory or a directory
    /// descriptor's); `follow` says whether a final symbolic link is followed.
    pub(crate) fn walk(&mut self, start: &Found, path: &str, follow: Follow) -> Result<Found, Errno> {
        let mut links = 0;
        let trailing = path.ends_with('/');
        let mut at = self.walk_start(path, start);
        let mut todo = components(path);
        while let Some(name) = todo.pop_front() {
            if name.len() > NAME_MAX {
                return Err(Errno::ENAMETOOLONG);
            }
            self.enter(&at)?;
            if name == "." {
                continue;
            }
            if name == ".." {
                at = self.parent_of(&at);
                continue;
            }
            let next = self.step(&at, &name)?;
            let last = todo.is_empty();
            if !last || follow == Follow::Yes || trailing {
                if let Some(to) = self.link_of(&next)? {
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(Errno::ELOOP);
                    }
                    match to {
                        LinkTo::Text(t) => {
                            if t.starts_with('/') {
                                at = Found::Ino(self.vfs.root);
                            }
                            let mut more = components(&t);
                            more.append(&mut todo);
                            todo = more;
                        }
                        LinkTo::Jump(f) => at = f,
                    }
                    continue;
                }
            }
            at = next;
        }
        let at = self.normalise_found(at);
        if trailing {
            self.require_dir(&at)?;
        }
        Ok(at)
    }

    fn require_dir(&self, at: &Found) -> Result<(), Errno> {
        let dir = match at {
            Found::Ino(i) => self.vfs.get(*i).is_some_and(|i| i.is_dir()),
            Found::Proc(n) => n.shape() == Shape::Dir,
            Found::File(id) => self.files.get(*id).and_then(|f| f.inode).and_then(|i| self.vfs.get(i)).is_some_and(|i| i.is_dir()),
        };
        if dir {
            Ok(())
        } else {
            Err(Errno::ENOTDIR)
        }
    }

    /// Walks to the directory holding `path`'s last component (for calls
    /// that create, remove or rename names).
    pub(crate) fn walk_parent(&mut self, start: &Found, path: &str) -> Result<Parent, Errno> {
        let trailing_slash = path.ends_with('/');
        let mut comps = components(path);
        let last = match comps.pop_back() {
            None => {
                return Ok(Parent {
                    dir: Found::Ino(self.vfs.root),
                    last: if path.starts_with('/') { Last::Root } else { Last::Dot },
                    trailing_slash,
                })
            }
            Some(l) if l == "." => Last::Dot,
            Some(l) if l == ".." => Last::DotDot,
            Some(l) => {
                if l.len() > NAME_MAX {
                    return Err(Errno::ENAMETOOLONG);
                }
                Last::Name(l)
            }
        };
        let prefix: String = if path.starts_with('/') { "/".into() } else { String::new() };
        let dir_path = prefix + &comps.into_iter().collect::<Vec<_>>().join("/");
        let dir = if dir_path.is_empty() { self.normalise_found(start.clone()) } else { self.walk(start, &dir_path, Follow::Yes)? };
        self.enter(&dir)?;
        Ok(Parent { dir, last, trailing_slash })
    }
}

/// Where a symbolic link leads.
enum LinkTo {
    Text(String),
    Jump(Found),
}
