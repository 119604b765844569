//! Where the master key comes from: `PATCHBAY_MASTER_KEY`, else a key file,
//! generated on first start.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use patchbay_core::crypto::MasterKey;

pub fn load(key_file: &Path) -> anyhow::Result<MasterKey> {
    if let Ok(text) = std::env::var("PATCHBAY_MASTER_KEY") {
        return MasterKey::parse(&text).context("PATCHBAY_MASTER_KEY");
    }
    match std::fs::read_to_string(key_file) {
        Ok(text) => {
            crate::store::warn_if_open(key_file);
            MasterKey::parse(&text)
                .with_context(|| format!("the master key file {}", key_file.display()))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => generate(key_file),
        Err(err) => Err(err).with_context(|| format!("reading {}", key_file.display())),
    }
}

fn generate(key_file: &Path) -> anyhow::Result<MasterKey> {
    let key = MasterKey::generate();
    write_private(key_file, &format!("{}\n", key.to_base64().as_str()))?;
    tracing::warn!(
        path = %key_file.display(),
        "generated a new master key file. Every stored secret is encrypted under it: back it up, \
         and in production set PATCHBAY_MASTER_KEY from your secret manager instead"
    );
    Ok(key)
}

/// Writes a new file only its owner can read, creating missing directories
/// the same way; never overwrites one.
pub fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
