//! LoRA adapters for the encoder's linear layers (Hu et al., 2021).
//!
//! An adapted linear layer `W [out, in]` carries two small matrices,
//! `A [r, in]` and `B [out, r]`, and computes with `W + (alpha / r)·B·A`.
//! The encoder adds that product to its dequantized weight once, at load
//! (`encoder/weights.rs`), so an adapted encoder costs per message exactly what the
//! base one does; only `replyd train --adapters` (`training/finetune/`) keeps A and
//! B apart, to learn them.
//!
//! File layout (safetensors, F16 or F32): for every adapted layer `i` and
//! target `t` in `qkv` (the fused Q/K/V weight, `[3H, H]`), `attn_out`
//! (`[H, H]`), `ffn_in` (`[FF, H]`) and `ffn_out` (`[H, FF]`), the tensors
//! `layers.{i}.{t}.lora_a` `[r, in]` and `layers.{i}.{t}.lora_b` `[out, r]`.
//! The metadata holds `format` (`replyd-adapters/1`), `rank`, `alpha`,
//! `hidden`, `intermediate` and `layers` (the adapted layers,
//! comma-separated): with the layers listed, a lost tensor is an error
//! rather than a layer silently left alone, and the shapes are checked
//! before the encoder is built.
//!
//! The adapters shipped in the binary are `models/adapters/adapters.safetensors`
//! when the repository has one (`build.rs` generates the include).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::{Device, Tensor};
use safetensors::{Dtype, SafeTensors};
use sha2::{Digest, Sha256};

use super::e5s1::Config;
use crate::classify::tensor_file::{f16_bytes, floats, le_bytes, serialize, RawTensor};

/// The file `load_dir` reads and `replyd train --adapters` writes.
pub const ADAPTERS_FILE: &str = "adapters.safetensors";
const FORMAT: &str = "replyd-adapters/1";

// `BUILTIN: Option<&[u8]>`, the repository's adapters file if it has one.
include!(concat!(env!("OUT_DIR"), "/builtin_adapters.rs"));

/// `Clone` because it travels inside `ModelError`, which is cloned to every
/// request of a failed batch.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AdapterError {
    #[error("cannot read adapters file {path}: {msg}")]
    Io { path: String, msg: String },
    #[error("not a valid adapters file: {0}")]
    Format(String),
    #[error("adapters file metadata `{key}`: {msg}")]
    Metadata { key: &'static str, msg: String },
    #[error("adapters file has no tensor `{0}`")]
    MissingTensor(String),
    #[error("adapters file has tensor `{0}` for a layer its metadata does not list")]
    UnexpectedTensor(String),
    #[error("adapter tensor `{name}` has shape {actual:?}, expected {expected:?}")]
    Shape {
        name: String,
        actual: Vec<usize>,
        expected: Vec<usize>,
    },
    #[error("adapter tensor `{name}` has dtype {dtype}, expected F32 or F16")]
    Dtype { name: String, dtype: String },
    #[error("adapter tensor `{0}` holds a value that is not finite")]
    NotFinite(String),
    #[error("adapters do not fit this encoder: {0}")]
    Mismatch(String),
}

/// The linear layers of a BERT layer that adapters can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// Q, K and V fused, as the encoder runs them.
    Qkv,
    AttnOut,
    FfnIn,
    FfnOut,
}

impl Target {
    /// In the order [`LayerAdapters`] holds them.
    pub const ALL: [Target; 4] = [Target::Qkv, Target::AttnOut, Target::FfnIn, Target::FfnOut];

    pub fn name(self) -> &'static str {
        match self {
            Target::Qkv => "qkv",
            Target::AttnOut => "attn_out",
            Target::FfnIn => "ffn_in",
            Target::FfnOut => "ffn_out",
        }
    }

    /// `(out, in)` of the weight this target adapts.
    pub fn dims(self, hidden: usize, intermediate: usize) -> (usize, usize) {
        match self {
            Target::Qkv => (3 * hidden, hidden),
            Target::AttnOut => (hidden, hidden),
            Target::FfnIn => (intermediate, hidden),
            Target::FfnOut => (hidden, intermediate),
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// One adapted weight's factors, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct LowRank {
    /// `[r, in]`.
    pub a: Vec<f32>,
    /// `[out, r]`.
    pub b: Vec<f32>,
}

/// The four adapted weights of one layer, indexed like [`Target::ALL`].
pub type LayerAdapters = [LowRank; 4];

#[derive(Debug, Clone, PartialEq)]
pub struct Adapters {
    rank: usize,
    alpha: f32,
    hidden: usize,
    intermediate: usize,
    layers: BTreeMap<usize, LayerAdapters>,
}

/// How `to_safetensors` stores the factors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoredAs {
    /// Half the size; rounding A and B to F16 moves an embedding far less
    /// than the encoder's own 4-bit weights do.
    F16,
    F32,
}

