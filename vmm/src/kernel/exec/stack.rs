//! The initial stack of a new program, laid out exactly as Linux lays it
//! out (fs/exec.c copy_strings, fs/binfmt_elf.c create_elf_tables) without
//! address randomisation:
//!
//! ```text
//! STACK_TOP      8 zero bytes
//!                the exec'd file name (AT_EXECFN)
//!                envp strings, argv strings (argv[0] lowest)
//! (16-aligned)   "x86_64" (AT_PLATFORM)
//!                16 random bytes (AT_RANDOM)
//! (16-aligned)   argc, argv[], NULL, envp[], NULL, auxv pairs, AT_NULL
//! ```
//!
//! The auxiliary vector holds Linux 6.18's entries in its order, minus the
//! vDSO (the guest has none): AT_MINSIGSTKSZ, AT_HWCAP, AT_PAGESZ, AT_CLKTCK,
//! AT_PHDR, AT_PHENT, AT_PHNUM, AT_BASE, AT_FLAGS, AT_ENTRY, AT_UID, AT_EUID,
//! AT_GID, AT_EGID, AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN, AT_PLATFORM,
//! AT_RSEQ_FEATURE_SIZE, AT_RSEQ_ALIGN.

use super::{ExecError, STACK_TOP};
use guest_mm::{AsId, Engine, PhysMemory, PteUpdates, VirtAddr};
use linux_abi::auxv::*;

/// What the stack carries besides the ELF's own values.
pub struct Stack<'a> {
    /// The strings as bytes: Linux passes them on unchanged, UTF-8 or not.
    pub argv: &'a [Vec<u8>],
    pub envp: &'a [Vec<u8>],
    /// The name exec was given (AT_EXECFN).
    pub execfn: &'a [u8],
    pub random: [u8; 16],
    /// AT_HWCAP: the guest CPU's CPUID.1:EDX.
    pub hwcap: u64,
    /// AT_MINSIGSTKSZ: what a signal frame needs here.
    pub minsigstksz: u64,
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub egid: u32,
    /// RLIMIT_STACK: the strings may use a quarter of it (`strings_limit`).
    pub stack_limit: u64,
}

/// The ELF's values for the auxiliary vector (after the load bias).
pub struct AuxInfo {
    pub phdr: u64,
    pub phent: u64,
    pub phnum: u64,
    pub entry: u64,
}

/// The platform string (ELF_PLATFORM: utsname's machine).
const PLATFORM: &str = "x86_64";
/// The most the strings may take whatever the stack limit (_STK_LIM / 4 * 3).
const MAX_ARG_STRINGS_BYTES: u64 = (8 << 20) / 4 * 3;
/// What the strings may always take, however small the stack limit
/// (ARG_MAX: 32 pages).
const ARG_MAX: u64 = 32 * guest_mm::PAGE_SIZE;
/// The longest one argument or environment string may be, its NUL included
/// (MAX_ARG_STRLEN: 32 pages).
pub const MAX_ARG_STRLEN: u64 = 32 * guest_mm::PAGE_SIZE;
/// The most strings argv or envp may hold (MAX_ARG_STRINGS).
pub const MAX_ARG_STRINGS: u64 = 0x7fff_ffff;

/// How many bytes of strings (NULs included: the exec'd file name, envp and
/// argv) an exec with `argc` arguments and `envc` environment strings may
/// copy onto the new stack under the soft RLIMIT_STACK `rlim_stack`
/// (fs/exec.c bprm_stack_limits): a quarter of the limit, at most 3/4 of
/// _STK_LIM, at least ARG_MAX, less the argv and envp pointers (an empty
/// argv counts as one: exec adds ""). E2BIG (None) when the pointers alone
/// do not fit.
pub fn strings_limit(rlim_stack: u64, argc: u64, envc: u64) -> Option<u64> {
    // ARG_MAX < MAX_ARG_STRINGS_BYTES, so clamp cannot panic.
    let limit = (rlim_stack / 4).clamp(ARG_MAX, MAX_ARG_STRINGS_BYTES);
    let ptr_size = argc.max(1).checked_add(envc)?.checked_mul(8)?;
    if limit <= ptr_size {
        return None;
    }
    Some(limit - ptr_size)
}

/// Where `build` puts the argument and environment strings: the file name
/// highest, then the environment, then the arguments (copy_strings).
pub fn areas(st: &Stack<'_>) -> ArgArea {
    let len = |v: &[Vec<u8>]| v.iter().map(|s| s.len() as u64 + 1).sum::<u64>();
    let env_end = STACK_TOP - 8 - (st.execfn.len() as u64 + 1);
    let env_start = env_end - len(st.envp);
    ArgArea { argv: (env_start - len(st.argv), env_start), envp: (env_start, env_end) }
}

