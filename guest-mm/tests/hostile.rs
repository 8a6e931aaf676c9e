//! Hostile syscall arguments (issue item 12): random sequences of the memory
//! syscalls with arguments drawn from the values that break arithmetic
//! (0, page +- 1, TASK_SIZE +- a page, 2^63, u64::MAX, unaligned and wrapping
//! lengths, unknown flag bits) must never panic, must leave the engine
//! consistent (check_invariants after every call), must only answer with the
//! errno values Linux documents for that call, and must not leak a frame once
//! the spaces are gone.
mod common;

use common::*;
use guest_mm::ops::mmap::{MapFile, MmapArgs};
use guest_mm::sim::SimCpu;
use guest_mm::{AsId, Errno, ObjectId, VirtAddr, PAGE_SIZE, TASK_SIZE};
use proptest::prelude::*;

/// Values that sit on the edges of every check the syscalls make.
fn edge() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(PAGE_SIZE - 1),
        Just(PAGE_SIZE),
        Just(PAGE_SIZE + 1),
        Just(16 * PAGE_SIZE),
        Just(TASK_SIZE - PAGE_SIZE),
        Just(TASK_SIZE),
        Just(TASK_SIZE + PAGE_SIZE),
        Just(1 << 47),
        Just(1 << 63),
        Just(u64::MAX),
        Just(u64::MAX - PAGE_SIZE + 1),
        Just(0x7fff_f000_0000),
        any::<u64>(),
        (0u64..64).prop_map(|p| p * PAGE_SIZE),
        (0u64..64 * PAGE_SIZE),
    ]
}

/// Flag words: known bits, unknown bits, and everything set.
fn flags() -> impl Strategy<Value = u64> {
    prop_oneof![(0u64..0x20_0000), Just(1u64 << 33), Just(0x1_0000_0001), Just(u64::MAX), any::<u64>(), (0u64..64).prop_map(|b| 1u64 << b)]
}

#[derive(Clone, Debug)]
enum Call {
    Mmap { addr: u64, len: u64, prot: u64, flags: u64, fd: bool, off: u64 },
    Munmap(u64, u64),
    Mprotect(u64, u64, u64),
    Mremap(u64, u64, u64, u64, u64),
    Madvise(u64, u64, u64),
    Mlock2(u64, u64, u64),
    Munlock(u64, u64),
    Remap(u64, u64, u64, u64, u64),
    Truncate(u64),
    Fork,
    Touch(u64, bool),
}

fn call() -> impl Strategy<Value = Call> {
    prop_oneof![
        (edge(), edge(), flags(), flags(), any::<bool>(), edge()).prop_map(|(addr, len, prot, flags, fd, off)| Call::Mmap {
            addr,
            len,
            prot,
            flags,
            fd,
            off
        }),
        (edge(), edge()).prop_map(|(a, l)| Call::Munmap(a, l)),
        (edge(), edge(), flags()).prop_map(|(a, l, p)| Call::Mprotect(a, l, p)),
        (edge(), edge(), edge(), flags(), edge()).prop_map(|(a, o, n, f, d)| Call::Mremap(a, o, n, f, d)),
        (edge(), edge(), prop_oneof![0u64..30, 100u64..110, any::<u64>()]).prop_map(|(a, l, adv)| Call::Madvise(a, l, adv)),
        (edge(), edge(), flags()).prop_map(|(a, l, f)| Call::Mlock2(a, l, f)),
        (edge(), edge()).prop_map(|(a, l)| Call::Munlock(a, l)),
        (edge(), edge(), flags(), edge(), flags()).prop_map(|(a, l, p, o, f)| Call::Remap(a, l, p, o, f)),
        edge().prop_map(Call::Truncate),
        Just(Call::Fork),
        (edge(), any::<bool>()).prop_map(|(a, w)| Call::Touch(a, w)),
    ]
}

use guest_mm::errno::consts::*;

