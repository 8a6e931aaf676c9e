//! execve(2) and execveat(2) (fs/exec.c do_execveat_common, alloc_bprm,
//! count, copy_strings, bprm_execve, exec_binprm; fs/binfmt_script.c;
//! fs/binfmt_elf.c load_elf_binary up to begin_new_exec).
//!
//! Owns everything an exec checks before the point of no return, in
//! Linux's order: the name (getname: EFAULT, ENAMETOOLONG, ENOENT when empty
//! without AT_EMPTY_PATH), the file (`open_exec`, the one place that turns a
//! path into a file: EINVAL for unknown flags, EBADF, ENOENT, ENOTDIR,
//! ELOOP for AT_SYMLINK_NOFOLLOW on /proc/self/exe, EACCES for what is not
//! an executable regular file), argv and envp counted (EFAULT, E2BIG past
//! MAX_ARG_STRINGS) and copied from the last string down (EFAULT, E2BIG for
//! a string of MAX_ARG_STRLEN or more and past bprm_stack_limits), an
//! empty argv given "" as argv[0] (Linux 5.18), then the format: `#!`
//! scripts (`exec::script`; argv becomes `[interp, arg?, script, argv[1..]]`,
//! the interpreter opened like the program, ENOENT when the script was
//! named by a close-on-exec descriptor, ELOOP beyond 5 levels) or a static
//! ELF (ENOENT for one that needs an interpreter: the guest has none;
//! ENOEXEC for anything else). Guest memory is untrusted throughout: the
//! pointer arrays are read in chunks, strings with a length bound, and what
//! the VMM holds is bounded by the stack limit.
//!
//! Then the point of no return: the new image is built whole in a fresh
//! address space; a failure there (an rlimit too small for the program's
//! own segments) kills the process with SIGSEGV as Linux's force_fatal_sig
//! does; otherwise `begin_new_exec` (exec::new_exec) replaces the old image
//! and the call "returns" 0 into the new program.
//!
//! ETXTBSY: a file open for writing is not run, and (in `open`) a running
//! program is not opened for writing, as deny_write_access has it; memfd
//! descriptors are not writers (alloc_file_pseudo takes no write access).

use super::open::{path_in, start_at};
use super::stat::stat_file;
use super::{fd, ok, Args, Ctx, SysResult};
use crate::elf::{Elf, ElfError};
use crate::kernel::exec::new_exec::NewImage;
use crate::kernel::exec::script::{self, BINPRM_BUF_SIZE, MAX_NESTING};
use crate::kernel::exec::stack::{strings_limit, MAX_ARG_STRINGS, MAX_ARG_STRLEN};
use crate::kernel::exec::{self as loader, Program, Stack};
use crate::kernel::fs::inode::{Ino, Node};
use crate::kernel::fs::procfs::Shape;
use crate::kernel::fs::{Access, FileKind, Follow, Found, Last, PATH_MAX};
use crate::kernel::process::comm_of;
use guest_mm::{Errno, ObjectId, PAGE_SIZE};
use linux_abi::fcntl::{AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW};
use linux_abi::resource::RLIMIT_STACK;
use linux_abi::stat::{S_IFMT, S_IFREG};

/// A file exec may run, as `open_exec` found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ExecFile {
    /// Its engine object (the page cache the program is mapped from).
    pub obj: ObjectId,
    /// What /proc/self/exe will read (d_path).
    pub path: String,
    /// Its own name (the dentry's): comm after an exec of a descriptor.
    pub name: String,
}

/// The most of a file exec reads to find its headers: the ELF and program
/// headers of any real program are far inside it; a file whose headers lie
/// beyond is not run (ENOEXEC) rather than copied whole.
const MAX_HEAD: u64 = 16 << 20;

