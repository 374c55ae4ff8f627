//! diesel embeds the framework's migrations when the crate is compiled: one added to
//! `migrations/` since must make the next build compile the crate again.
#![allow(clippy::print_stdout)] // Cargo reads a build script's instructions from its standard output.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