/// The errno values each call may answer with (its Linux man page).
fn allowed(c: &Call) -> &'static [Errno] {
    match c {
        Call::Mmap { .. } => &[EACCES, EBADF, EEXIST, EINVAL, ENODEV, ENOMEM, EOVERFLOW, EPERM, EOPNOTSUPP, EAGAIN],
        Call::Munmap(..) => &[EINVAL, ENOMEM],
        Call::Mprotect(..) => &[EACCES, EINVAL, ENOMEM],
        Call::Mremap(..) => &[EAGAIN, EFAULT, EINVAL, ENOMEM],
        Call::Madvise(..) => &[EAGAIN, EBADF, EFAULT, EINVAL, EIO, ENOMEM, EPERM],
        Call::Mlock2(..) => &[EAGAIN, EINVAL, ENOMEM, EPERM],
        Call::Munlock(..) => &[EAGAIN, EINVAL, ENOMEM, EPERM],
        Call::Remap(..) => &[EINVAL, ENOMEM, EOVERFLOW, EACCES, EPERM],
        Call::Truncate(_) => &[EFBIG, EINVAL],
        Call::Fork => &[ENOMEM, EAGAIN],
        Call::Touch(..) => &[],
    }
}

struct World {
    e: guest_mm::Engine<Mem>,
    cpu: SimCpu,
    spaces: Vec<AsId>,
    memfd: ObjectId,
}

impl World {
    fn run(&mut self, space: usize, c: &Call) -> Result<(), String> {
        let s = self.spaces[space % self.spaces.len()];
        let (cpu, e) = (&mut self.cpu, &mut self.e);
        let r: Result<(), Errno> = match *c {
            Call::Mmap { addr, len, prot, flags, fd, off } => {
                let file = if fd { MapFile::Open { obj: self.memfd, read: true, write: true } } else { MapFile::None };
                applied!(cpu, e, e.mmap(s, MmapArgs { addr, len, prot, flags, file, offset: off })).map(drop)
            }
            Call::Munmap(a, l) => applied!(cpu, e, e.munmap(s, a, l)),
            Call::Mprotect(a, l, p) => applied!(cpu, e, e.mprotect(s, a, l, p)),
            Call::Mremap(a, o, n, f, d) => applied!(cpu, e, e.mremap(s, a, o, n, f, d)).map(drop),
            Call::Madvise(a, l, adv) => applied!(cpu, e, e.madvise(s, a, l, adv)),
            Call::Mlock2(a, l, f) => applied!(cpu, e, e.mlock2(s, a, l, f)),
            Call::Munlock(a, l) => applied!(cpu, e, e.munlock(s, a, l)),
            Call::Remap(a, l, p, o, f) => applied!(cpu, e, e.remap_file_pages(s, a, l, p, o, f)),
            Call::Truncate(len) => applied!(cpu, e, e.truncate(self.memfd, len)),
            Call::Fork => {
                let r = applied!(cpu, e, e.fork(s));
                if let Ok(child) = r {
                    self.spaces.push(child);
                }
                r.map(drop)
            }
            Call::Touch(a, write) => {
                // A ring-3 access anywhere: a signal is a fine answer, an engine error is not.
                let va = VirtAddr::new(a);
                let r = if write { cpu.write_u8(e, s, va, 0x5a).map(drop) } else { cpu.read_u8(e, s, va).map(drop) };
                r.map_err(|err| format!("{c:?}: engine error {err}"))?;
                Ok(())
            }
        };
        self.e.check_invariants().map_err(|err| format!("{c:?}: invariants: {err}"))?;
        match r {
            Err(errno) if !allowed(c).contains(&errno) => Err(format!("{c:?}: {errno:?} is not an errno Linux documents for this call")),
            _ => Ok(()),
        }
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(128)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn hostile_arguments_never_panic_or_corrupt_the_engine(calls in prop::collection::vec((0usize..4, call()), 1..40)) {
        let mut e = engine_with(8, guest_mm::FaultAround { file_pages: 16, anon_pages: 16 });
        let mut cpu = SimCpu::new();
        let s = space(&mut e, &mut cpu);
        let memfd = e.create_memfd("hostile");
        applied!(cpu, e, e.truncate(memfd, 8 * PAGE_SIZE)).unwrap();
        let mut w = World { e, cpu, spaces: vec![s], memfd };
        for (space, c) in &calls {
            w.run(*space, c).map_err(TestCaseError::fail)?;
        }
        for s in std::mem::take(&mut w.spaces) {
            w.e.destroy_space(s).map_err(|err| TestCaseError::fail(err.to_string()))?;
            w.e.check_invariants().map_err(|err| TestCaseError::fail(err.to_string()))?;
        }
        let counts = w.e.frame_counts();
        prop_assert_eq!(counts.anon, 0, "anonymous frames leaked: {:?}", counts);
    }
}