/// do_open_execat: the one function that turns exec's (dirfd, path,
/// flags) into a file. The caller let an empty `path` through only with
/// AT_EMPTY_PATH. The walk is the VFS's (symbolic links followed unless
/// AT_SYMLINK_NOFOLLOW: ELOOP at a link); /proc/self/exe is the running
/// program's file itself (mm->exe_file, a magic link) and /proc/self/fd/N
/// and /dev/fd/N a descriptor's file. may_open's MAY_EXEC: a regular file
/// the caller may execute (EACCES for directories, devices, procfs files
/// and files without the execute bit); ETXTBSY while the file is open for
/// writing (deny_write_access; memfds, whose descriptors Linux does not
/// count as writers, excepted).
pub(crate) fn open_exec(cx: &mut Ctx<'_>, dirfd: i32, path: &str, at_flags: u64) -> Result<ExecFile, Errno> {
    if at_flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let nofollow = at_flags & AT_SYMLINK_NOFOLLOW != 0;
    if path == "/proc/self/exe" || path == "/proc/thread-self/exe" {
        if nofollow {
            return Err(Errno::ELOOP);
        }
        let p = cx.proc();
        let obj = p.exe_obj.ok_or(Errno::ENOENT)?;
        let exe = p.exe.clone();
        return Ok(ExecFile { obj, name: base_name(&exe), path: exe });
    }
    let found = if path.is_empty() {
        if dirfd as i64 == AT_FDCWD {
            Found::Ino(cx.proc().cwd)
        } else {
            let (id, f) = fd::file(cx, dirfd as u32)?;
            f.inode.map_or(Found::File(id), Found::Ino)
        }
    } else {
        let start = start_at(cx, dirfd, path)?;
        let follow = if nofollow { Follow::No } else { Follow::Yes };
        cx.k.walk(&start, path, follow)?
    };
    // A descriptor's file: an inode when it has one.
    let found = match found {
        Found::File(id) => match cx.k.files.get(id) {
            Some(f) if f.inode.is_some() => Found::Ino(f.inode.expect("checked")),
            Some(_) => Found::File(id),
            None => return Err(Errno::EBADF),
        },
        f => f,
    };
    match found {
        Found::Ino(ino) => {
            let i = cx.k.vfs.get(ino).ok_or(Errno::ENOENT)?;
            match &i.node {
                Node::Symlink(_) => return Err(Errno::ELOOP),
                Node::File(_) => {}
                _ => return Err(Errno::EACCES),
            }
            if i.mode & S_IFMT != S_IFREG || i.mode & 0o111 == 0 {
                return Err(Errno::EACCES);
            }
            let c = cx.proc().creds.clone();
            cx.k.vfs.permission(ino, &c, Access::EXEC)?;
            let canonical = canonical_path(cx, dirfd, path, ino);
            let obj = cx.k.file_object(ino, &canonical)?;
            if cx.k.files.iter().any(|(_, f)| f.inode == Some(ino) && f.writable()) {
                return Err(Errno::ETXTBSY);
            }
            let path = cx.k.engine.object(obj).map(|o| o.name.clone()).unwrap_or(canonical);
            Ok(ExecFile { obj, name: base_name(&path), path })
        }
        Found::File(id) => {
            let st = stat_file(cx, id)?;
            if st.mode & S_IFMT != S_IFREG || st.mode & 0o100 == 0 {
                return Err(Errno::EACCES);
            }
            let Some(FileKind::Object(obj)) = cx.k.files.get(id).map(|f| f.kind.clone()) else { return Err(Errno::EACCES) };
            let path = cx.k.engine.object(obj).map(|o| o.name.clone()).unwrap_or_default();
            Ok(ExecFile { obj, name: base_name(&path), path })
        }
        // A procfs link not followed (AT_SYMLINK_NOFOLLOW at /dev/fd/N).
        Found::Proc(n) if n.shape() == Shape::Link => Err(Errno::ELOOP),
        // procfs: directories and generated files, none executable.
        Found::Proc(_) => Err(Errno::EACCES),
    }
}

/// The file's own name (its dentry's) from its path: "/memfd:x (deleted)" is "memfd:x".
fn base_name(path: &str) -> String {
    path.strip_suffix(" (deleted)").unwrap_or(path).rsplit('/').next().unwrap_or_default().to_string()
}

