//! `vmm snapshot` and `vmm restore`.
use crate::cli::{RestoreArgs, SnapshotArgs};
use crate::error::VmmError;

pub fn snapshot(_a: &SnapshotArgs) -> Result<i32, VmmError> {
    Err(VmmError::Internal("not yet".into()))
}

pub fn restore(_a: &RestoreArgs) -> Result<i32, VmmError> {
    Err(VmmError::Internal("not yet".into()))
}