/// mm->arg_start..arg_end and env_start..env_end.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ArgArea {
    pub argv: (u64, u64),
    pub envp: (u64, u64),
}

/// Maps the stack VMA, writes the strings, tables and auxv, and returns the
/// initial stack pointer (pointing at argc).
pub fn build<M: PhysMemory>(
    engine: &mut Engine<M>,
    id: AsId,
    st: &Stack<'_>,
    aux: &AuxInfo,
    exec_stack: bool,
    tlb: &mut PteUpdates,
) -> Result<u64, ExecError> {
    // copy_strings: the file name first (highest), then envp and argv, each
    // list from its last string down, so that argv[0] ends lowest.
    let strings_len: u64 = st.argv.iter().chain(st.envp).map(|s| s.len() as u64 + 1).sum::<u64>() + st.execfn.len() as u64 + 1;
    let too_long = st.argv.iter().chain(st.envp).any(|s| s.len() as u64 >= MAX_ARG_STRLEN);
    match strings_limit(st.stack_limit, st.argv.len() as u64, st.envp.len() as u64) {
        Some(limit) if strings_len <= limit && !too_long => {}
        _ => return Err(ExecError::TooBig),
    }
    let mut p = STACK_TOP - 8;
    let mut blob: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut push = |p: &mut u64, s: &[u8]| {
        *p -= s.len() as u64 + 1;
        let mut b = s.to_vec();
        b.push(0);
        blob.push((*p, b));
        *p
    };
    let execfn = push(&mut p, st.execfn);
    let mut env_at: Vec<u64> = st.envp.iter().rev().map(|e| push(&mut p, e)).collect();
    env_at.reverse();
    let mut arg_at: Vec<u64> = st.argv.iter().rev().map(|a| push(&mut p, a)).collect();
    arg_at.reverse();
    let lowest_string = p;
    // create_elf_tables.
    let mut p = p & !15;
    p -= PLATFORM.len() as u64 + 1;
    let platform = p;
    let mut plat = PLATFORM.as_bytes().to_vec();
    plat.push(0);
    blob.push((platform, plat));
    p -= 16;
    let random = p;
    blob.push((random, st.random.to_vec()));
    let auxv: Vec<(u64, u64)> = vec![
        (AT_MINSIGSTKSZ, st.minsigstksz),
        (AT_HWCAP, st.hwcap),
        (AT_PAGESZ, guest_mm::PAGE_SIZE),
        (AT_CLKTCK, 100),
        (AT_PHDR, aux.phdr),
        (AT_PHENT, aux.phent),
        (AT_PHNUM, aux.phnum),
        (AT_BASE, 0),
        (AT_FLAGS, 0),
        (AT_ENTRY, aux.entry),
        (AT_UID, st.uid as u64),
        (AT_EUID, st.euid as u64),
        (AT_GID, st.gid as u64),
        (AT_EGID, st.egid as u64),
        (AT_SECURE, 0),
        (AT_RANDOM, random),
        (AT_HWCAP2, 0),
        (AT_EXECFN, execfn),
        (AT_PLATFORM, platform),
        (AT_RSEQ_FEATURE_SIZE, linux_abi::sched::rseq::FEATURE_SIZE),
        (AT_RSEQ_ALIGN, linux_abi::sched::rseq::ALIGN),
        (AT_NULL, 0),
    ];
    let items = (st.argv.len() + 1 + st.envp.len() + 1 + 1) as u64;
    let sp = (p - 16 * auxv.len() as u64 - 8 * items) & !15;
    let mut table: Vec<u64> = vec![st.argv.len() as u64];
    table.extend(&arg_at);
    table.push(0);
    table.extend(&env_at);
    table.push(0);
    for (k, v) in auxv {
        table.push(k);
        table.push(v);
    }
    // The stack VMA: the argument pages plus 128 KiB, growing down (setup_arg_pages).
    let (r, u) = engine.setup_arg_pages(id, STACK_TOP, STACK_TOP - lowest_string, exec_stack).split();
    tlb.absorb(u);
    r.map_err(ExecError::Stack)?;
    blob.push((sp, table.iter().flat_map(|w| w.to_le_bytes()).collect()));
    for (addr, data) in blob {
        let (r, u) = engine.write_user(id, VirtAddr::new(addr), &data).split();
        tlb.absorb(u);
        r.map_err(ExecError::Stack)?;
    }
    // mm->start_stack: the VMA holding it is "[stack]" in maps.
    engine.set_start_stack(id, VirtAddr::new(sp)).map_err(ExecError::Stack)?;
    Ok(sp)
}
