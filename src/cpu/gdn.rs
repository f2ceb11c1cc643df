//! Twin of `gdn.wgsl` `gdn` (and gdn_subgroup.wgsl).

#[allow(unused_imports)] // the iterator traits rayon needs and wasm32's serial twins do not
use crate::parallel::*;

use crate::model::Gdn;
use crate::tensor::Tensor;

/// GDN (`x_i / sqrt(beta_i + sum_j gamma_ij x_j^2)`) or its inverse (multiply).
pub fn gdn(input: &Tensor, gdn: &Gdn) -> Tensor {
    assert_eq!(input.channels, gdn.channels, "gdn channels");
    let c = gdn.channels;
    let plane = input.height * input.width;
    let mut out = Tensor::zeros(c, input.height, input.width);
    out.data
        .par_chunks_mut(plane)
        .enumerate()
        .for_each(|(i, dst)| {
            for (px, d) in dst.iter_mut().enumerate() {
                let mut norm = gdn.beta[i];
                for j in 0..c {
                    let v = input.data[j * plane + px];
                    norm += gdn.gamma[i * c + j] * v * v;
                }
                let x = input.data[i * plane + px];
                *d = if gdn.inverse {
                    x * norm.sqrt()
                } else {
                    x / norm.sqrt()
                };
            }
        });
    out
}
