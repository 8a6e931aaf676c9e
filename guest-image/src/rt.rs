//! Process entry, the memory intrinsics the compiler expects, and the panic path.
//!
//! `_start` receives the Linux initial stack (argc, argv..., NULL, envp..., NULL,
//! auxv) and calls the program's `guest_main` with RSP % 16 == 8 at entry, as
//! the System V ABI requires.

core::arch::global_asm!(
    r#"
    .section .text._start, "ax"
    .globl _start
_start:
    xor ebp, ebp
    mov rdi, rsp
    and rsp, -16
    call {start}
    ud2
"#,
    start = sym start_rust,
);

extern "Rust" {
    /// Defined by each program with `#[no_mangle]`.
    fn guest_main(args: &crate::Args) -> i32;
}

extern "C" fn start_rust(sp: *const usize) -> ! {
    // SAFETY: the kernel (host engine or Linux) builds the initial stack with
    // argc at `sp` followed by argc argv pointers and a NULL.
    let args = unsafe { crate::Args::from_initial_stack(sp) };
    // SAFETY: every program defines `guest_main`; linking fails otherwise.
    let code = unsafe { guest_main(&args) };
    crate::sys::exit(code)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    crate::io::eprint_fmt(format_args!("guest panic: {}\n", info.message()));
    crate::sys::exit(101)
}

// The compiler lowers copies and fills to these symbols. `rep movsb`/`rep stosb`
// run natively in ring 3 and cannot be turned back into calls to themselves.

/// # Safety
/// Standard `memcpy` contract: non-overlapping valid ranges.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    core::arch::asm!("rep movsb", inout("rcx") n => _, inout("rdi") dst => _, inout("rsi") src => _, options(nostack, preserves_flags));
    dst
}

/// # Safety
/// Standard `memmove` contract: valid ranges, overlap allowed.
#[no_mangle]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dst as usize) <= (src as usize) || (dst as usize) >= (src as usize).wrapping_add(n) {
        return memcpy(dst, src, n);
    }
    // Overlapping with dst above src: copy backwards.
    core::arch::asm!(
        "std", "rep movsb", "cld",
        inout("rcx") n => _,
        inout("rdi") dst.add(n).wrapping_sub(1) => _,
        inout("rsi") src.add(n).wrapping_sub(1) => _,
        options(nostack)
    );
    dst
}

/// # Safety
/// Standard `memset` contract: valid destination range.
#[no_mangle]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    core::arch::asm!("rep stosb", inout("rcx") n => _, inout("rdi") dst => _, in("al") c as u8, options(nostack, preserves_flags));
    dst
}

/// # Safety
/// Standard `memcmp` contract: valid ranges of `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        let (x, y) = (core::ptr::read_volatile(a.add(i)), core::ptr::read_volatile(b.add(i)));
        if x != y {
            return x as i32 - y as i32;
        }
        i += 1;
    }
    0
}

/// # Safety
/// Standard `bcmp` contract: valid ranges of `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    memcmp(a, b, n)
}

/// # Safety
/// `s` must point at a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn strlen(s: *const u8) -> usize {
    let mut n = 0;
    while core::ptr::read_volatile(s.add(n)) != 0 {
        n += 1;
    }
    n
}

/// The precompiled `core` references the unwinder's personality routine even
/// though we build with panic=abort; nothing ever calls it.
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}
