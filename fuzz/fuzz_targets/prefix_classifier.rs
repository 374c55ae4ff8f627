//! Any request path: classified once, without a panic; a path that is not valid UTF-8 after
//! percent-decoding, or has a control character, is never the SPA's.
#![no_main]

use std::sync::OnceLock;

use duet_mount::{PrefixTable, Target};
use libfuzzer_sys::fuzz_target;

fn table() -> &'static PrefixTable {
    static TABLE: OnceLock<PrefixTable> = OnceLock::new();
    TABLE.get_or_init(|| PrefixTable::new(["/api", "/webhooks", "/admin"]).expect("a valid table"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let target = table().classify(path);
    if path.contains(|c: char| c.is_control()) {
        assert!(matches!(target, Target::Invalid(_)), "{path:?} → {target:?}");
    }
    if matches!(target, Target::CatchAll) {
        assert!(path.starts_with('/'), "{path:?}");
    }
    // The answer depends on the path alone.
    assert_eq!(table().classify(path), target);
});