/// The canonical path of the file a walk of `path` found (what maps and
/// /proc/self/exe show): its directory's path and its name.
fn canonical_path(cx: &mut Ctx<'_>, dirfd: i32, path: &str, ino: Ino) -> String {
    let Ok(start) = start_at(cx, dirfd, path) else { return path.to_string() };
    let Ok(p) = cx.k.walk_parent(&start, path) else { return path.to_string() };
    match (&p.dir, &p.last) {
        (Found::Ino(d), Last::Name(n)) if cx.k.vfs.child(*d, n) == Some(ino) => path_in(cx, &p.dir, n),
        _ => path.to_string(),
    }
}

/// The strings exec copies, with the room left for them (bprm->p above
/// bprm->argmin).
struct Strings {
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
    room: u64,
}

impl Strings {
    /// Takes `len` bytes (a string and its NUL) of the room: valid_arg_len
    /// and the argmin check of copy_strings.
    fn take(&mut self, len: u64) -> Result<(), Errno> {
        if len > MAX_ARG_STRLEN || len > self.room {
            return Err(Errno::E2BIG);
        }
        self.room -= len;
        Ok(())
    }
}

/// count(): the entries of a NULL-terminated pointer array (0 for a NULL
/// array), read in chunks; EFAULT at an unreadable entry before the NULL,
/// E2BIG past MAX_ARG_STRINGS.
fn count(cx: &mut Ctx<'_>, array: u64) -> Result<u64, Errno> {
    if array == 0 {
        return Ok(0);
    }
    const CHUNK: u64 = 16 * PAGE_SIZE;
    let mut n = 0u64;
    loop {
        let at = array.checked_add(n * 8).ok_or(Errno::EFAULT)?;
        let len = (CHUNK - at % PAGE_SIZE) & !7;
        let mut buf = vec![0u8; len as usize];
        if cx.read_user(at, &mut buf).is_err() {
            // Somewhere in the chunk: find the first entry that cannot be
            // read, unless the NULL comes first.
            buf.truncate(0);
            for i in 0..len / 8 {
                let e = cx.read_u64(at.checked_add(i * 8).ok_or(Errno::EFAULT)?)?;
                if e == 0 {
                    return Ok(n + i);
                }
                if n + i >= MAX_ARG_STRINGS {
                    return Err(Errno::E2BIG);
                }
            }
            n += len / 8;
            continue;
        }
        for w in buf.chunks_exact(8) {
            if u64::from_le_bytes(w.try_into().expect("8 bytes")) == 0 {
                return Ok(n);
            }
            n += 1;
            if n > MAX_ARG_STRINGS {
                return Err(Errno::E2BIG);
            }
        }
    }
}

/// strnlen_user(s, MAX_ARG_STRLEN) and the copy: the string at `va` with
/// its NUL counted in the length; EFAULT when it cannot be read up to its
/// NUL, E2BIG when no NUL comes within MAX_ARG_STRLEN bytes.
fn arg_string(cx: &mut Ctx<'_>, va: u64) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut at = va;
    loop {
        let n = (PAGE_SIZE - at % PAGE_SIZE).min(MAX_ARG_STRLEN - out.len() as u64) as usize;
        let mut buf = vec![0u8; n];
        cx.read_user(at, &mut buf)?;
        if let Some(z) = buf.iter().position(|b| *b == 0) {
            out.extend_from_slice(&buf[..z]);
            return Ok(out);
        }
        out.extend_from_slice(&buf);
        if out.len() as u64 >= MAX_ARG_STRLEN {
            return Err(Errno::E2BIG);
        }
        at = at.checked_add(n as u64).ok_or(Errno::EFAULT)?;
    }
}

/// copy_strings: the `n` strings of `array`, from the last one down (the
/// order in which Linux finds their errors), each taking its room.
fn copy_strings(cx: &mut Ctx<'_>, s: &mut Strings, array: u64, n: u64) -> Result<Vec<Vec<u8>>, Errno> {
    let mut out = Vec::with_capacity(n.min(4096) as usize);
    for i in (0..n).rev() {
        let p = cx.read_u64(array.checked_add(i * 8).ok_or(Errno::EFAULT)?)?;
        let st = arg_string(cx, p)?;
        s.take(st.len() as u64 + 1)?;
        out.push(st);
    }
    out.reverse();
    Ok(out)
}

