//! Embeds the provider catalogue (`providers/*.yaml` at the workspace root) so the binary
//! carries it and needs no data directory at run time.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

fn main() {
    let manifest_dir =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let providers = manifest_dir.join("../../providers");
    // A directory here makes cargo rerun this script when any file in it changes or appears.
    println!("cargo:rerun-if-changed={}", providers.display());

    let mut files: Vec<PathBuf> = fs::read_dir(&providers)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();

    let mut code =
        String::from("/// `(file name, contents)` of every catalogue file, sorted by name.\n");
    code.push_str("pub(crate) static FILES: &[(&str, &str)] = &[\n");
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .expect("provider file names are UTF-8");
        let absolute = path.canonicalize().expect("a listed provider file exists");
        writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            absolute.display().to_string()
        )
        .expect("writing to a String cannot fail");
    }
    code.push_str("];\n");

    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("providers.rs");
    fs::write(out, code).expect("OUT_DIR is writable");
}
