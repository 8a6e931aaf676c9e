//! Serde for the KVM structures a checkpoint carries (kvm-bindings' own
//! serde feature would pull another dependency for two plain structs).
//!
//! Owns the field-by-field mirrors of `kvm_regs` and `kvm_fpu`, and helpers
//! for the containers the kernel keeps them in. The fields are exactly
//! kvm-bindings', so a new field there fails to compile here instead of being
//! silently dropped.

use kvm_bindings::{kvm_fpu, kvm_regs};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Serialize, Deserialize)]
#[serde(remote = "kvm_regs")]
pub struct Regs {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rsp: u64,
    pub rbp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub rflags: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "kvm_fpu")]
pub struct Fpu {
    pub fpr: [[u8; 16]; 8],
    pub fcw: u16,
    pub fsw: u16,
    pub ftwx: u8,
    pub pad1: u8,
    pub last_opcode: u16,
    pub last_ip: u64,
    pub last_dp: u64,
    pub xmm: [[u8; 16]; 16],
    pub mxcsr: u32,
    pub pad2: u32,
}

/// A `kvm_fpu` by value, for containers.
#[derive(Serialize, Deserialize)]
pub struct FpuBox(#[serde(with = "Fpu")] pub kvm_fpu);

/// Serde for `Option<Box<kvm_fpu>>`.
pub mod opt_fpu {
    use super::*;
    pub fn serialize<S: Serializer>(v: &Option<Box<kvm_fpu>>, s: S) -> Result<S::Ok, S::Error> {
        v.as_ref().map(|f| FpuBox(**f)).serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Box<kvm_fpu>>, D::Error> {
        Ok(Option::<FpuBox>::deserialize(d)?.map(|f| Box::new(f.0)))
    }
}

/// Serde for `Vec<Box<kvm_fpu>>`.
pub mod fpu_vec {
    use super::*;
    pub fn serialize<S: Serializer>(v: &[Box<kvm_fpu>], s: S) -> Result<S::Ok, S::Error> {
        v.iter().map(|f| FpuBox(**f)).collect::<Vec<_>>().serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Box<kvm_fpu>>, D::Error> {
        Ok(Vec::<FpuBox>::deserialize(d)?.into_iter().map(|f| Box::new(f.0)).collect())
    }
}

/// Serde for arrays longer than serde's 32: a sequence of exactly `N`.
pub mod array {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    pub fn serialize<S: Serializer, T: Serialize, const N: usize>(a: &[T; N], s: S) -> Result<S::Ok, S::Error> {
        a.as_slice().serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>, const N: usize>(d: D) -> Result<[T; N], D::Error> {
        let v: Vec<T> = Vec::deserialize(d)?;
        let len = v.len();
        v.try_into().map_err(|_| D::Error::invalid_length(len, &"a full array"))
    }
}