/// The file's first bytes, enough for its format: BINPRM_BUF_SIZE, or the
/// whole ELF and program headers.
fn read_head(cx: &mut Ctx<'_>, obj: ObjectId) -> Result<(Vec<u8>, u64), Errno> {
    let size = cx.k.engine.object(obj).ok_or(Errno::ENOENT)?.size;
    let mut head = vec![0u8; size.min(BINPRM_BUF_SIZE as u64) as usize];
    let n = cx.k.engine.read_object(obj, 0, &mut head).map_err(|_| Errno::EIO)?;
    head.truncate(n);
    if head.starts_with(b"\x7fELF") {
        if let Some(end) = Elf::headers_end(&head).filter(|e| *e > head.len() as u64) {
            if end > size.min(MAX_HEAD) {
                return Err(Errno::ENOEXEC);
            }
            head.resize(end as usize, 0);
            let n = cx.k.engine.read_object(obj, 0, &mut head).map_err(|_| Errno::EIO)?;
            head.truncate(n);
        }
    }
    Ok((head, size))
}

/// What `bprm_execve` settled on: the ELF file to load and its headers.
struct Binary {
    file: ExecFile,
    elf: Elf,
}

/// exec_binprm: the format handlers, with scripts re-dispatching to their
/// interpreter at most MAX_NESTING times. `filename` is bprm->filename;
/// `inaccessible` says the name will not open after exec
/// (BINPRM_FLAGS_PATH_INACCESSIBLE).
fn exec_binprm(cx: &mut Ctx<'_>, mut file: ExecFile, filename: &[u8], inaccessible: bool, s: &mut Strings) -> Result<Binary, Errno> {
    let mut interp: Vec<u8> = filename.to_vec();
    for depth in 0.. {
        if depth > MAX_NESTING {
            return Err(Errno::ELOOP);
        }
        let (head, size) = read_head(cx, file.obj)?;
        if let Some(parsed) = script::parse(&head) {
            let i = parsed?;
            if inaccessible {
                return Err(Errno::ENOENT);
            }
            // remove_arg_zero gives argv[0]'s room back; then the script's
            // name, the optional argument and the interpreter go in front.
            if !s.argv.is_empty() {
                let a0 = s.argv.remove(0);
                s.room += a0.len() as u64 + 1;
            }
            s.take(interp.len() as u64 + 1)?;
            s.argv.insert(0, interp.clone());
            if let Some(a) = &i.arg {
                s.take(a.len() as u64 + 1)?;
                s.argv.insert(0, a.clone());
            }
            s.take(i.name.len() as u64 + 1)?;
            s.argv.insert(0, i.name.clone());
            let name = String::from_utf8_lossy(&i.name).into_owned();
            file = open_exec(cx, AT_FDCWD as i32, &name, 0)?;
            interp = i.name;
            continue;
        }
        return match Elf::parse_head(&head, size, true) {
            Ok(elf) => Ok(Binary { file, elf }),
            // The interpreter cannot be there: the guest has no dynamic loader.
            Err(ElfError::Dynamic(_)) => Err(Errno::ENOENT),
            Err(_) => Err(Errno::ENOEXEC),
        };
    }
    unreachable!("the loop returns")
}

