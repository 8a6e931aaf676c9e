//! The namespace: every inode of the guest's file systems and the
//! operations that change names (create, link, unlink, rename).
//!
//! Owns the inode table and the fixed mount layout built at boot: "/" (the
//! imported host root or an empty one), devtmpfs at /dev with its device
//! nodes, tmpfs at /tmp and /dev/shm, procfs at /proc and sysfs at /sys. The
//! imported root is read lazily (`Dir::lower`): a host directory's entries
//! become inodes when the guest first looks into it, a host file's bytes
//! are read when it is first opened; what the guest changes lives only in
//! memory (the host directory is never written). The engine objects behind
//! regular files are not this module's: operations that may end an inode
//! return its object, and the caller drops the handle (`Kernel::put_inode`).
//!
//! Permission checks are Linux's generic_permission for a process without
//! capabilities (the guest has none), with the sticky-directory rule of
//! may_delete. Operations check everything that can fail before changing
//! anything.

use super::inode::*;
use crate::kernel::creds::Creds;
use guest_mm::{Errno, ObjectId};
use linux_abi::stat::{S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_ISVTX};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Access a permission check asks for (MAY_READ, MAY_WRITE, MAY_EXEC).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Access(pub u32);

impl Access {
    pub const EXEC: Access = Access(1);
    pub const WRITE: Access = Access(2);
    pub const READ: Access = Access(4);
    pub const fn with(self, other: Access) -> Access {
        Access(self.0 | other.0)
    }
}

/// The root directory's inode.
pub const ROOT: Ino = Ino(1);

/// Longest name of one path component (NAME_MAX).
pub const NAME_MAX: usize = 255;

/// The namespace of one VM.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Vfs {
    inodes: BTreeMap<Ino, Inode>,
    next_ino: u64,
    pub root: Ino,
}

impl Default for Vfs {
    fn default() -> Self {
        Vfs::new(0, 0, (0, 0))
    }
}

