//! Page tables in guest RAM: entry encoding, the per-space table tree, and the
//! update batch that carries live changes to the guest.

pub mod gather;
pub mod pte;
pub mod tables;

pub use gather::{FlushPlan, Outcome, PteStore, PteUpdates};
pub use pte::{Marker, MarkerKind, PageProt, Pte, PteFlags, PteKind};
pub use tables::{Ctx, LeafEntry, PageTables, PagingError};