/// do_execveat_common.
fn do_execveat(cx: &mut Ctx<'_>, dirfd: i32, path: u64, argv: u64, envp: u64, flags: u64) -> SysResult {
    // getname_flags: an empty name is ENOENT unless AT_EMPTY_PATH.
    let name = cx.read_cstr(path, PATH_MAX)?;
    if name.is_empty() && flags & AT_EMPTY_PATH == 0 {
        return Err(Errno::ENOENT);
    }
    let name = String::from_utf8_lossy(&name).into_owned();
    let file = open_exec(cx, dirfd, &name, flags)?;
    // alloc_bprm: the name exec shows (AT_EXECFN, the script's argument).
    let (filename, from_fd) = if dirfd as i64 == AT_FDCWD || name.starts_with('/') {
        (name.clone(), false)
    } else if name.is_empty() {
        (format!("/dev/fd/{dirfd}"), true)
    } else {
        (format!("/dev/fd/{dirfd}/{name}"), true)
    };
    let inaccessible = from_fd && cx.proc().fds.get(dirfd as u32).is_ok_and(|e| e.cloexec);
    let argc = count(cx, argv)?;
    let envc = count(cx, envp)?;
    let room = strings_limit(cx.proc().rlimit(RLIMIT_STACK), argc, envc).ok_or(Errno::E2BIG)?;
    let mut s = Strings { argv: Vec::new(), envp: Vec::new(), room };
    s.take(filename.len() as u64 + 1)?;
    s.envp = copy_strings(cx, &mut s, envp, envc)?;
    s.argv = copy_strings(cx, &mut s, argv, argc)?;
    if s.argv.is_empty() {
        s.take(1)?;
        s.argv.push(Vec::new());
    }
    let bin = exec_binprm(cx, file, filename.as_bytes(), inaccessible, &mut s)?;
    let comm = if name.is_empty() { comm_of(&bin.file.name) } else { comm_of(&filename) };
    commit(cx, bin, &s, filename.as_bytes(), comm)
}

/// Past the point of no return: the new image in a fresh address space,
/// then begin_new_exec. A load that fails (an rlimit too small for the
/// program's segments or stack) kills the process with SIGSEGV.
fn commit(cx: &mut Ctx<'_>, bin: Binary, s: &Strings, execfn: &[u8], comm: String) -> SysResult {
    let me = cx.pid();
    let space = cx.mm(|e, _| {
        let (r, u) = e.create_space().split();
        (r.map_err(|_| Errno::ENOMEM), u)
    })?;
    cx.k.push_memory_limits(me, space);
    let mut random = [0u8; 16];
    cx.k.rng.fill(&mut random);
    let c = cx.proc().creds.clone();
    let stack = Stack {
        argv: &s.argv,
        envp: &s.envp,
        execfn,
        random,
        hwcap: cx.k.hwcap,
        minsigstksz: crate::kernel::signal::frame::MIN_SIGSTKSZ,
        uid: c.uid,
        euid: c.euid,
        gid: c.gid,
        egid: c.egid,
        stack_limit: cx.proc().rlimit(RLIMIT_STACK),
    };
    let prog = Program { obj: bin.file.obj, elf: &bin.elf };
    let loaded = loader::load(&mut cx.k.engine, space, &prog, &stack, &mut cx.k.pending);
    let entry = match loaded {
        Ok(e) => e,
        Err(_) => {
            let _ = cx.k.engine.destroy_space(space);
            cx.k.force_sigsegv();
            return ok(0);
        }
    };
    if cx.k.engine.hold_object(bin.file.obj).is_err() {
        let _ = cx.k.engine.destroy_space(space);
        cx.k.force_sigsegv();
        return ok(0);
    }
    let args = crate::kernel::exec::stack::areas(&stack);
    let img = NewImage { space, entry, exe_obj: bin.file.obj, exe: bin.file.path, comm, args };
    if cx.k.begin_new_exec(img, cx.regs, cx.cpu).is_err() {
        // The VMM could not finish (the vCPU's FPU): past the point of no
        // return, so the process dies as Linux's would.
        cx.k.force_sigsegv();
    }
    ok(0)
}

/// execve(filename, argv, envp).
pub(super) fn execve(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_execveat(cx, AT_FDCWD as i32, a.ptr(0), a.ptr(1), a.ptr(2), 0)
}

/// execveat(dirfd, filename, argv, envp, flags).
pub(super) fn execveat(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    do_execveat(cx, a.int(0), a.ptr(1), a.ptr(2), a.ptr(3), a.int(4) as u32 as u64)
}

