//! `shop`: the duet demo app. `shop serve` (the default) runs every surface on one port;
//! `shop --help` lists the other commands and every setting.

fn main() -> std::process::ExitCode {
    duet::cli::run(shop::app())
}
