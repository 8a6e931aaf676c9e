//! ioctls on /proc/self/pagemap: PAGEMAP_SCAN (fs/proc/task_mmu.c
//! do_pagemap_cmd, do_pagemap_scan, pagemap_scan_get_args,
//! pagemap_scan_init_bounce_buffer, pagemap_scan_flush_buffer,
//! pagemap_scan_writeback_args).
//!
//! Owns the ioctl's side of the scan: the argument checks in Linux's order
//! with its errno, the loop of walks (each fills the kernel's bounce buffer
//! of at most 512 regions, which is then copied out; the next walk resumes
//! at walk_end), and walk_end written back. The walk itself is the engine's
//! (`guest_mm::pagemap_scan`). Linux quirks kept because they are
//! observable: a failed copy of regions is EFAULT after earlier batches were
//! written, and walk_end stays at the last batch boundary when a later walk
//! ends normally. Any other request on pagemap is EINVAL, as do_pagemap_cmd.

use super::rw::access_ok;
use super::{ok, Ctx, SysResult};
use guest_mm::pagemap_scan::{ScanQuery, ScanState};
use guest_mm::{Errno, PAGE_SIZE};
use linux_abi::pagemap::{pm_scan_arg as off, *};

/// do_pagemap_cmd: the pagemap file's unlocked_ioctl.
pub(super) fn pagemap_ioctl(cx: &mut Ctx<'_>, request: u64, arg: u64) -> SysResult {
    match request {
        PAGEMAP_SCAN => do_pagemap_scan(cx, arg),
        _ => Err(Errno::EINVAL),
    }
}

/// The checked arguments with the kernel's fix-ups applied.
struct ScanArgs {
    start: u64,
    end: u64,
    vec: u64,
    vec_len: u64,
    query: ScanQuery,
}

/// pagemap_scan_get_args.
fn get_args(cx: &mut Ctx<'_>, uarg: u64) -> Result<ScanArgs, Errno> {
    let mut b = [0u8; PM_SCAN_ARG_SIZE];
    cx.read_user(uarg, &mut b).map_err(|_| Errno::EFAULT)?;
    let field = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"));
    if field(off::SIZE) != PM_SCAN_ARG_SIZE as u64 {
        return Err(Errno::EINVAL);
    }
    let flags = field(off::FLAGS);
    if flags & !PM_SCAN_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let (inverted, mask, anyof, ret) =
        (field(off::CATEGORY_INVERTED), field(off::CATEGORY_MASK), field(off::CATEGORY_ANYOF_MASK), field(off::RETURN_MASK));
    if (inverted | mask | anyof | ret) & !PM_SCAN_CATEGORIES != 0 {
        return Err(Errno::EINVAL);
    }
    // untagged_addr is the identity: the guest has no LAM.
    let (start, end, vec, vec_len) = (field(off::START), field(off::END), field(off::VEC), field(off::VEC_LEN));
    if !start.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    if !access_ok(start, end.wrapping_sub(start)) {
        return Err(Errno::EFAULT);
    }
    if vec == 0 && vec_len != 0 {
        return Err(Errno::EINVAL);
    }
    // size_mul saturates, so a huge length fails access_ok.
    if vec != 0 && !access_ok(vec, vec_len.saturating_mul(PAGE_REGION_SIZE as u64)) {
        return Err(Errno::EFAULT);
    }
    let max_pages = match field(off::MAX_PAGES) {
        0 => u64::MAX,
        n => n,
    };
    Ok(ScanArgs {
        start,
        // access_ok bounds end by the user half, so the rounding cannot wrap.
        end: end.next_multiple_of(PAGE_SIZE),
        vec,
        vec_len,
        query: ScanQuery {
            flags,
            max_pages,
            category_inverted: inverted,
            category_mask: mask,
            category_anyof_mask: anyof,
            return_mask: ret,
        },
    })
}

/// do_pagemap_scan: the number of regions written, walk_end written back.
fn do_pagemap_scan(cx: &mut Ctx<'_>, uarg: u64) -> SysResult {
    let a = get_args(cx, uarg)?;
    let space = cx.space();
    let mut st = ScanState::new(a.query, a.vec_len);
    let (mut vec_out, mut vec_left) = (a.vec, a.vec_len);
    let mut n_out: u64 = 0;
    let mut walk_start = a.start;
    let mut ret: Result<(), Errno> = Ok(());
    // No fatal_signal_pending check: the walk runs to its end on the host,
    // and each pass is bounded by what the space holds.
    while walk_start < a.end {
        ret = cx.k.engine.pagemap_scan_walk(space, walk_start, a.end, &mut st);
        // pagemap_scan_flush_buffer: the regions go out in one copy; a copy
        // that stops short (at an unwritable page) is EFAULT.
        let n = st.filled().len();
        if n > 0 {
            let bytes: Vec<u8> = st.filled().iter().flat_map(|r| [r.start, r.end, r.categories]).flat_map(u64::to_le_bytes).collect();
            match cx.write_user_prefix(vec_out, &bytes) {
                Ok(done) if done == bytes.len() => {
                    vec_left -= n as u64;
                    vec_out += bytes.len() as u64;
                    n_out += n as u64;
                    st.reset_buffer(vec_left);
                }
                _ => ret = Err(Errno::EFAULT),
            }
        }
        if ret != Err(Errno::ENOSPC) {
            break;
        }
        if vec_left == 0 || st.found_pages == a.query.max_pages {
            break;
        }
        // Every early stop leaves either regions flushed or the walk further
        // on; never loop without progress, whatever the guest asked.
        if n == 0 && st.walk_end <= walk_start {
            break;
        }
        walk_start = st.walk_end;
    }
    let result = match ret {
        Ok(()) | Err(Errno::ENOSPC) => Ok(n_out),
        Err(e) => Err(e),
    };
    let walk_end = if st.walk_end == 0 { a.end } else { st.walk_end };
    // pagemap_scan_writeback_args.
    cx.write_u64(uarg + off::WALK_END as u64, walk_end).map_err(|_| Errno::EFAULT)?;
    ok(result?)
}
