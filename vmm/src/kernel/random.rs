//! The guest's randomness: getrandom and AT_RANDOM.
//!
//! Owns one generator per VM: xoshiro256** seeded from the host's entropy
//! (getrandom), or from `vmm run --seed N` for reproducible runs (the seed
//! is expanded with SplitMix64, as xoshiro's authors recommend). A VM
//! forked or restored from a checkpoint goes on from the generator's state
//! at the checkpoint.

/// xoshiro256** state.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rng {
    s: [u64; 4],
}

fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator whose output is a function of `seed`.
    pub fn from_seed(seed: u64) -> Rng {
        let mut x = seed;
        Rng { s: [splitmix(&mut x), splitmix(&mut x), splitmix(&mut x), splitmix(&mut x)] }
    }

    /// A generator seeded from the host's entropy.
    pub fn from_host() -> Rng {
        let mut b = [0u8; 8];
        // SAFETY: getrandom writes at most 8 bytes into the buffer we own.
        let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
        let seed = if n == 8 { u64::from_le_bytes(b) } else { std::time::SystemTime::now().elapsed().map_or(0, |d| d.as_nanos() as u64) };
        Rng::from_seed(seed ^ u64::from(std::process::id()))
    }

    pub fn next_u64(&mut self) -> u64 {
        let r = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        r
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for c in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            c.copy_from_slice(&v[..c.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_reproduces_the_stream_and_different_seeds_differ() {
        let (mut a, mut b, mut c) = (Rng::from_seed(7), Rng::from_seed(7), Rng::from_seed(8));
        let (mut x, mut y, mut z) = ([0u8; 21], [0u8; 21], [0u8; 21]);
        a.fill(&mut x);
        b.fill(&mut y);
        c.fill(&mut z);
        assert_eq!(x, y);
        assert_ne!(x, z);
    }
}