#[cfg(test)]
mod tests {
    use crate::kernel::process::{RunState, Wait};
    use crate::kernel::tests::{call, kernel_with};
    use crate::kernel::Kernel;
    use guest_mm::VirtAddr;
    use kvm_bindings::kvm_regs;
    use linux_abi::sysno as nr;

    /// A read-write page of process `k.current` holding `bytes` at its start.
    fn page_with(k: &mut Kernel, regs: &mut kvm_regs, bytes: &[u8]) -> u64 {
        let at = call(k, regs, nr::MMAP, [0, 4096, 3, 0x22, u64::MAX, 0]) as u64;
        let space = k.current_space().unwrap();
        k.engine.write_user(space, VirtAddr::new(at), bytes).split().0.unwrap();
        at
    }

    /// "/proc/self/exe", argv ["a", "bc"] and envp ["E=1"] in one page:
    /// returns (path, argv, envp).
    fn exec_args(k: &mut Kernel, regs: &mut kvm_regs) -> (u64, u64, u64) {
        let mut b = vec![0u8; 256];
        b[..15].copy_from_slice(b"/proc/self/exe\0");
        b[16..18].copy_from_slice(b"a\0");
        b[18..21].copy_from_slice(b"bc\0");
        b[24..28].copy_from_slice(b"E=1\0");
        let at = page_with(k, regs, &b);
        let mut tables = Vec::new();
        for w in [at + 16, at + 18, 0, at + 24, 0] {
            tables.extend_from_slice(&u64::to_le_bytes(w));
        }
        let space = k.current_space().unwrap();
        k.engine.write_user(space, VirtAddr::new(at + 128), &tables).split().0.unwrap();
        (at, at + 128, at + 128 + 24)
    }

    fn read_u64(k: &mut Kernel, va: u64) -> u64 {
        let mut b = [0u8; 8];
        let space = k.current_space().unwrap();
        k.engine.read_user(space, VirtAddr::new(va), &mut b).split().0.unwrap();
        u64::from_le_bytes(b)
    }

    #[test]
    fn exec_builds_a_new_image_and_resets_what_linux_resets() {
        let (mut k, mut regs) = kernel_with("hello");
        let (path, argv, envp) = exec_args(&mut k, &mut regs);
        let keep = call(&mut k, &mut regs, nr::MEMFD_CREATE, [path, 0, 0, 0, 0, 0]);
        let close = call(&mut k, &mut regs, nr::MEMFD_CREATE, [path, 1, 0, 0, 0, 0]);
        // SIGUSR1 handled, SIGUSR2 ignored, SIGINT blocked.
        let act = page_with(&mut k, &mut regs, &[0x11; 32]);
        let ign = page_with(&mut k, &mut regs, &1u64.to_le_bytes());
        assert_eq!(call(&mut k, &mut regs, nr::RT_SIGACTION, [10, act, 0, 8, 0, 0]), 0);
        assert_eq!(call(&mut k, &mut regs, nr::RT_SIGACTION, [12, ign, 0, 8, 0, 0]), 0);
        let set = page_with(&mut k, &mut regs, &2u64.to_le_bytes());
        assert_eq!(call(&mut k, &mut regs, nr::RT_SIGPROCMASK, [0, set, 0, 8, 0, 0]), 0);
        let old_space = k.current_space().unwrap();
        let exe = k.process(1).unwrap().exe_obj;
        {
            let p = k.procs.get_mut(&1).unwrap();
            (p.fs_base, p.clear_child_tid, p.robust_list) = (0x1234, 0x5678, (0x9000, 24));
        }
        assert_eq!(call(&mut k, &mut regs, nr::EXECVE, [path, argv, envp, 0, 0, 0]), 0);
        let p = k.process(1).unwrap().clone();
        assert_ne!(p.space, old_space);
        assert!(k.engine.space(old_space).is_none(), "the old address space is gone");
        assert_eq!((p.pid, p.exe_obj, p.name.as_str()), (1, exe, "exe"));
        assert!(p.fds.get(keep as u32).is_ok() && p.fds.get(close as u32).is_err(), "only the close-on-exec memfd is closed");
        assert_eq!(p.sig.actions[9].handler, linux_abi::signal::SIG_DFL, "a handled signal is default again");
        assert_eq!(p.sig.actions[11].handler, linux_abi::signal::SIG_IGN, "an ignored one stays ignored");
        assert_eq!(p.sig.blocked, 2, "the mask stays");
        assert_eq!((p.fs_base, p.clear_child_tid, p.robust_list), (0, 0, (0, 0)));
        let elf = crate::elf::Elf::parse(crate::images::program("hello").unwrap(), true).unwrap();
        assert_eq!(regs.rip, elf.entry);
        assert_eq!((regs.rax, regs.rbx, regs.rcx, regs.r11), (0, 0, 0, 0), "start_thread clears the registers");
        // The new stack: argc 2, argv, NULL, envp, NULL.
        let sp = regs.rsp;
        assert_eq!(read_u64(&mut k, sp), 2);
        assert_ne!(read_u64(&mut k, sp + 8), 0);
        assert_eq!(read_u64(&mut k, sp + 24), 0);
        assert_ne!(read_u64(&mut k, sp + 32), 0);
        assert_eq!(read_u64(&mut k, sp + 40), 0);
        k.engine.check_invariants().unwrap();
        let _ = k.take_pending().into_parts();
    }

