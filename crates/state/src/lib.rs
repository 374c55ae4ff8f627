//! duet's event-state protocol: server-side state whose changes reach the browser as
//! minimal deltas.
//!
//! This crate is under construction. For now it holds only the pure delta engine,
//! [`delta`]: computing the smallest set of changes between two snapshots of a state's
//! variables ([`diff_state`], [`diff_var`]) and applying them ([`apply_state`],
//! [`apply_var`]).

pub mod delta;

pub use delta::{Delta, DeltaError, ListOp, VarOp, apply_state, apply_var, diff_state, diff_var};
