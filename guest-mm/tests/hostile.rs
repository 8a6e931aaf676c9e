//! Hostile syscall arguments (issue item 12): random sequences of the memory
//! syscalls with arguments drawn from the values that break arithmetic
//! (0, page +- 1, TASK_SIZE +- a page, 2^63, u64::MAX, unaligned and wrapping
//! lengths, unknown flag bits) must never panic, must leave the engine
//! consistent (check_invariants after every call), must only answer with the
//! errno values Linux documents for that call, and must not leak a frame once
//! the spaces are gone.
mod common;

use common::seeds;
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
    Mseal(u64, u64, u64),
    Mincore(u64, u64),
    Msync(u64, u64, u64),
    Brk(u64),
    BrkBase(u64),
    Rlimits(u64, u64, u64, u64),
    Stack(u64, u64, bool),
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
        (edge(), edge(), prop_oneof![Just(0u64), flags()]).prop_map(|(a, l, f)| Call::Mseal(a, l, f)),
        (edge(), edge()).prop_map(|(a, l)| Call::Mincore(a, l)),
        (edge(), edge(), prop_oneof![0u64..8, flags()]).prop_map(|(a, l, f)| Call::Msync(a, l, f)),
        edge().prop_map(Call::Brk),
        edge().prop_map(Call::BrkBase),
        (edge(), edge(), edge(), edge()).prop_map(|(s, d, m, a)| Call::Rlimits(s, d, m, a)),
        (edge(), edge(), any::<bool>()).prop_map(|(t, u, x)| Call::Stack(t, u, x)),
    ]
}

use guest_mm::errno::consts::*;