impl Vfs {
    /// The boot layout, owned by `uid`/`gid` (the guest's user: its root is
    /// its own, as a rootless container's is).
    pub fn new(uid: u32, gid: u32, now: Time) -> Vfs {
        let root = ROOT;
        let mut v = Vfs { inodes: BTreeMap::new(), next_ino: 2, root };
        let dir = |parent: Ino, name: &str| Node::Dir(Dir::new(parent, name, None));
        v.inodes.insert(
            root,
            Inode {
                node: dir(root, "/"),
                mode: S_IFDIR | 0o755,
                uid,
                gid,
                nlink: 2,
                sb: Sb::Root,
                atime: now,
                mtime: now,
                ctime: now,
                refs: 0,
            },
        );
        // The system directories and devices are root's, as on Linux.
        let mk = |v: &mut Vfs, parent: Ino, name: &str, node: Node, perm: u32, sb: Sb| -> Ino {
            let mode = Inode::type_of(&node) | perm;
            v.insert_new(parent, name, node, mode, (0, 0), sb, now)
        };
        let tmp = v.next();
        mk(&mut v, root, "tmp", dir(root, "tmp"), 0o1777, Sb::Tmp);
        debug_assert_eq!(tmp, Ino(2));
        let dev = v.next();
        mk(&mut v, root, "dev", dir(root, "dev"), 0o755, Sb::Dev);
        mk(&mut v, root, "proc", Node::ProcRoot, 0o555, Sb::Proc);
        let sys = v.next();
        mk(&mut v, root, "sys", dir(root, "sys"), 0o555, Sb::Sys);
        // sysfs's directories (`sysfs`: their attributes are opened by path).
        let mut made = vec![("/sys".to_string(), sys)];
        for d in super::sysfs::DIRS {
            let (parent, name) = d.rsplit_once('/').expect("absolute");
            let Some(&(_, p)) = made.iter().find(|(m, _)| m == parent) else { continue };
            let ino = v.next();
            mk(&mut v, p, name, Node::Dir(Dir::new(p, name, None)), 0o755, Sb::Sys);
            made.push((d.to_string(), ino));
        }
        for (name, d) in [
            ("null", Device::Null),
            ("zero", Device::Zero),
            ("full", Device::Full),
            ("random", Device::Random),
            ("urandom", Device::Urandom),
        ] {
            mk(&mut v, dev, name, Node::Char(d), 0o666, Sb::Dev);
        }
        mk(&mut v, dev, "tty", Node::Char(Device::Tty), 0o666, Sb::Dev);
        mk(&mut v, dev, "shm", dir(dev, "shm"), 0o1777, Sb::Shm);
        for (name, target) in
            [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")]
        {
            mk(&mut v, dev, name, Node::Symlink(target.into()), 0o777, Sb::Dev);
        }
        v
    }

    fn next(&self) -> Ino {
        Ino(self.next_ino)
    }

    /// Puts a new inode under `parent` (which must be a directory without
    /// that name).
    #[allow(clippy::too_many_arguments)]
    fn insert_new(&mut self, parent: Ino, name: &str, node: Node, mode: u32, owner: (u32, u32), sb: Sb, now: Time) -> Ino {
        let ino = Ino(self.next_ino);
        self.next_ino += 1;
        let is_dir = Inode::type_of(&node) == S_IFDIR;
        let nlink = if is_dir { 2 } else { 1 };
        self.inodes.insert(ino, Inode { node, mode, uid: owner.0, gid: owner.1, nlink, sb, atime: now, mtime: now, ctime: now, refs: 0 });
        if let Some(p) = self.inodes.get_mut(&parent) {
            if let Some(d) = p.dir_mut() {
                d.add(name, ino);
            }
            if is_dir {
                p.nlink += 1;
            }
            p.mtime = now;
            p.ctime = now;
        }
        ino
    }

    /// Makes "/" the host directory `host`, read-only underneath.
    pub fn import_root(&mut self, host: PathBuf) {
        let root = self.root;
        if let Some(Node::Dir(d)) = self.inodes.get_mut(&root).map(|i| &mut i.node) {
            d.lower = Some(host);
        }
    }

    pub fn get(&self, ino: Ino) -> Option<&Inode> {
        self.inodes.get(&ino)
    }

    pub fn get_mut(&mut self, ino: Ino) -> Option<&mut Inode> {
        self.inodes.get_mut(&ino)
    }

    pub fn len(&self) -> usize {
        self.inodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inodes.is_empty()
    }

    /// Reads a lower (host) directory's entries into inodes, once. Names
    /// the upper layer already has (the mounts in "/") hide the host's.
    fn load_lower(&mut self, dir: Ino) {
        let Some(Inode { node: Node::Dir(d), sb, .. }) = self.inodes.get_mut(&dir) else { return };
        let Some(host) = d.lower.take() else { return };
        let sb = *sb;
        let Ok(rd) = std::fs::read_dir(&host) else { return };
        let mut names: Vec<_> = rd.filter_map(|e| e.ok()).collect();
        names.sort_by_key(|e| e.file_name());
        for e in names {
            let Some(name) = e.file_name().to_str().map(str::to_string) else { continue };
            if self.inodes[&dir].dir().is_some_and(|d| d.entries.contains_key(&name)) {
                continue;
            }
            let path = e.path();
            let Ok(md) = std::fs::symlink_metadata(&path) else { continue };
            let _imported = self.import(dir, &name, &path, &md, sb);
        }
    }

    /// One host entry as an inode of the upper layer's view.
    fn import(&mut self, dir: Ino, name: &str, path: &Path, md: &std::fs::Metadata, sb: Sb) -> Option<Ino> {
        use std::os::unix::fs::MetadataExt;
        let ft = md.file_type();
        let node = if ft.is_dir() {
            Node::Dir(Dir::new(dir, name, Some(path.to_path_buf())))
        } else if ft.is_file() {
            Node::File(Data::Host { path: path.to_path_buf(), size: md.len() })
        } else if ft.is_symlink() {
            Node::Symlink(std::fs::read_link(path).ok()?.to_string_lossy().into_owned())
        } else {
            // Sockets, fifos and device nodes of the host are not imported.
            return None;
        };
        let t = |s: i64, ns: i64| (s, ns);
        let mode = Inode::type_of(&node) | (md.mode() & 0o7777);
        let ino = self.insert_new(dir, name, node, mode, (md.uid(), md.gid()), sb, t(md.mtime(), md.mtime_nsec()));
        let i = self.inodes.get_mut(&ino)?;
        i.atime = t(md.atime(), md.atime_nsec());
        i.ctime = t(md.ctime(), md.ctime_nsec());
        Some(ino)
    }

    /// The entry `name` of directory `dir` (the host's, for the imported root).
    pub fn child(&mut self, dir: Ino, name: &str) -> Option<Ino> {
        self.load_lower(dir);
        self.inodes.get(&dir)?.dir()?.entries.get(name).map(|e| e.ino)
    }

    /// A directory's entries from readdir position `pos` (host entries read first).
    pub fn entries_from(&mut self, dir: Ino, pos: u64) -> Vec<(String, Entry)> {
        self.load_lower(dir);
        self.inodes.get(&dir).and_then(Inode::dir).map(|d| d.from_cookie(pos)).unwrap_or_default()
    }

    /// generic_permission without capabilities: the owner's bits for the
    /// owner, the group's for a member, the others' otherwise.
    pub fn permission(&self, ino: Ino, c: &Creds, want: Access) -> Result<(), Errno> {
        let i = self.inodes.get(&ino).ok_or(Errno::ENOENT)?;
        let m = i.mode;
        let bits = if c.fsuid == i.uid {
            m >> 6
        } else if c.fsgid == i.gid || c.groups.contains(&i.gid) {
            m >> 3
        } else {
            m
        } & 7;
        if bits & want.0 == want.0 {
            Ok(())
        } else {
            Err(Errno::EACCES)
        }
    }

    /// may_create: a directory that still exists, with write and search permission.
    pub fn may_create(&self, dir: Ino, c: &Creds) -> Result<(), Errno> {
        let d = self.inodes.get(&dir).ok_or(Errno::ENOENT)?;
        if d.nlink == 0 {
            return Err(Errno::ENOENT);
        }
        // procfs's lookup of a new name fails before any create (ENOENT).
        if matches!(d.node, Node::ProcRoot) {
            return Err(Errno::ENOENT);
        }
        if !d.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        self.permission(dir, c, Access::WRITE.with(Access::EXEC))
    }

    /// may_delete: write and search on the directory, and in a sticky
    /// directory only the file's or the directory's owner.
    pub fn may_delete(&self, dir: Ino, victim: Ino, c: &Creds) -> Result<(), Errno> {
        self.permission(dir, c, Access::WRITE.with(Access::EXEC))?;
        let d = &self.inodes[&dir];
        let v = self.inodes.get(&victim).ok_or(Errno::ENOENT)?;
        if d.mode & S_ISVTX != 0 && c.fsuid != v.uid && c.fsuid != d.uid {
            return Err(Errno::EPERM);
        }
        Ok(())
    }

    /// Creates `name` in `dir` (which `may_create` allowed and which has no
    /// such entry). The new inode is owned by the fs ids; a directory in a
    /// set-gid directory takes its group (inode_init_owner).
    pub fn create(&mut self, dir: Ino, name: &str, node: Node, perm: u32, c: &Creds, now: Time) -> Result<Ino, Errno> {
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let d = self.inodes.get(&dir).ok_or(Errno::ENOENT)?;
        let sb = d.sb;
        let gid = if d.mode & linux_abi::stat::S_ISGID != 0 { d.gid } else { c.fsgid };
        let mut mode = Inode::type_of(&node) | (perm & 0o7777);
        if matches!(node, Node::Dir(_)) && d.mode & linux_abi::stat::S_ISGID != 0 {
            mode |= linux_abi::stat::S_ISGID;
        }
        Ok(self.insert_new(dir, name, node, mode, (c.fsuid, gid), sb, now))
    }

    /// An inode with no name (O_TMPFILE): nlink 0, alive while held.
    pub fn create_unnamed(&mut self, dir: Ino, data: Data, perm: u32, c: &Creds, now: Time) -> Result<Ino, Errno> {
        let sb = self.inodes.get(&dir).ok_or(Errno::ENOENT)?.sb;
        let ino = Ino(self.next_ino);
        self.next_ino += 1;
        let node = Node::File(data);
        let mode = Inode::type_of(&node) | (perm & 0o7777);
        self.inodes
            .insert(ino, Inode { node, mode, uid: c.fsuid, gid: c.fsgid, nlink: 0, sb, atime: now, mtime: now, ctime: now, refs: 0 });
        Ok(ino)
    }

    /// Another name for a non-directory (link(2)); checks done by the caller.
    pub fn add_link(&mut self, dir: Ino, name: &str, ino: Ino, now: Time) -> Result<(), Errno> {
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let i = self.inodes.get_mut(&ino).ok_or(Errno::ENOENT)?;
        i.nlink += 1;
        i.ctime = now;
        let p = self.inodes.get_mut(&dir).ok_or(Errno::ENOENT)?;
        p.dir_mut().ok_or(Errno::ENOTDIR)?.add(name, ino);
        p.mtime = now;
        p.ctime = now;
        Ok(())
    }

    /// Removes the entry `name` of `dir`; returns the inode's object when
    /// the inode died with it (no name and no holder left).
    pub fn remove_entry(&mut self, dir: Ino, name: &str, now: Time) -> Option<ObjectId> {
        let p = self.inodes.get_mut(&dir)?;
        let e = p.dir_mut()?.entries.remove(name)?;
        p.mtime = now;
        p.ctime = now;
        let child_is_dir = self.inodes.get(&e.ino).is_some_and(Inode::is_dir);
        if child_is_dir {
            if let Some(p) = self.inodes.get_mut(&dir) {
                p.nlink -= 1;
            }
        }
        let c = self.inodes.get_mut(&e.ino)?;
        c.ctime = now;
        c.nlink = if child_is_dir { 0 } else { c.nlink.saturating_sub(1) };
        self.reap(e.ino)
    }

    /// Moves `old_dir/old` to `new_dir/new` (which the caller checked and
    /// emptied of anything the rename replaces).
    pub fn move_entry(&mut self, old_dir: Ino, old: &str, new_dir: Ino, new: &str, now: Time) -> Result<(), Errno> {
        let e = self.inodes.get_mut(&old_dir).and_then(Inode::dir_mut).and_then(|d| d.entries.remove(old)).ok_or(Errno::ENOENT)?;
        let is_dir = self.inodes.get(&e.ino).is_some_and(Inode::is_dir);
        for (d, delta) in [(old_dir, -1i64), (new_dir, 1)] {
            if let Some(p) = self.inodes.get_mut(&d) {
                p.mtime = now;
                p.ctime = now;
                if is_dir {
                    p.nlink = (p.nlink as i64 + delta) as u32;
                }
            }
        }
        self.inodes.get_mut(&new_dir).and_then(Inode::dir_mut).ok_or(Errno::ENOTDIR)?.add(new, e.ino);
        if let Some(c) = self.inodes.get_mut(&e.ino) {
            c.ctime = now;
            if let Node::Dir(d) = &mut c.node {
                d.parent = new_dir;
                d.name = new.to_string();
            }
        }
        Ok(())
    }

    /// RENAME_EXCHANGE: `a_dir/a` and `b_dir/b` swap the inodes they name.
    pub fn exchange(&mut self, a_dir: Ino, a: &str, b_dir: Ino, b: &str, now: Time) -> Result<(), Errno> {
        let get = |v: &Vfs, d: Ino, n: &str| v.inodes.get(&d).and_then(Inode::dir).and_then(|d| d.entries.get(n)).map(|e| e.ino);
        let ia = get(self, a_dir, a).ok_or(Errno::ENOENT)?;
        let ib = get(self, b_dir, b).ok_or(Errno::ENOENT)?;
        let set = |v: &mut Vfs, d: Ino, n: &str, ino: Ino| {
            if let Some(e) = v.inodes.get_mut(&d).and_then(Inode::dir_mut).and_then(|d| d.entries.get_mut(n)) {
                e.ino = ino;
            }
        };
        set(self, a_dir, a, ib);
        set(self, b_dir, b, ia);
        for (ino, dir, name) in [(ia, b_dir, b), (ib, a_dir, a)] {
            if let Some(i) = self.inodes.get_mut(&ino) {
                i.ctime = now;
                if let Node::Dir(d) = &mut i.node {
                    d.parent = dir;
                    d.name = name.to_string();
                }
            }
        }
        // A directory that changed parents moves one link count with it.
        let da = self.inodes.get(&ia).is_some_and(Inode::is_dir) as i64;
        let db = self.inodes.get(&ib).is_some_and(Inode::is_dir) as i64;
        for (d, delta) in [(a_dir, db - da), (b_dir, da - db)] {
            if let Some(p) = self.inodes.get_mut(&d) {
                p.nlink = (p.nlink as i64 + delta) as u32;
                p.mtime = now;
                p.ctime = now;
            }
        }
        Ok(())
    }

    /// Whether `ino` is `dir` or lies below it (rename into its own subtree).
    pub fn is_within(&self, ino: Ino, dir: Ino) -> bool {
        let mut cur = ino;
        loop {
            if cur == dir {
                return true;
            }
            match self.inodes.get(&cur).and_then(Inode::dir) {
                Some(d) if d.parent != cur => cur = d.parent,
                _ => return false,
            }
        }
    }

    /// Another holder (an open description, a working directory).
    pub fn hold(&mut self, ino: Ino) {
        if let Some(i) = self.inodes.get_mut(&ino) {
            i.refs += 1;
        }
    }

    /// Drops a holder; returns the object of an inode that died.
    #[must_use = "a dead inode's object handle must be put"]
    pub fn put(&mut self, ino: Ino) -> Option<ObjectId> {
        let i = self.inodes.get_mut(&ino)?;
        i.refs = i.refs.saturating_sub(1);
        self.reap(ino)
    }

    fn reap(&mut self, ino: Ino) -> Option<ObjectId> {
        let i = self.inodes.get(&ino)?;
        if i.nlink > 0 || i.refs > 0 {
            return None;
        }
        match self.inodes.remove(&ino)?.node {
            Node::File(Data::Object(o)) | Node::Char(Device::Window(o)) => Some(o),
            _ => None,
        }
    }

    /// The absolute path of a directory (getcwd), or None when it was removed.
    pub fn dir_path(&self, ino: Ino) -> Option<String> {
        let mut parts = Vec::new();
        let mut cur = ino;
        loop {
            let i = self.inodes.get(&cur)?;
            if i.nlink == 0 {
                return None;
            }
            let d = i.dir()?;
            if d.parent == cur {
                break;
            }
            parts.push(d.name.clone());
            cur = d.parent;
        }
        parts.reverse();
        Some(format!("/{}", parts.join("/")))
    }

    /// The name of `ino` inside `dir`, if it has one there.
    pub fn name_in(&self, dir: Ino, ino: Ino) -> Option<&str> {
        self.inodes.get(&dir)?.dir()?.entries.iter().find(|(_, e)| e.ino == ino).map(|(n, _)| n.as_str())
    }

    /// Every inode naming an engine object (for checkpoint checks and tests).
    pub fn objects(&self) -> impl Iterator<Item = ObjectId> + '_ {
        self.inodes.values().filter_map(|i| match i.node {
            Node::File(Data::Object(o)) | Node::Char(Device::Window(o)) => Some(o),
            _ => None,
        })
    }