    #[test]
    fn a_failed_exec_changes_nothing_and_hostile_arguments_are_errors() {
        let (mut k, mut regs) = kernel_with("hello");
        let (path, argv, envp) = exec_args(&mut k, &mut regs);
        let space = k.current_space().unwrap();
        let bad = [0u64, 1, 0xffff_8880_0000_0000, u64::MAX - 7, 1 << 47];
        for b in bad {
            assert_eq!(call(&mut k, &mut regs, nr::EXECVE, [b, argv, envp, 0, 0, 0]), -14, "path {b:#x}");
            if b != 0 {
                assert_eq!(call(&mut k, &mut regs, nr::EXECVE, [path, b, envp, 0, 0, 0]), -14, "argv {b:#x}");
                assert_eq!(call(&mut k, &mut regs, nr::EXECVE, [path, argv, b, 0, 0, 0]), -14, "envp {b:#x}");
            }
        }
        // "" (path + 15) with AT_EMPTY_PATH on a closed descriptor; bad flags; NOFOLLOW at the magic link.
        assert_eq!(call(&mut k, &mut regs, nr::EXECVEAT, [77, path + 15, argv, envp, 0x1000, 0]), -9);
        assert_eq!(call(&mut k, &mut regs, nr::EXECVE, [path + 15, argv, envp, 0, 0, 0]), -2);
        assert_eq!(call(&mut k, &mut regs, nr::EXECVEAT, [0, path, argv, envp, 0x2, 0]), -22);
        assert_eq!(call(&mut k, &mut regs, nr::EXECVEAT, [0, path, argv, envp, 0x100, 0]), -40);
        assert_eq!(k.current_space(), Some(space), "still the old image");
        k.engine.check_invariants().unwrap();
        let _ = k.take_pending().into_parts();
    }

    #[test]
    fn a_vfork_parent_runs_again_once_its_child_execs() {
        let (mut k, mut regs) = kernel_with("hello");
        let (path, argv, envp) = exec_args(&mut k, &mut regs);
        call(&mut k, &mut regs, nr::VFORK, [0; 6]);
        assert_eq!(k.current(), 2, "the child runs; the parent waits");
        assert_eq!(k.process(1).unwrap().state, RunState::Blocked(Wait::Vfork { child: 2 }));
        assert_eq!(call(&mut k, &mut regs, nr::EXECVE, [path, argv, envp, 0, 0, 0]), 0);
        k.poll_waiters().unwrap();
        let parent = k.process(1).unwrap();
        assert_eq!((parent.state, parent.regs.rax), (RunState::Runnable, 2), "vfork returns the child's pid");
        let _ = k.take_pending().into_parts();
    }
}
