//! Building the guest's kernel structures and the vCPU's initial state.
//!
//! Owns what a kernel would set up at boot, done here by the host before the
//! guest runs a single instruction: the direct map of RAM and the trampoline
//! mapping (the kernel half shared by every address space), the GDT in Linux's
//! layout, the TSS with IST stacks, the IDT pointing every exception at its
//! shim stub, the syscall MSRs, and long mode. The guest never executes
//! set-up code, so boot costs no emulated instruction.

use crate::error::{InternalError, VmmError};
use crate::layout::*;
use crate::shim::ShimImage;
use kvm_bindings::{kvm_dtable, kvm_msr_entry, kvm_regs, kvm_segment, kvm_sregs, Msrs};
use kvm_ioctls::VcpuFd;
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

const P: u64 = 1;
const W: u64 = 2;
const U: u64 = 4;
const A: u64 = 0x20;
const D: u64 = 0x40;
const PS: u64 = 0x80;

/// Root-table slot of the direct map and of the trampoline.
pub const PML4_DIRECT: usize = ((DIRECT_BASE >> 39) & 511) as usize;
pub const PML4_TRAMP: usize = ((TRAMPOLINE_VA >> 39) & 511) as usize;

fn w64(mem: &GuestMemoryMmap, pa: u64, v: u64) -> Result<(), VmmError> {
    mem.write_obj(v, GuestAddress(pa)).map_err(|e| VmmError::GuestMemory(e.to_string()))
}

/// Writes the kernel tables into guest RAM. Returns the root-table entries
/// every address space shares (the kernel half).
pub fn write_kernel(mem: &GuestMemoryMmap, ram: u64, shim: &ShimImage) -> Result<Vec<(usize, u64)>, VmmError> {
    // Direct map: 2 MiB supervisor pages over all of RAM.
    let gib = ram.div_ceil(1 << 30);
    for g in 0..gib {
        let pd = PD_DIRECT_PA + g * 0x1000;
        w64(mem, PDPT_DIRECT_PA + g * 8, pd | P | W | A)?;
        for i in 0..512u64 {
            let pa = (g << 30) + (i << 21);
            if pa < ram {
                w64(mem, pd + i * 8, pa | P | W | A | D | PS)?;
            }
        }
    }
    // The trampoline: one user-executable, read-only page.
    let pdpt_i = (TRAMPOLINE_VA >> 30) & 511;
    let pd_i = (TRAMPOLINE_VA >> 21) & 511;
    let pt_i = (TRAMPOLINE_VA >> 12) & 511;
    w64(mem, PDPT_TRAMP_PA + pdpt_i * 8, PD_TRAMP_PA | P | W | U | A)?;
    w64(mem, PD_TRAMP_PA + pd_i * 8, PT_TRAMP_PA | P | W | U | A)?;
    w64(mem, PT_TRAMP_PA + pt_i * 8, TRAMPOLINE_PA | P | U | A)?;
    mem.write_slice(&shim.trampoline, GuestAddress(TRAMPOLINE_PA)).map_err(|e| VmmError::GuestMemory(e.to_string()))?;

    // GDT in Linux's layout.
    let gdt: [u64; 8] = [0, 0, 0x00af9b000000ffff, 0x00cf93000000ffff, 0x00cffb000000ffff, 0x00cff3000000ffff, 0x00affb000000ffff, 0];
    for (i, d) in gdt.iter().enumerate() {
        w64(mem, GDT_PA + i as u64 * 8, *d)?;
    }
    let tss = kva(TSS_PA);
    let limit = 103u64;
    let lo = (limit & 0xffff) | ((tss & 0xff_ffff) << 16) | (0x89 << 40) | (((tss >> 24) & 0xff) << 56);
    w64(mem, GDT_PA + 0x40, lo)?;
    w64(mem, GDT_PA + 0x48, tss >> 32)?;
    // TSS: RSP0 and IST1 share the exception stack; IST2 for #DF/NMI/#MC.
    w64(mem, TSS_PA + 4, kva(IST1_TOP))?;
    w64(mem, TSS_PA + 36, kva(IST1_TOP))?;
    w64(mem, TSS_PA + 44, kva(IST2_TOP))?;
    mem.write_obj(104u16, GuestAddress(TSS_PA + 102)).map_err(|e| VmmError::GuestMemory(e.to_string()))?;
    // IDT: every exception to its stub; int3/into may be raised from ring 3.
    for v in 0..32u8 {
        let h = shim.stub(v);
        let ist: u64 = if matches!(v, 2 | 8 | 18) { 2 } else { 1 };
        let typ: u64 = if matches!(v, 3 | 4) { 0xee } else { 0x8e };
        let lo = (h & 0xffff) | ((sel::KERNEL_CS as u64) << 16) | (ist << 32) | (typ << 40) | (((h >> 16) & 0xffff) << 48);
        w64(mem, IDT_PA + v as u64 * 16, lo)?;
        w64(mem, IDT_PA + v as u64 * 16 + 8, h >> 32)?;
    }
    Ok(vec![(PML4_DIRECT, PDPT_DIRECT_PA | P | W | A), (PML4_TRAMP, PDPT_TRAMP_PA | P | W | U | A)])
}

