//! Engine images (whole-VM checkpoints): an engine rebuilt from an image over
//! a copy of guest memory behaves like the original, the two stay
//! independent although they share storage until written, and the image
//! survives encoding (what a snapshot file holds).
mod common;

use common::*;
use guest_mm::ops::map;
use guest_mm::ops::mmap::MmapArgs;
use guest_mm::sim::SimCpu;
use guest_mm::vma::Prot;
use guest_mm::{AsId, Engine, EngineImage, VirtAddr, PAGE_SIZE};
use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap};

fn prepared() -> (Engine<Mem>, SimCpu, AsId, VirtAddr) {
    let mut e = engine();
    let mut cpu = SimCpu::new();
    let p = space(&mut e, &mut cpu);
    let a = MmapArgs { flags: map::PRIVATE | map::ANONYMOUS, ..MmapArgs::anon(64 * PAGE_SIZE, Prot::READ | Prot::WRITE) };
    let a = applied!(cpu, e, e.mmap(p, a)).unwrap();
    for i in 0..32 {
        assert_eq!(cpu.write_u8(&mut e, p, a.add(i * PAGE_SIZE), i as u8 + 1).unwrap(), None);
    }
    (e, cpu, p, a)
}

/// A byte-for-byte copy of `e`'s guest memory (what a forked VM's
/// copy-on-write view or a restored snapshot shows).
fn copy_memory(e: &Engine<Mem>) -> Mem {
    let size = e.memory().last_addr().0 + 1;
    let mut bytes = vec![0u8; size as usize];
    e.memory().read_slice(&mut bytes, GuestAddress(0)).unwrap();
    let m = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), size as usize)]).unwrap();
    m.write_slice(&bytes, GuestAddress(0)).unwrap();
    m
}

fn check_twin(mut e: Engine<Mem>, mut cpu: SimCpu, p: AsId, a: VirtAddr, image: EngineImage) {
    // A new VM: its own memory copy and an MMU with nothing cached.
    let mut twin = Engine::from_image(copy_memory(&e), image);
    let mut tcpu = SimCpu::new();
    twin.check_invariants().unwrap();
    for i in 0..32 {
        assert_eq!(tcpu.read_u8(&mut twin, p, a.add(i * PAGE_SIZE)).unwrap(), Ok(i as u8 + 1));
    }
    // Both write: a page written before (in place), and fresh pages (new
    // frames, new tables' entries): each sees only its own writes.
    for (eng, c, v) in [(&mut e, &mut cpu, 100u8), (&mut twin, &mut tcpu, 200u8)] {
        assert_eq!(c.write_u8(eng, p, a, v).unwrap(), None);
        assert_eq!(c.write_u8(eng, p, a.add(40 * PAGE_SIZE), v + 1).unwrap(), None);
        eng.check_invariants().unwrap();
    }
    assert_eq!(cpu.read_u8(&mut e, p, a).unwrap(), Ok(100));
    assert_eq!(tcpu.read_u8(&mut twin, p, a).unwrap(), Ok(200));
    assert_eq!(cpu.read_u8(&mut e, p, a.add(40 * PAGE_SIZE)).unwrap(), Ok(101));
    assert_eq!(tcpu.read_u8(&mut twin, p, a.add(40 * PAGE_SIZE)).unwrap(), Ok(201));
    // Unmapping in one leaves the other's mapping (shared table nodes are
    // copied on first change).
    applied!(cpu, e, e.munmap(p, a.as_u64(), 64 * PAGE_SIZE)).unwrap();
    assert_eq!(tcpu.read_u8(&mut twin, p, a.add(5 * PAGE_SIZE)).unwrap(), Ok(6));
    twin.check_invariants().unwrap();
    e.check_invariants().unwrap();
}

#[test]
fn an_engine_rebuilt_from_its_image_behaves_like_the_original_and_stays_independent() {
    let (e, cpu, p, a) = prepared();
    let image = e.image();
    check_twin(e, cpu, p, a, image);
}

#[test]
fn an_engine_image_survives_encoding_and_garbage_is_refused() {
    let (e, cpu, p, a) = prepared();
    let bytes = bincode::serialize(&e.image()).unwrap();
    let image: EngineImage = bincode::deserialize(&bytes).unwrap();
    assert_eq!(bincode::serialize(&image).unwrap(), bytes, "decode then encode is the identity");
    check_twin(e, cpu, p, a, image);
    // Truncated or damaged encodings fail to decode; they never panic.
    for cut in [1, 8, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        assert!(bincode::deserialize::<EngineImage>(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    for at in (0..bytes.len()).step_by(bytes.len() / 97 + 1) {
        let mut b = bytes.clone();
        b[at] ^= 0xff;
        let _ = bincode::deserialize::<EngineImage>(&b);
    }
}

#[test]
fn an_image_whose_frame_records_stay_encoded_behaves_like_one_decoded_at_once() {
    let (e, cpu, p, a) = prepared();
    let bytes: std::sync::Arc<Vec<u8>> = std::sync::Arc::new(bincode::serialize(&e.image()).unwrap());
    let src: guest_mm::cowvec::Source = bytes.clone();
    let image: EngineImage = guest_mm::frames::decode_lazily_from(src, || bincode::deserialize(&bytes[..]).unwrap());
    assert!(Engine::from_image(copy_memory(&e), image.clone()).frames().encoded_chunks() > 0, "nothing decoded yet");
    assert_eq!(bincode::serialize(&image).unwrap(), *bytes, "the records decode to what was encoded");
    check_twin(e, cpu, p, a, image);
    // Damage is refused when the image is decoded (the validating pass), not
    // when a chunk is first used: forcing every record never panics.
    for at in (0..bytes.len()).step_by(bytes.len() / 97 + 1) {
        let mut b = (*bytes).clone();
        b[at] ^= 0xff;
        let b = std::sync::Arc::new(b);
        let src: guest_mm::cowvec::Source = b.clone();
        if let Ok(image) = guest_mm::frames::decode_lazily_from(src, || bincode::deserialize::<EngineImage>(&b[..])) {
            let _ = bincode::serialize(&image);
        }
    }
}
