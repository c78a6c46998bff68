//! The safetensors plumbing shared by the small files replyd builds into
//! its binary, the heads and the encoder adapters: both are written as F16
//! (or F32) and read back as f32 whichever of the two a file holds.

use std::collections::HashMap;

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensorError};

/// `(name, dtype, shape, little-endian bytes)`: one tensor to write.
pub(crate) type RawTensor = (String, Dtype, Vec<usize>, Vec<u8>);

pub(crate) fn serialize(
    tensors: &[RawTensor],
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>, SafeTensorError> {
    let views = tensors
        .iter()
        .map(|(name, dtype, shape, data)| {
            TensorView::new(*dtype, shape.clone(), data).map(|v| (name.clone(), v))
        })
        .collect::<Result<Vec<_>, _>>()?;
    safetensors::tensor::serialize(views, Some(metadata))
}

pub(crate) fn f16_bytes(v: &[f32]) -> Vec<u8> {
    v.iter()
        .flat_map(|x| half::f16::from_f32(*x).to_le_bytes())
        .collect()
}

pub(crate) fn le_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The values of an F32 or F16 tensor; `None` for any other dtype.
pub(crate) fn floats(view: &TensorView<'_>) -> Option<Vec<f32>> {
    match view.dtype() {
        Dtype::F32 => Some(
            view.data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        ),
        Dtype::F16 => Some(
            view.data()
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
        ),
        _ => None,
    }
}
