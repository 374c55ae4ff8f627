//! The development session key, generated once and kept in a private file.

use std::path::Path;

use crate::Error;
use crate::settings::MIN_SECRET_LEN;

/// Reads the development key from `path`, generating it on first use.
pub(crate) fn development_key(path: &Path) -> Result<Vec<u8>, Error> {
    let problem = |e: std::io::Error| Error::setting("DUET_SECRET_KEY", format!("unset, and {}: {e}", path.display()));
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim();
        if existing.len() >= MIN_SECRET_LEN {
            tracing::warn!(file = %path.display(), "DUET_SECRET_KEY is unset: using the development key");
            return Ok(existing.as_bytes().to_vec());
        }
    }
    let mut bytes = [0u8; 64];
    getrandom::fill(&mut bytes).map_err(|e| Error::setting("DUET_SECRET_KEY", format!("no randomness: {e}")))?;
    let key = hex::encode(bytes);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(problem)?;
    }
    write_private(path, &key).map_err(problem)?;
    tracing::warn!(file = %path.display(), "DUET_SECRET_KEY is unset: generated a development key");
    Ok(key.into_bytes())
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}