/// The errno values each call may answer with (its Linux man page).
fn allowed(c: &Call) -> &'static [Errno] {
    match c {
        Call::Mmap { .. } => &[EACCES, EBADF, EEXIST, EINVAL, ENODEV, ENOMEM, EOVERFLOW, EPERM, EOPNOTSUPP, EAGAIN],
        Call::Munmap(..) => &[EINVAL, ENOMEM, EPERM],
        Call::Mprotect(..) => &[EACCES, EINVAL, ENOMEM, EPERM],
        Call::Mremap(..) => &[EAGAIN, EFAULT, EINVAL, ENOMEM, EPERM],
        Call::Madvise(..) => &[EAGAIN, EBADF, EFAULT, EINVAL, EIO, ENOMEM, EPERM],
        Call::Mlock2(..) => &[EAGAIN, EINVAL, ENOMEM, EPERM],
        Call::Munlock(..) => &[EAGAIN, EINVAL, ENOMEM, EPERM],
        Call::Remap(..) => &[EINVAL, ENOMEM, EOVERFLOW, EACCES, EPERM],
        Call::Truncate(_) => &[EFBIG, EINVAL],
        Call::Fork => &[ENOMEM, EAGAIN],
        Call::Touch(..) => &[],
        Call::Mseal(..) => &[EINVAL, ENOMEM, EPERM],
        Call::Mincore(..) => &[EAGAIN, EFAULT, EINVAL, ENOMEM],
        Call::Msync(..) => &[EBUSY, EINVAL, ENOMEM],
        // brk answers with an address, never an errno.
        Call::Brk(_) => &[],
        Call::BrkBase(_) | Call::Rlimits(..) => &[EINVAL],
        // exec fails with these when the stack cannot be set up.
        Call::Stack(..) => &[E2BIG, EFAULT, EINVAL, ENOMEM],
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
            Call::Mseal(a, l, f) => applied!(cpu, e, e.mseal(s, a, l, f)),
            Call::Mincore(a, l) => {
                // As the kernel runs it: rounds of at most a page of entries, in
                // order, into a user vector of at most 1 MiB (a guest's vector is
                // finite: the first round past its end is EFAULT).
                const VECTOR: u64 = 1 << 20;
                let (mut next, mut bad) = (0u64, None);
                let r = e.mincore_chunks(s, a, l, |i, chunk| {
                    if i != next || chunk.is_empty() || chunk.len() as u64 > PAGE_SIZE || chunk.iter().any(|b| *b > 1) {
                        bad = Some((i, chunk.len()));
                    }
                    next = i + chunk.len() as u64;
                    if next > VECTOR {
                        return Err(Errno::EFAULT);
                    }
                    Ok(())
                });
                if let Some(b) = bad {
                    return Err(format!("{c:?}: bad round {b:?}"));
                }
                if r.is_ok() && next != l.div_ceil(PAGE_SIZE) && next <= VECTOR {
                    return Err(format!("{c:?}: {next} entries"));
                }
                r
            }
            Call::Msync(a, l, f) => applied!(cpu, e, e.msync(s, a, l, f)),
            Call::Brk(v) => {
                let before = e.space(s).map(|x| x.brk_range());
                let got = applied!(cpu, e, e.brk(s, v));
                let after = e.space(s).map(|x| x.brk_range());
                if after.map(|a| a.1) != Some(got) || (got != v && before != after) {
                    return Err(format!("{c:?}: returned {got:#x}, break {before:x?} -> {after:x?}"));
                }
                Ok(())
            }
            Call::BrkBase(v) => e.set_brk_base(s, VirtAddr::new(v)),
            Call::Rlimits(st, d, m, a) => {
                // Soft limits at or below the hard ones, as setrlimit allows.
                let rl = |v: u64| guest_mm::Rlimit { cur: v, max: v.max(v.wrapping_mul(2)) };
                e.set_rlimits(s, guest_mm::Rlimits { stack: rl(st), data: rl(d), memlock: rl(m), address_space: rl(a) })
            }
            Call::Stack(top, used, x) => applied!(cpu, e, e.setup_arg_pages(s, top, used, x)).map(drop),
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

/// Cases per run: from the fixed seed, and from a rotating one (see common::seeds).
const FIXED_CASES: u32 = 2000;
const ROTATING_CASES: u32 = 1000;

fn hostile_case(calls: &[(usize, Call)]) -> Result<(), TestCaseError> {
    let mut e = engine_with(8, guest_mm::FaultAround { file_pages: 16, anon_pages: 16 });
    let mut cpu = SimCpu::new();
    let s = space(&mut e, &mut cpu);
    let memfd = e.create_memfd("hostile");
    applied!(cpu, e, e.truncate(memfd, 8 * PAGE_SIZE)).unwrap();
    let mut w = World { e, cpu, spaces: vec![s], memfd };
    for (space, c) in calls {
        w.run(*space, c).map_err(TestCaseError::fail)?;
    }
    for s in std::mem::take(&mut w.spaces) {
        w.e.destroy_space(s).map_err(|err| TestCaseError::fail(err.to_string()))?;
        w.e.check_invariants().map_err(|err| TestCaseError::fail(err.to_string()))?;
    }
    let counts = w.e.frame_counts();
    prop_assert_eq!(counts.anon, 0, "anonymous frames leaked: {:?}", counts);
    Ok(())
}

proptest! {
    #![proptest_config(seeds::config("hostile_arguments", "fixed", seeds::FIXED_SEED, seeds::cases(FIXED_CASES)))]

    #[test]
    fn hostile_arguments_never_panic_or_corrupt_the_engine(calls in prop::collection::vec((0usize..4, call()), 1..40)) {
        hostile_case(&calls)?;
    }
}

proptest! {
    #![proptest_config(seeds::config("hostile_arguments", "rotating", seeds::rotating_seed(), seeds::cases(ROTATING_CASES)))]

    #[test]
    fn hostile_arguments_from_a_new_seed_never_panic_or_corrupt_the_engine(calls in prop::collection::vec((0usize..4, call()), 1..40)) {
        hostile_case(&calls)?;
    }
}
