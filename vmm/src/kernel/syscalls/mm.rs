//! Memory system calls: the engine does the work (guest_mm::ops), these
//! handlers only resolve descriptors and move results to user memory.

use super::{ok, Args, Ctx, SysResult};
use guest_mm::ops::mmap::{MapFile, MmapArgs};
use linux_abi::mman::MAP_ANONYMOUS;

pub(super) fn mmap(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let mut flags = a.ulong(3);
    let mut file = if flags & MAP_ANONYMOUS != 0 { MapFile::None } else { super::fd::map_file(cx, a.fd(4)) };
    // mmap_zero: a mapping of /dev/zero is anonymous memory (shared ones
    // shmem, as MAP_SHARED|MAP_ANONYMOUS), the offset ignored.
    if file == MapFile::Bad(guest_mm::Errno::ENODEV) && super::fd::is_dev_zero(cx, a.fd(4)) {
        flags |= MAP_ANONYMOUS;
        file = MapFile::None;
    }
    let args = MmapArgs { addr: a.ulong(0), len: a.ulong(1), prot: a.ulong(2), flags, file, offset: a.ulong(5) };
    cx.mm(|e, s| e.mmap(s, args).split()).map(|v| super::Control::Return(v.as_u64()))
}

pub(super) fn mprotect(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    cx.mm(|e, s| e.mprotect(s, a.ulong(0), a.ulong(1), a.ulong(2)).split())?;
    ok(0)
}

pub(super) fn munmap(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    cx.mm(|e, s| e.munmap(s, a.ulong(0), a.ulong(1)).split())?;
    ok(0)
}

pub(super) fn mremap(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let v = cx.mm(|e, s| e.mremap(s, a.ulong(0), a.ulong(1), a.ulong(2), a.ulong(3), a.ulong(4)).split())?;
    ok(v.as_u64())
}

pub(super) fn madvise(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    cx.mm(|e, s| e.madvise(s, a.ulong(0), a.ulong(1), a.int(2) as u32 as u64).split())?;
    ok(0)
}

pub(super) fn mlock(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    cx.mm(|e, s| e.mlock(s, a.ulong(0), a.ulong(1)).split())?;
    ok(0)
}

pub(super) fn mlock2(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    cx.mm(|e, s| e.mlock2(s, a.ulong(0), a.ulong(1), a.ulong(2)).split())?;
    ok(0)
}

pub(super) fn munlock(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    cx.mm(|e, s| e.munlock(s, a.ulong(0), a.ulong(1)).split())?;
    ok(0)
}

pub(super) fn remap_file_pages(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    cx.mm(|e, s| e.remap_file_pages(s, a.ulong(0), a.ulong(1), a.ulong(2), a.ulong(3), a.ulong(4)).split())?;
    ok(0)
}

/// brk(2) never fails: it returns the new break, or the old one when the
/// request is refused (mm/mmap.c).
pub(super) fn brk(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let space = cx.space();
    let (v, u) = cx.k.engine.brk(space, a.ulong(0)).split();
    cx.k.pending.absorb(u);
    ok(v)
}

pub(super) fn mseal(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    cx.mm(|e, s| e.mseal(s, a.ulong(0), a.ulong(1), a.ulong(2)).split())?;
    ok(0)
}

/// mincore(2): the engine's vector, copied to `vec` a round (at most a page
/// of entries) at a time as Linux does; EFAULT when a round cannot be
/// written, with the earlier rounds written.
pub(super) fn mincore(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    let (start, len, vec) = (a.ulong(0), a.ulong(1), a.ptr(2));
    let space = cx.space();
    let pages = guest_mm::ops::mincore::mincore_pages(start, len)?;
    let mut done = 0u64;
    while done < pages {
        let n = (pages - done).min(guest_mm::PAGE_SIZE);
        let mut rounds: Vec<(u64, Vec<u8>)> = Vec::new();
        let at = start + done * guest_mm::PAGE_SIZE;
        let r = cx.k.engine.mincore_chunks(space, at, n * guest_mm::PAGE_SIZE, |i, chunk| {
            rounds.push((i, chunk.to_vec()));
            Ok(())
        });
        for (i, chunk) in rounds {
            cx.write_user(vec.wrapping_add(done + i), &chunk)?;
        }
        r?;
        done += n;
    }
    ok(0)
}

pub(super) fn msync(cx: &mut Ctx<'_>, a: Args) -> SysResult {
    cx.mm(|e, s| e.msync(s, a.ulong(0), a.ulong(1), a.int(2) as u32 as u64).split())?;
    ok(0)
}
