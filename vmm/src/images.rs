//! The guest image embedded at build time (see build.rs): the shim and the
//! ring-3 programs that `vmm run --program NAME` can start.

include!(concat!(env!("OUT_DIR"), "/guest_images.rs"));

/// The ELF of program `name`, if it is built in.
pub fn program(name: &str) -> Option<&'static [u8]> {
    PROGRAMS.iter().find(|(n, _, _)| *n == name).map(|(_, _, b)| *b)
}

/// Names of the built-in programs.
pub fn program_names() -> Vec<&'static str> {
    PROGRAMS.iter().map(|(n, _, _)| *n).collect()
}
