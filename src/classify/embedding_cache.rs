//! The embedding cache: every text's embedding computed once per encoder
//! and kept on disk, keyed by the text's SHA-256. The daemon reads the
//! risk exemplars' embeddings through it at start, and `replyd train`
//! every labelled row's, so a rerun only embeds what changed.

use std::collections::{HashMap, HashSet};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Width of multilingual-e5-small's embedding, and so of the cache records.
pub const EMBED_DIM: usize = super::model::DIM;
/// Texts handed to the encoder per call (and appended to the cache per write).
const EMBED_BATCH: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("encoder failed: {0}")]
    Embed(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + '_ {
    move |source| CacheError::Io {
        path: path.display().to_string(),
        source,
    }
}

pub fn text_hash(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// Embeddings already computed, in `{cache_dir}/embeddings-{encoder_id}.bin`:
/// records of `[sha256(text) 32 bytes][EMBED_DIM × f32 LE]`, appended as
/// they are computed so an interrupted run keeps its work.
pub struct EmbeddingCache {
    path: PathBuf,
    map: HashMap<[u8; 32], Vec<f32>>,
}

const RECORD: usize = 32 + 4 * EMBED_DIM;

impl EmbeddingCache {
    pub fn open(cache_dir: &Path, encoder_id: &str) -> Result<Self, CacheError> {
        std::fs::create_dir_all(cache_dir).map_err(io_err(cache_dir))?;
        let path = cache_dir.join(format!("embeddings-{encoder_id}.bin"));
        let mut map = HashMap::new();
        if path.exists() {
            let bytes = std::fs::read(&path).map_err(io_err(&path))?;
            for rec in bytes.chunks_exact(RECORD) {
                let mut key = [0u8; 32];
                key.copy_from_slice(&rec[..32]);
                let v = rec[32..]
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                map.insert(key, v);
            }
            // A run killed mid-write leaves a partial record; drop it so the
            // next append stays aligned.
            let whole = (bytes.len() / RECORD * RECORD) as u64;
            if whole != bytes.len() as u64 {
                let f = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(io_err(&path))?;
                f.set_len(whole).map_err(io_err(&path))?;
            }
        }
        Ok(EmbeddingCache { path, map })
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn get(&self, text: &str) -> Option<&[f32]> {
        self.map.get(&text_hash(text)).map(Vec::as_slice)
    }

    /// Embeds the texts not cached yet; returns how many it embedded.
    pub fn fill(
        &mut self,
        texts: &[&str],
        embed: &mut dyn FnMut(&[&str]) -> Result<Vec<Vec<f32>>, String>,
    ) -> Result<usize, CacheError> {
        let mut seen = HashSet::new();
        let missing: Vec<&str> = texts
            .iter()
            .copied()
            .filter(|t| !self.map.contains_key(&text_hash(t)) && seen.insert(*t))
            .collect();
        if missing.is_empty() {
            return Ok(0);
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io_err(&self.path))?;
        for (n, chunk) in missing.chunks(EMBED_BATCH).enumerate() {
            let vectors = embed(chunk).map_err(CacheError::Embed)?;
            if vectors.len() != chunk.len() {
                return Err(CacheError::Embed(format!(
                    "asked for {} embeddings, got {}",
                    chunk.len(),
                    vectors.len()
                )));
            }
            let mut buf = Vec::with_capacity(chunk.len() * RECORD);
            for (text, v) in chunk.iter().zip(vectors) {
                if v.len() != EMBED_DIM {
                    return Err(CacheError::Embed(format!(
                        "embedding has {} dimensions, expected {EMBED_DIM}",
                        v.len()
                    )));
                }
                let key = text_hash(text);
                buf.extend_from_slice(&key);
                buf.extend(v.iter().flat_map(|x| x.to_le_bytes()));
                self.map.insert(key, v);
            }
            file.write_all(&buf).map_err(io_err(&self.path))?;
            if n % 20 == 0 {
                tracing::info!(
                    done = n * EMBED_BATCH + chunk.len(),
                    of = missing.len(),
                    "embedding"
                );
            }
        }
        Ok(missing.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constant_embed(texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
        Ok(texts.iter().map(|_| vec![0.5; EMBED_DIM]).collect())
    }

    #[test]
    fn cache_survives_a_torn_write() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = EmbeddingCache::open(dir.path(), "x").unwrap();
        cache
            .fill(&["a", "b"], &mut |t: &[&str]| constant_embed(t))
            .unwrap();
        let path = dir.path().join("embeddings-x.bin");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[1, 2, 3]).unwrap();
        drop(f);
        let mut cache = EmbeddingCache::open(dir.path(), "x").unwrap();
        assert_eq!(cache.len(), 2);
        assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, 2 * RECORD);
        let n = cache
            .fill(&["a", "c"], &mut |t: &[&str]| constant_embed(t))
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(EmbeddingCache::open(dir.path(), "x").unwrap().len(), 3);
    }
}
