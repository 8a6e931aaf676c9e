//! `ulib`: the runtime of our ring-3 guest programs.
//!
//! Every program built on it is a static Linux x86-64 executable that talks to
//! its kernel only through the `syscall` instruction with Linux's numbers,
//! registers and errno convention. Inside the microVM the host engine answers;
//! run natively on Linux, the Linux kernel answers. That is what makes the host
//! kernel usable as an oracle for the same program.
#![no_std]

pub mod args;
pub mod io;
pub mod probe;
pub mod rt;
pub mod scenario;
pub mod sys;

pub use args::Args;