fn tensor_name(layer: usize, target: Target, factor: &str) -> String {
    format!("layers.{layer}.{}.lora_{factor}", target.name())
}

impl Adapters {
    /// Checks every factor's size against `rank` and the layer dimensions.
    pub fn new(
        rank: usize,
        alpha: f32,
        hidden: usize,
        intermediate: usize,
        layers: BTreeMap<usize, LayerAdapters>,
    ) -> Result<Adapters, AdapterError> {
        if rank == 0 {
            return Err(AdapterError::Metadata {
                key: "rank",
                msg: "must be at least 1".into(),
            });
        }
        if !alpha.is_finite() {
            return Err(AdapterError::Metadata {
                key: "alpha",
                msg: format!("{alpha} is not finite"),
            });
        }
        for (&layer, factors) in &layers {
            for target in Target::ALL {
                let (out, inputs) = target.dims(hidden, intermediate);
                let f = &factors[target.index()];
                for (factor, values, shape) in
                    [("a", &f.a, [rank, inputs]), ("b", &f.b, [out, rank])]
                {
                    let name = tensor_name(layer, target, factor);
                    if values.len() != shape[0] * shape[1] {
                        return Err(AdapterError::Shape {
                            name,
                            actual: vec![values.len()],
                            expected: shape.to_vec(),
                        });
                    }
                    if values.iter().any(|v| !v.is_finite()) {
                        return Err(AdapterError::NotFinite(name));
                    }
                }
            }
        }
        Ok(Adapters {
            rank,
            alpha,
            hidden,
            intermediate,
            layers,
        })
    }

    pub fn rank(&self) -> usize {
        self.rank
    }

    pub fn alpha(&self) -> f32 {
        self.alpha
    }

    /// The factor `B·A` is multiplied by.
    pub fn scale(&self) -> f32 {
        self.alpha / self.rank as f32
    }

    /// The same adapters with `B·A` scaled by `factor` (through alpha): a
    /// factor under 1 merges only part of what fine-tuning changed.
    pub fn scaled(mut self, factor: f32) -> Result<Self, AdapterError> {
        let alpha = self.alpha * factor;
        if !alpha.is_finite() || alpha <= 0.0 {
            return Err(AdapterError::Metadata {
                key: "alpha",
                msg: format!("scaling alpha {} by {factor} gives {alpha}", self.alpha),
            });
        }
        self.alpha = alpha;
        Ok(self)
    }

    /// The adapted layers, ascending.
    pub fn layer_indices(&self) -> Vec<usize> {
        self.layers.keys().copied().collect()
    }

    pub fn get(&self, layer: usize, target: Target) -> Option<&LowRank> {
        self.layers.get(&layer).map(|f| &f[target.index()])
    }

    /// No layer adapted: the encoder runs as if there were no adapters.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// `scale·B·A` `[out, in]`, the change to the weight, if that layer is
    /// adapted.
    pub fn delta(
        &self,
        layer: usize,
        target: Target,
        dev: &Device,
    ) -> candle_core::Result<Option<Tensor>> {
        let Some(f) = self.get(layer, target) else {
            return Ok(None);
        };
        let (out, inputs) = target.dims(self.hidden, self.intermediate);
        let a = Tensor::from_slice(&f.a, (self.rank, inputs), dev)?;
        let b = Tensor::from_slice(&f.b, (out, self.rank), dev)?;
        Ok(Some((b.matmul(&a)? * f64::from(self.scale()))?))
    }

    /// Whether these adapters were made for a model shaped like `cfg`.
    pub fn check_fits(&self, cfg: &Config) -> Result<(), AdapterError> {
        if (self.hidden, self.intermediate) != (cfg.hidden, cfg.intermediate) {
            return Err(AdapterError::Mismatch(format!(
                "made for hidden {} / intermediate {}, the model has {} / {}",
                self.hidden, self.intermediate, cfg.hidden, cfg.intermediate
            )));
        }
        if let Some(&last) = self.layers.keys().next_back() {
            if last >= cfg.layers {
                return Err(AdapterError::Mismatch(format!(
                    "adapt layer {last}, the model has {} layers",
                    cfg.layers
                )));
            }
        }
        Ok(())
    }

