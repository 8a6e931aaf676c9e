//! The guest's ring-0 shim: the only code that runs in guest supervisor mode.
//!
//! Owns: the exception entry stubs, the user-visible syscall trampoline, and
//! the batch area in which the host places page-table updates for the guest to
//! apply. Everything else a kernel would do (GDT, IDT, TSS, page tables, saving
//! registers, signal frames, scheduling) is done by the host, which reads and
//! writes the vCPU's registers through KVM's sync-regs area.
//!
//! Why so little: on our development host guest ring 0 is run by KVM's
//! instruction emulator (~0.7 us per instruction, no SSE), so every ring-0
//! instruction on the fault path costs. A fault or syscall executes exactly two
//! ring-0 instructions here: `out` (the hypercall exit) and `iretq`.
//!
//! Invariants the host relies on (checked by the host when it loads the image):
//! - the header starts with the magic `VMMSHIM1` and ABI version 1;
//! - stub `v` (0..32) is at `vectors + 8 * v` and is `out 0xE0+v, al; iretq`,
//!   so the exit's port names the vector and the instruction after it returns;
//! - the trampoline's bytes are `ud2`, copied by the host to the page LSTAR
//!   points at. A `syscall` from ring 3 lands there (at CPL 3 on PVM hosts, at
//!   CPL 0 on VMX/SVM hosts), raises #UD, and the host recognises the address.
#![no_std]
#![no_main]

core::arch::global_asm!(
    r#"
    .section .shim_header, "a"
    .globl shim_header
shim_header:
    .ascii "VMMSHIM1"
    .quad 1                          /* ABI version */
    .quad shim_vectors               /* first exception stub */
    .quad 8                          /* stub stride in bytes */
    .quad 32                         /* number of stubs (vectors 0..31) */
    .quad shim_batch                 /* host-written batch code area */
    .quad shim_batch_end
    .quad shim_trampoline            /* bytes to copy to the syscall trampoline page */
    .quad shim_trampoline_end

    .section .text.shim, "ax"
    .p2align 3
shim_vectors:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .p2align 3
    out 0xE0 + \v, al
    iretq
    .endr

    .p2align 4
shim_trampoline:
    ud2
shim_trampoline_end:

    .section .shim_batch, "aw", @nobits
    .p2align 12
shim_batch:
    .space 131072
shim_batch_end:
"#
);

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

/// The precompiled `core` references the unwinder's personality routine even
/// though we build with panic=abort; nothing ever calls it.
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}
