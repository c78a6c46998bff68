//! The labelled files: reading them, the form in which two texts are the
//! same message, and which texts the validation split holds.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::train::{io_err, TrainError};
use crate::classify::embedding_cache::text_hash;
use crate::domain::{Intent, Sentiment};

/// One labelled message.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Example {
    pub text: String,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default)]
    pub sentiment: Option<Sentiment>,
    #[serde(default)]
    pub intent: Option<Intent>,
    #[serde(default)]
    pub hate: Option<bool>,
    #[serde(default)]
    pub offensive: Option<bool>,
}

/// Provenance of a data file, for the manifest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileInfo {
    pub path: String,
    pub sha256: String,
    pub rows: usize,
    /// Rows that took part (all of them unless the run was `cached_only`).
    pub rows_used: usize,
    /// `train` or `eval`.
    pub role: &'static str,
}

/// The form in which two texts count as the same message: case and runs of
/// whitespace ignored. A few public rows sit in both a training and an
/// evaluation split; training skips every text an evaluation file holds.
pub fn text_key(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Reads a JSONL file of examples, hashing its bytes for the manifest.
pub fn read_examples(path: &Path) -> Result<(Vec<Example>, String), TrainError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(io_err(path))?;
    let sha = hex::encode(Sha256::digest(&bytes));
    let text = String::from_utf8(bytes).map_err(|e| TrainError::Parse {
        path: path.display().to_string(),
        line: 0,
        message: e.to_string(),
    })?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row: Example = serde_json::from_str(line).map_err(|e| TrainError::Parse {
            path: path.display().to_string(),
            line: i + 1,
            message: e.to_string(),
        })?;
        rows.push(row);
    }
    Ok((rows, sha))
}

/// Whether a text belongs to the validation split: a function of the text
/// alone, so duplicates land together and reruns split the same way.
pub fn in_validation(text: &str, fraction: f64, seed: u64) -> bool {
    let h = text_hash(text);
    let v = u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]) ^ seed;
    // Mix so the seed changes the split, then map to [0, 1).
    let mixed = v.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
    (mixed as f64 / (1u64 << 53) as f64) < fraction
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.jsonl");
        std::fs::write(&path, "{\"text\": \"ok\", \"intent\": \"question\"}\n{\"text\": \"x\", \"intent\": \"shouting\"}\n").unwrap();
        let err = read_examples(&path).unwrap_err().to_string();
        assert!(
            err.contains("bad.jsonl:2") && err.contains("shouting"),
            "{err}"
        );
    }
}