    /// A hash of the adapters' content (not of a file's bytes, so the same
    /// adapters stored as F32 or re-saved keep one name). Names the adapted
    /// encoder wherever embeddings are cached or heads are recorded.
    pub fn id(&self) -> String {
        let mut h = Sha256::new();
        h.update(FORMAT.as_bytes());
        for v in [self.rank, self.hidden, self.intermediate] {
            h.update((v as u64).to_le_bytes());
        }
        h.update(self.alpha.to_le_bytes());
        for (layer, factors) in &self.layers {
            h.update((*layer as u64).to_le_bytes());
            for f in factors {
                h.update(le_bytes(&f.a));
                h.update(le_bytes(&f.b));
            }
        }
        hex::encode(&h.finalize()[..8])
    }

    /// The file layout described in the module documentation, with `extra`
    /// added to the metadata.
    pub fn to_safetensors(
        &self,
        stored: StoredAs,
        extra: HashMap<String, String>,
    ) -> Result<Vec<u8>, AdapterError> {
        let dtype = match stored {
            StoredAs::F16 => Dtype::F16,
            StoredAs::F32 => Dtype::F32,
        };
        let bytes = |v: &[f32]| match stored {
            StoredAs::F16 => f16_bytes(v),
            StoredAs::F32 => le_bytes(v),
        };
        let mut tensors: Vec<RawTensor> = Vec::new();
        for (&layer, factors) in &self.layers {
            for target in Target::ALL {
                let (out, inputs) = target.dims(self.hidden, self.intermediate);
                let f = &factors[target.index()];
                tensors.push((
                    tensor_name(layer, target, "a"),
                    dtype,
                    vec![self.rank, inputs],
                    bytes(&f.a),
                ));
                tensors.push((
                    tensor_name(layer, target, "b"),
                    dtype,
                    vec![out, self.rank],
                    bytes(&f.b),
                ));
            }
        }
        let mut metadata = extra;
        let layers: Vec<String> = self.layers.keys().map(usize::to_string).collect();
        for (key, value) in [
            ("format", FORMAT.to_owned()),
            ("rank", self.rank.to_string()),
            ("alpha", self.alpha.to_string()),
            ("hidden", self.hidden.to_string()),
            ("intermediate", self.intermediate.to_string()),
            ("layers", layers.join(",")),
        ] {
            metadata.insert(key.to_owned(), value);
        }
        serialize(&tensors, metadata).map_err(|e| AdapterError::Format(e.to_string()))
    }

