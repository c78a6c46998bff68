//! Embeds the encoder's LoRA adapters in the binary when the repository has
//! them (`models/adapters/adapters.safetensors`, written by
//! `replyd train --adapters`), and builds without them when it does not:
//! `include_bytes!` alone cannot be made conditional on a file existing.

use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let file = root.join("models/adapters/adapters.safetensors");
    // The directory, not the file: cargo treats a missing path as changed
    // and would rerun (and rebuild the crate) on every build.
    println!("cargo:rerun-if-changed=models/adapters");
    println!("cargo:rerun-if-changed=build.rs");
    let value = if file.is_file() {
        format!("Some(include_bytes!({:?}))", file.display().to_string())
    } else {
        "None".to_owned()
    };
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"))
        .join("builtin_adapters.rs");
    let code = format!("static BUILTIN: Option<&[u8]> = {value};\n");
    // Rewriting identical content would still look like a change.
    if std::fs::read_to_string(&out).ok().as_deref() != Some(code.as_str()) {
        std::fs::write(&out, code).expect("writing the generated include");
    }
}