/// Points IDT `vector` at `handler` (ring 3 may raise it; IST1).
pub fn point_vector_at(mem: &GuestMemoryMmap, vector: u8, handler: u64) -> Result<(), VmmError> {
    let lo = (handler & 0xffff) | ((sel::KERNEL_CS as u64) << 16) | (1 << 32) | (0xee << 40) | (((handler >> 16) & 0xffff) << 48);
    w64(mem, IDT_PA + vector as u64 * 16, lo)?;
    w64(mem, IDT_PA + vector as u64 * 16 + 8, handler >> 32)
}

fn seg(selector: u16, typ: u8, dpl: u8, long: bool) -> kvm_segment {
    segment(selector, typ, dpl, long)
}

/// A flat segment as `init_vcpu` loads them (also used to put the vCPU back
/// at CPL 0 after an interruption in ring 3).
pub fn segment(selector: u16, typ: u8, dpl: u8, long: bool) -> kvm_segment {
    kvm_segment {
        base: 0,
        limit: 0xffff_ffff,
        selector,
        type_: typ,
        present: 1,
        dpl,
        db: if long { 0 } else { 1 },
        s: 1,
        l: long as u8,
        g: 1,
        avl: 0,
        unusable: 0,
        padding: 0,
    }
}

/// The guest's CPUID: a fixed minimal model, read from the host once.
///
/// The guest needs long mode, NX, SYSCALL, FXSR/SSE/SSE2 and the address
/// sizes; nothing else is offered (no XSAVE, no AVX, no hypervisor leaves), so
/// every guest sees the same small CPU wherever it runs, which snapshots and
/// forks rely on. It also spares the slow KVM_GET_SUPPORTED_CPUID ioctl.
pub fn guest_cpuid() -> Result<kvm_bindings::CpuId, VmmError> {
    use core::arch::x86_64::__cpuid_count;
    use kvm_bindings::kvm_cpuid_entry2;
    let leaf = |l: u32| __cpuid_count(l, 0);
    let l0 = leaf(0);
    let l1 = leaf(1);
    let e0 = leaf(0x8000_0000);
    let entry = |function: u32, eax: u32, ebx: u32, ecx: u32, edx: u32| kvm_cpuid_entry2 {
        function,
        index: 0,
        flags: 0,
        eax,
        ebx,
        ecx,
        edx,
        padding: [0; 3],
    };
    // Leaf 1 EDX: FPU, VME.., keep x87/TSC/MSR/PAE/CX8/SEP/PGE/CMOV/PAT/CLFSH/MMX/FXSR/SSE/SSE2.
    const EDX1: u32 = 1
        | (1 << 4)
        | (1 << 5)
        | (1 << 6)
        | (1 << 8)
        | (1 << 11)
        | (1 << 13)
        | (1 << 15)
        | (1 << 16)
        | (1 << 19)
        | (1 << 23)
        | (1 << 24)
        | (1 << 25)
        | (1 << 26);
    // Leaf 1 ECX: SSE3, SSSE3, CX16, SSE4.1, SSE4.2, POPCNT (ring 3 runs natively).
    const ECX1: u32 = 1 | (1 << 9) | (1 << 13) | (1 << 19) | (1 << 20) | (1 << 23);
    let mut entries = vec![
        entry(0, 1.min(l0.eax), l0.ebx, l0.ecx, l0.edx),
        entry(1, l1.eax, l1.ebx & 0x0000_ffff, l1.ecx & ECX1, l1.edx & EDX1),
        entry(0x8000_0000, 0x8000_0008.min(e0.eax), 0, 0, 0),
    ];
    if e0.eax >= 0x8000_0008 {
        let e1 = leaf(0x8000_0001);
        let e8 = leaf(0x8000_0008);
        // SYSCALL (11), NX (20), LM (29); LAHF (0) in ECX.
        entries.push(entry(0x8000_0001, e1.eax, 0, e1.ecx & 1, e1.edx & ((1 << 11) | (1 << 20) | (1 << 29))));
        entries.push(entry(0x8000_0008, e8.eax & 0xffff, 0, 0, 0));
    }
    kvm_bindings::CpuId::from_entries(&entries).map_err(|_| InternalError::KvmTable("CPUID").into())
}

