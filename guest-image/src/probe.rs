//! Fault probes: touch memory, and if the access faults, learn how.
//!
//! `load`, `store` and `exec` perform one real access (a ring-3 load, store or
//! instruction fetch). Their faulting instructions have fix-up addresses, and
//! the SIGSEGV/SIGBUS handler installed by `install` records the siginfo
//! (signal, si_code, si_addr) and moves the interrupted RIP to the fix-up
//! through the ucontext, which is Linux's x86-64 signal ABI, so the same
//! program catches faults natively and in the microVM.

use crate::sys;
use core::sync::atomic::{AtomicU64, Ordering};

/// A fault caught by a probe.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub signo: i32,
    pub code: i32,
    pub addr: u64,
}

static SIGNO: AtomicU64 = AtomicU64::new(0);
static CODE: AtomicU64 = AtomicU64::new(0);
static ADDR: AtomicU64 = AtomicU64::new(0);
/// The address an `exec` probe calls: a fault there returns to the caller.
static EXEC_TARGET: AtomicU64 = AtomicU64::new(u64::MAX);

core::arch::global_asm!(
    r#"
    .section .text.probe, "ax"
    .globl ulib_probe_load
ulib_probe_load:
ulib_probe_load_insn:
    movzx eax, byte ptr [rdi]
    ret
ulib_probe_load_fix:
    mov eax, -1
    ret

    .globl ulib_probe_store
ulib_probe_store:
ulib_probe_store_insn:
    mov byte ptr [rdi], sil
    xor eax, eax
    ret
ulib_probe_store_fix:
    mov eax, -1
    ret

    .globl ulib_probe_exec
ulib_probe_exec:
ulib_probe_exec_call:
    call rdi
    xor eax, eax
    ret
ulib_probe_exec_fix:
    add rsp, 8
    mov eax, -1
    ret
ulib_probe_exec_nocall_fix:
    mov eax, -1
    ret

    .globl ulib_sigreturn
ulib_sigreturn:
    mov eax, 15
    syscall
    ud2

    .globl ulib_probe_addrs
ulib_probe_addrs:
    .quad ulib_probe_load_insn, ulib_probe_load_fix, ulib_probe_store_insn, ulib_probe_store_fix, ulib_probe_exec_fix
    .quad ulib_probe_exec_call, ulib_probe_exec_nocall_fix
"#
);

extern "C" {
    fn ulib_probe_load(addr: u64) -> i32;
    fn ulib_probe_store(addr: u64, v: u8) -> i32;
    fn ulib_probe_exec(addr: u64) -> i32;
    fn ulib_sigreturn();
    static ulib_probe_addrs: [u64; 7];
}

// struct ucontext: uc_mcontext at +40; sigcontext registers in Linux order.
const UC_RIP: usize = 40 + 16 * 8;

extern "C" fn handler(signo: i32, info: *const u8, uc: *mut u8) {
    // SAFETY: the kernel passes a valid siginfo and ucontext (Linux x86-64 layout).
    unsafe {
        let code = (info.add(8) as *const i32).read_volatile();
        let addr = (info.add(16) as *const u64).read_volatile();
        SIGNO.store(signo as u64, Ordering::SeqCst);
        CODE.store(code as u32 as u64, Ordering::SeqCst);
        ADDR.store(addr, Ordering::SeqCst);
        let rip = uc.add(UC_RIP) as *mut u64;
        let fixes = &ulib_probe_addrs;
        let at = rip.read_volatile();
        if at == fixes[0] {
            rip.write_volatile(fixes[1]);
        } else if at == fixes[2] {
            rip.write_volatile(fixes[3]);
        } else if at == EXEC_TARGET.load(Ordering::SeqCst) {
            // The fetch faulted at the call target; the fix-up pops the
            // call's return address and returns -1 to the probe's caller.
            rip.write_volatile(fixes[4]);
        } else if at == fixes[5] && EXEC_TARGET.load(Ordering::SeqCst) != u64::MAX {
            // A non-canonical call target faults (#GP) at the call itself,
            // before anything is pushed.
            rip.write_volatile(fixes[6]);
        } else {
            // A fault outside any probe: restore the default action and let it kill us.
            let dfl = [0u64; 4];
            sys::syscall6(sys::SYS_RT_SIGACTION, signo as usize, dfl.as_ptr() as usize, 0, 8, 0, 0);
        }
    }
}

/// Installs the SIGSEGV and SIGBUS handlers. Returns the raw result.
pub fn install() -> isize {
    const SA_SIGINFO: u64 = 4;
    const SA_RESTORER: u64 = 0x0400_0000;
    const SA_NODEFER: u64 = 0x4000_0000;
    let act: [u64; 4] = [handler as *const () as u64, SA_SIGINFO | SA_RESTORER | SA_NODEFER, ulib_sigreturn as *const () as u64, 0];
    for sig in [sys::SIGSEGV, sys::SIGBUS] {
        // SAFETY: `act` is a valid struct k_sigaction for the call's duration.
        let r = unsafe { sys::syscall6(sys::SYS_RT_SIGACTION, sig, act.as_ptr() as usize, 0, 8, 0, 0) };
        if r != 0 {
            return r;
        }
    }
    0
}

fn take() -> Fault {
    Fault {
        signo: SIGNO.swap(0, Ordering::SeqCst) as i32,
        code: CODE.swap(0, Ordering::SeqCst) as i32,
        addr: ADDR.swap(0, Ordering::SeqCst),
    }
}

/// Reads the byte at `addr`.
pub fn load(addr: u64) -> Result<u8, Fault> {
    // SAFETY: a fault is caught by the handler and turned into -1.
    let v = unsafe { ulib_probe_load(addr) };
    if v < 0 {
        Err(take())
    } else {
        Ok(v as u8)
    }
}

/// Writes `v` at `addr`.
pub fn store(addr: u64, v: u8) -> Result<(), Fault> {
    // SAFETY: as for load.
    if unsafe { ulib_probe_store(addr, v) } < 0 {
        Err(take())
    } else {
        Ok(())
    }
}

/// Calls `addr` to test instruction fetch: the page must hold a `ret`
/// (0xC3) at `addr` for an allowed fetch to come back.
pub fn exec(addr: u64) -> Result<(), Fault> {
    EXEC_TARGET.store(addr, Ordering::SeqCst);
    // SAFETY: the target is a `ret` or faults; a fault returns -1 to us.
    let r = unsafe { ulib_probe_exec(addr) };
    EXEC_TARGET.store(u64::MAX, Ordering::SeqCst);
    if r < 0 {
        Err(take())
    } else {
        Ok(())
    }
}

impl Fault {
    /// "SIGSEGV/SEGV_MAPERR" and the like.
    pub fn name(&self) -> (&'static str, &'static str) {
        (crate::scenario::bytecode::signal_name(self.signo), crate::scenario::bytecode::code_name(self.signo, self.code))
    }
}
