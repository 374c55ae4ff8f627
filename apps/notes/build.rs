//! diesel embeds the migrations that exist when the crate is compiled: a migration written
//! since (by `notes makemigrations`) must make the next `cargo build` compile the crate again.
#![allow(clippy::print_stdout)] // Cargo reads a build script's instructions from its standard output.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