    pub fn from_safetensors(bytes: &[u8]) -> Result<Adapters, AdapterError> {
        let (_, header) =
            SafeTensors::read_metadata(bytes).map_err(|e| AdapterError::Format(e.to_string()))?;
        let st =
            SafeTensors::deserialize(bytes).map_err(|e| AdapterError::Format(e.to_string()))?;
        let metadata = header.metadata().clone().unwrap_or_default();
        let get = |key: &'static str| {
            metadata.get(key).ok_or(AdapterError::Metadata {
                key,
                msg: "missing".into(),
            })
        };
        let format = get("format")?;
        if format != FORMAT {
            return Err(AdapterError::Metadata {
                key: "format",
                msg: format!("{format:?}, expected {FORMAT:?}"),
            });
        }
        let number = |key: &'static str| -> Result<usize, AdapterError> {
            let v = get(key)?;
            v.parse().map_err(|_| AdapterError::Metadata {
                key,
                msg: format!("{v:?} is not a count"),
            })
        };
        let (rank, hidden, intermediate) =
            (number("rank")?, number("hidden")?, number("intermediate")?);
        let alpha_text = get("alpha")?;
        let alpha: f32 = alpha_text.parse().map_err(|_| AdapterError::Metadata {
            key: "alpha",
            msg: format!("{alpha_text:?} is not a number"),
        })?;
        let listed = get("layers")?;
        let indices = listed
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.trim()
                    .parse::<usize>()
                    .map_err(|_| AdapterError::Metadata {
                        key: "layers",
                        msg: format!("{listed:?} is not a list of layer numbers"),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;

        let read = |name: String, shape: [usize; 2]| -> Result<Vec<f32>, AdapterError> {
            let view = st
                .tensor(&name)
                .map_err(|_| AdapterError::MissingTensor(name.clone()))?;
            if view.shape() != shape {
                return Err(AdapterError::Shape {
                    name,
                    actual: view.shape().to_vec(),
                    expected: shape.to_vec(),
                });
            }
            floats(&view).ok_or_else(|| AdapterError::Dtype {
                name,
                dtype: format!("{:?}", view.dtype()),
            })
        };
        let mut layers = BTreeMap::new();
        for &layer in &indices {
            let mut factors = Vec::with_capacity(4);
            for target in Target::ALL {
                let (out, inputs) = target.dims(hidden, intermediate);
                factors.push(LowRank {
                    a: read(tensor_name(layer, target, "a"), [rank, inputs])?,
                    b: read(tensor_name(layer, target, "b"), [out, rank])?,
                });
            }
            let factors: LayerAdapters = factors
                .try_into()
                .unwrap_or_else(|_| unreachable!("one entry per target"));
            layers.insert(layer, factors);
        }
        if st.len() != 8 * layers.len() {
            let known: std::collections::HashSet<String> = layers
                .keys()
                .flat_map(|&l| {
                    Target::ALL
                        .into_iter()
                        .flat_map(move |t| ["a", "b"].map(|f| tensor_name(l, t, f)))
                })
                .collect();
            if let Some(extra) = st.names().into_iter().find(|n| !known.contains(*n)) {
                return Err(AdapterError::UnexpectedTensor(extra.to_owned()));
            }
        }
        Adapters::new(rank, alpha, hidden, intermediate, layers)
    }

    /// Reads `adapters.safetensors` from a directory written by
    /// `replyd train --adapters`.
    pub fn load_dir(dir: &Path) -> Result<Adapters, AdapterError> {
        let path = dir.join(ADAPTERS_FILE);
        let bytes = std::fs::read(&path).map_err(|e| AdapterError::Io {
            path: path.display().to_string(),
            msg: e.to_string(),
        })?;
        Adapters::from_safetensors(&bytes)
    }

    /// The adapters compiled into the binary, if the repository had any
    /// when it was built.
    pub fn builtin() -> Result<Option<Adapters>, AdapterError> {
        BUILTIN.map(Adapters::from_safetensors).transpose()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    pub(crate) const H: usize = 384;
    pub(crate) const FF: usize = 1536;

    /// Adapters on `layers` with factors drawn uniformly in `±magnitude`.
    pub(crate) fn random_adapters(
        layers: &[usize],
        rank: usize,
        magnitude: f32,
        seed: u64,
    ) -> Adapters {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut draw = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| rng.gen_range(-magnitude..magnitude))
                .collect()
        };
        let map = layers
            .iter()
            .map(|&l| {
                let factors = Target::ALL.map(|t| {
                    let (out, inputs) = t.dims(H, FF);
                    LowRank {
                        a: draw(rank * inputs),
                        b: draw(out * rank),
                    }
                });
                (l, factors)
            })
            .collect();
        Adapters::new(rank, 2.0 * rank as f32, H, FF, map).unwrap()
    }

    #[test]
    fn round_trips_as_f32_and_f16() {
        let adapters = random_adapters(&[3, 11], 4, 0.1, 1);
        let bytes = adapters
            .to_safetensors(StoredAs::F32, HashMap::new())
            .unwrap();
        assert_eq!(Adapters::from_safetensors(&bytes).unwrap(), adapters);

        let bytes = adapters
            .to_safetensors(StoredAs::F16, HashMap::new())
            .unwrap();
        let back = Adapters::from_safetensors(&bytes).unwrap();
        assert_eq!(back.layer_indices(), vec![3, 11]);
        assert_eq!((back.rank(), back.alpha()), (4, 8.0));
        let (a, b) = (
            &adapters.get(11, Target::FfnOut).unwrap().b,
            &back.get(11, Target::FfnOut).unwrap().b,
        );
        assert!(a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4));
        // Two layers of rank 4 as F16: the factors and a small header.
        assert!(bytes.len() < 2 * 4 * 6144 * 2 + 4096, "{}", bytes.len());
        // The id follows the content, whatever the storage.
        assert_ne!(back.id(), adapters.id());
        assert_eq!(
            Adapters::from_safetensors(
                &back.to_safetensors(StoredAs::F32, HashMap::new()).unwrap()
            )
            .unwrap()
            .id(),
            back.id()
        );
    }

    #[test]
    fn scaling_scales_the_delta() {
        let ffn_in_delta = |a: &Adapters| -> Vec<f32> {
            let d = a.delta(0, Target::FfnIn, &Device::Cpu).unwrap().unwrap();
            d.flatten_all().unwrap().to_vec1().unwrap()
        };
        let adapters = random_adapters(&[0], 2, 0.5, 5);
        let half = adapters.clone().scaled(0.5).unwrap();
        assert_eq!(half.alpha(), adapters.alpha() / 2.0);
        assert_ne!(half.id(), adapters.id());
        let (full, d) = (ffn_in_delta(&adapters), ffn_in_delta(&half));
        assert!(full.iter().any(|v| v.abs() > 1e-3));
        assert!(full.iter().zip(&d).all(|(f, h)| (f / 2.0 - h).abs() < 1e-6));
        assert!(adapters.clone().scaled(0.0).is_err());
        assert!(adapters.scaled(f32::NAN).is_err());
    }

    #[test]
    fn delta_is_scaled_b_times_a() {
        let adapters = random_adapters(&[0], 2, 0.5, 2);
        let d = adapters
            .delta(0, Target::AttnOut, &Device::Cpu)
            .unwrap()
            .unwrap();
        assert_eq!(d.dims(), &[H, H]);
        let d: Vec<Vec<f32>> = d.to_vec2().unwrap();
        let f = adapters.get(0, Target::AttnOut).unwrap();
        for (o, i) in [(0, 0), (5, 17), (383, 200)] {
            let expect: f32 =
                (0..2).map(|k| f.b[o * 2 + k] * f.a[k * H + i]).sum::<f32>() * adapters.scale();
            assert!((d[o][i] - expect).abs() < 1e-5, "{} vs {expect}", d[o][i]);
        }
        assert!(adapters
            .delta(1, Target::Qkv, &Device::Cpu)
            .unwrap()
            .is_none());
    }

    #[test]
    fn names_the_missing_tensor_and_the_bad_shape() {
        let adapters = random_adapters(&[2], 4, 0.1, 3);
        let bytes = adapters
            .to_safetensors(StoredAs::F32, HashMap::new())
            .unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
        let metadata = header.metadata().clone().unwrap();
        // Rewrite the file with one tensor dropped, or one replaced.
        let rewrite = |skip: &str, replace: Option<RawTensor>| {
            let mut tensors: Vec<RawTensor> = st
                .tensors()
                .into_iter()
                .filter(|(n, _)| n != skip)
                .map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
                .collect();
            tensors.extend(replace);
            serialize(&tensors, metadata.clone()).unwrap()
        };

        let err = Adapters::from_safetensors(&rewrite("layers.2.ffn_in.lora_b", None)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "adapters file has no tensor `layers.2.ffn_in.lora_b`"
        );

        let wrong = (
            "layers.2.qkv.lora_b".to_owned(),
            Dtype::F32,
            vec![H, 4],
            le_bytes(&vec![0.0; H * 4]),
        );
        let err =
            Adapters::from_safetensors(&rewrite("layers.2.qkv.lora_b", Some(wrong))).unwrap_err();
        assert_eq!(
            err,
            AdapterError::Shape {
                name: "layers.2.qkv.lora_b".into(),
                actual: vec![H, 4],
                expected: vec![3 * H, 4],
            }
        );
        assert!(err.to_string().contains("[1152, 4]"), "{err}");

        let stray = (
            "layers.5.qkv.lora_a".to_owned(),
            Dtype::F32,
            vec![4, H],
            le_bytes(&vec![0.0; H * 4]),
        );
        let err = Adapters::from_safetensors(&rewrite("", Some(stray))).unwrap_err();
        assert_eq!(
            err,
            AdapterError::UnexpectedTensor("layers.5.qkv.lora_a".into())
        );

        assert!(matches!(
            Adapters::from_safetensors(b"nonsense").unwrap_err(),
            AdapterError::Format(_)
        ));
    }

    #[test]
    fn refuses_adapters_for_another_model() {
        let cfg = Config {
            version: 1,
            hidden: H,
            layers: 12,
            heads: 12,
            intermediate: FF,
            vocab: 250_002,
            max_positions: 512,
            type_vocab: 1,
            eps: 1e-12,
        };
        random_adapters(&[0, 11], 2, 0.1, 4)
            .check_fits(&cfg)
            .unwrap();
        let err = random_adapters(&[12], 2, 0.1, 4)
            .check_fits(&cfg)
            .unwrap_err();
        assert!(err.to_string().contains("layer 12"), "{err}");
        let small = Config {
            intermediate: 1024,
            ..cfg
        };
        assert!(matches!(
            random_adapters(&[0], 2, 0.1, 4).check_fits(&small),
            Err(AdapterError::Mismatch(_))
        ));
    }

    #[test]
    fn builtin_adapters_load_when_present() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("models/adapters")
            .join(ADAPTERS_FILE);
        let builtin = Adapters::builtin().unwrap();
        // build.rs must notice the file coming and going.
        assert_eq!(builtin.is_some(), file.exists());
        if let Some(adapters) = builtin {
            assert_eq!((adapters.hidden, adapters.intermediate), (H, FF));
        }
    }
}
