//! Embeds the trained model files that a repository may or may not have:
//! the encoder's LoRA adapters (`models/adapters/adapters.safetensors`,
//! written by `replyd train --adapters`) and the ensemble's second member
//! (`models/second/adapters/` and `models/second/heads/`). A build without
//! them still works: `include_bytes!` alone cannot be made conditional on a
//! file existing.

use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    // Directories, not files: cargo treats a missing path as changed and
    // would rerun (and rebuild the crate) on every build.
    for dir in [
        "models/adapters",
        "models/second",
        "models/second/adapters",
        "models/second/heads",
    ] {
        println!("cargo:rerun-if-changed={dir}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    write_include(
        &out.join("builtin_adapters.rs"),
        "BUILTIN: Option<&[u8]>",
        &[&root.join("models/adapters/adapters.safetensors")],
    );
    write_include(
        &out.join("builtin_second.rs"),
        "BUILTIN_SECOND: Option<(&[u8], &[u8])>",
        &[
            &root.join("models/second/adapters/adapters.safetensors"),
            &root.join("models/second/heads/heads.safetensors"),
        ],
    );
}

/// Writes `static {declaration} = Some(...)` with the files' bytes (a tuple
/// when there are several) when all of them exist, else `None`.
fn write_include(out: &Path, declaration: &str, files: &[&Path]) {
    let value = if files.iter().all(|f| f.is_file()) {
        let includes: Vec<String> = files
            .iter()
            .map(|f| format!("include_bytes!({:?})", f.display().to_string()))
            .collect();
        match includes.as_slice() {
            [one] => format!("Some({one})"),
            many => format!("Some(({}))", many.join(", ")),
        }
    } else {
        "None".to_owned()
    };
    let code = format!("static {declaration} = {value};\n");
    // Rewriting identical content would still look like a change.
    if std::fs::read_to_string(out).ok().as_deref() != Some(code.as_str()) {
        std::fs::write(out, code).expect("writing the generated include");
    }
}
