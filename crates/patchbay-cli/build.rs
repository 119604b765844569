//! Names the commit the binary is built from, for `patchbay --version`:
//! `PATCHBAY_BUILD_COMMIT` when the builder sets it (a source tarball has no
//! git history to ask), else the checkout's `HEAD`, else `unknown`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-env-changed=PATCHBAY_BUILD_COMMIT");
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let commit = match std::env::var("PATCHBAY_BUILD_COMMIT") {
        Ok(commit) if !commit.trim().is_empty() => commit.trim().to_owned(),
        _ => git_commit(&manifest_dir).unwrap_or_else(|| "unknown".to_owned()),
    };
    println!("cargo::rustc-env=PATCHBAY_COMMIT={commit}");
}

/// `HEAD` of the checkout this crate is in, abbreviated; `None` without git,
/// or when the nearest repository is another one (a tarball unpacked inside
/// some unrelated checkout must not borrow its commit).
fn git_commit(manifest_dir: &Path) -> Option<String> {
    let workspace_root = manifest_dir.parent()?.parent()?;
    let toplevel = git(manifest_dir, &["rev-parse", "--show-toplevel"])?;
    if Path::new(&toplevel).canonicalize().ok()? != workspace_root.canonicalize().ok()? {
        return None;
    }
    // Build again when HEAD moves: a commit, a checkout, a branch update.
    // Only files that exist are named, since Cargo re-runs the script on
    // every build for a missing one.
    let mut watched = vec![git(manifest_dir, &["rev-parse", "--git-path", "HEAD"])?];
    if let Some(branch) = git(manifest_dir, &["symbolic-ref", "-q", "HEAD"]) {
        watched.push(git(manifest_dir, &["rev-parse", "--git-path", &branch])?);
    }
    watched.push(git(
        manifest_dir,
        &["rev-parse", "--git-path", "packed-refs"],
    )?);
    for path in watched {
        let path = manifest_dir.join(path);
        if path.exists() {
            println!("cargo::rerun-if-changed={}", path.display());
        }
    }
    git(manifest_dir, &["rev-parse", "--short=12", "HEAD"])
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}