    /// Checks the module's invariants (tests).
    pub fn check_invariants(&self) -> Result<(), String> {
        for (ino, i) in &self.inodes {
            if Inode::type_of(&i.node) != i.mode & S_IFMT && !matches!(i.node, Node::Char(_)) {
                return Err(format!("{ino:?}: mode {:o} does not match its node", i.mode));
            }
            if let Node::Char(_) = i.node {
                if i.mode & S_IFMT != S_IFCHR {
                    return Err(format!("{ino:?}: device without S_IFCHR"));
                }
            }
            if let Some(d) = i.dir() {
                if d.lower.is_none() && i.nlink > 0 {
                    let subdirs = d.entries.values().filter(|e| self.inodes.get(&e.ino).is_some_and(Inode::is_dir)).count() as u32;
                    if i.nlink != 2 + subdirs {
                        return Err(format!("{ino:?}: nlink {} but {subdirs} subdirectories", i.nlink));
                    }
                }
                let mut cookies: Vec<_> = d.entries.values().map(|e| e.cookie).collect();
                cookies.sort();
                cookies.dedup();
                if cookies.len() != d.entries.len() || cookies.iter().any(|c| *c >= d.next_cookie) {
                    return Err(format!("{ino:?}: readdir cookies not unique"));
                }
                for e in d.entries.values() {
                    if !self.inodes.contains_key(&e.ino) {
                        return Err(format!("{ino:?}: entry names a dead inode {:?}", e.ino));
                    }
                }
            }
            if i.nlink == 0 && i.refs == 0 {
                return Err(format!("{ino:?}: dead inode kept"));
            }
            if i.mode & S_IFMT == S_IFLNK && !matches!(i.node, Node::Symlink(_)) {
                return Err(format!("{ino:?}: symlink mode without a target"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(uid: u32) -> Creds {
        Creds { uid, euid: uid, suid: uid, fsuid: uid, gid: uid, egid: uid, sgid: uid, fsgid: uid, groups: vec![] }
    }

    #[test]
    fn boot_layout_has_the_mounts_and_device_nodes() {
        let mut v = Vfs::new(1000, 1000, (0, 0));
        let dev = v.child(v.root, "dev").unwrap();
        assert!(v.child(dev, "null").is_some() && v.child(dev, "shm").is_some());
        let tmp = v.child(v.root, "tmp").unwrap();
        assert_eq!(v.get(tmp).unwrap().sb, Sb::Tmp);
        v.check_invariants().unwrap();
    }

    #[test]
    fn readdir_positions_survive_removal_and_follow_creation_order() {
        let c = creds(1000);
        let mut v = Vfs::new(1000, 1000, (0, 0));
        let tmp = v.child(v.root, "tmp").unwrap();
        for n in ["c", "a", "b"] {
            v.create(tmp, n, Node::File(Data::Host { path: "/x".into(), size: 0 }), 0o644, &c, (0, 0)).unwrap();
        }
        let all = v.entries_from(tmp, 2);
        assert_eq!(all.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["c", "a", "b"]);
        let after_c = all[0].1.cookie + 1;
        let _ = v.remove_entry(tmp, "c", (0, 0));
        let rest = v.entries_from(tmp, after_c);
        assert_eq!(rest.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        v.check_invariants().unwrap();
    }

    #[test]
    fn an_unlinked_inode_lives_until_its_last_holder() {
        let c = creds(1000);
        let mut v = Vfs::new(1000, 1000, (0, 0));
        let tmp = v.child(v.root, "tmp").unwrap();
        let f = v.create(tmp, "f", Node::File(Data::Object(ObjectId(7))), 0o644, &c, (0, 0)).unwrap();
        v.hold(f);
        assert_eq!(v.remove_entry(tmp, "f", (0, 0)), None);
        assert!(v.get(f).is_some());
        assert_eq!(v.put(f), Some(ObjectId(7)));
        assert!(v.get(f).is_none());
        v.check_invariants().unwrap();
    }

    #[test]
    fn sticky_directories_protect_other_users_files() {
        let mut v = Vfs::new(0, 0, (0, 0));
        let tmp = v.child(v.root, "tmp").unwrap();
        let f = v.create(tmp, "f", Node::Symlink("x".into()), 0o777, &creds(1000), (0, 0)).unwrap();
        assert_eq!(v.may_delete(tmp, f, &creds(1001)), Err(Errno::EPERM));
        assert_eq!(v.may_delete(tmp, f, &creds(1000)), Ok(()));
    }

    #[test]
    fn directories_know_their_path_until_removed() {
        let c = creds(0);
        let mut v = Vfs::new(0, 0, (0, 0));
        let root = v.root;
        let a = v.create(root, "a", Node::Dir(Dir::new(root, "a", None)), 0o755, &c, (0, 0)).unwrap();
        let b = v.create(a, "b", Node::Dir(Dir::new(a, "b", None)), 0o755, &c, (0, 0)).unwrap();
        assert_eq!(v.dir_path(b).as_deref(), Some("/a/b"));
        assert!(v.is_within(b, a) && !v.is_within(a, b));
        v.hold(b);
        let _ = v.remove_entry(a, "b", (0, 0));
        assert_eq!(v.dir_path(b), None);
        v.check_invariants().unwrap();
    }
}