/// AT_HWCAP for the guest: CPUID.1:EDX of the guest CPU model.
pub fn guest_hwcap() -> u64 {
    guest_cpuid().ok().and_then(|c| c.as_slice().iter().find(|e| e.function == 1).map(|e| e.edx as u64)).unwrap_or(0)
}

/// Puts the vCPU in long mode at CPL 0, about to `iretq` into ring 3 through
/// the frame the caller writes, with `cr3` loaded.
pub fn init_vcpu(vcpu: &VcpuFd, shim: &ShimImage, cr3: u64) -> Result<(), VmmError> {
    vcpu.set_cpuid2(&guest_cpuid()?).map_err(|e| VmmError::KvmIoctl("KVM_SET_CPUID2", e))?;
    let mut s: kvm_sregs = vcpu.get_sregs().map_err(|e| VmmError::KvmIoctl("KVM_GET_SREGS", e))?;
    s.cr0 = 0x8001_0033; // PG | WP | NE | ET | MP | PE
    s.cr4 = 0x620; // OSXMMEXCPT | OSFXSR | PAE
    s.efer = 0xd01; // NXE | LMA | LME | SCE
    s.cr3 = cr3;
    s.cs = seg(sel::KERNEL_CS, 11, 0, true);
    s.ss = seg(sel::KERNEL_DS, 3, 0, false);
    let user_data = seg(sel::USER_DS, 3, 3, false);
    s.ds = user_data;
    s.es = user_data;
    s.fs = user_data;
    s.gs = user_data;
    s.gdt = kvm_dtable { base: kva(GDT_PA), limit: 79, padding: [0; 3] };
    s.idt = kvm_dtable { base: kva(IDT_PA), limit: 32 * 16 - 1, padding: [0; 3] };
    s.tr = kvm_segment {
        base: kva(TSS_PA),
        limit: 103,
        selector: sel::TSS,
        type_: 11,
        present: 1,
        dpl: 0,
        db: 0,
        s: 0,
        l: 0,
        g: 0,
        avl: 0,
        unusable: 0,
        padding: 0,
    };
    vcpu.set_sregs(&s).map_err(|e| VmmError::KvmIoctl("KVM_SET_SREGS", e))?;
    let msrs = Msrs::from_entries(&[
        // STAR: kernel CS 0x10, user base 0x23 (sysret: CS 0x33, SS 0x2b).
        kvm_msr_entry { index: 0xc000_0081, data: (0x23u64 << 48) | (0x10u64 << 32), ..Default::default() },
        // LSTAR: the trampoline.
        kvm_msr_entry { index: 0xc000_0082, data: TRAMPOLINE_VA, ..Default::default() },
        // SFMASK: TF | DF | IF | IOPL | AC | NT, as Linux.
        kvm_msr_entry { index: 0xc000_0084, data: 0x47700, ..Default::default() },
    ])
    .map_err(|_| InternalError::KvmTable("MSR"))?;
    vcpu.set_msrs(&msrs).map_err(|e| VmmError::KvmIoctl("KVM_SET_MSRS", e))?;
    let regs = kvm_regs { rip: shim.iretq(), rsp: kva(FRAME_RIP), rflags: 2, ..Default::default() };
    vcpu.set_regs(&regs).map_err(|e| VmmError::KvmIoctl("KVM_SET_REGS", e))?;
    Ok(())
}
