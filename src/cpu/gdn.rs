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

/// Twin of `gdn_backward.wgsl`: the input gradient of IGDN at `input` for the output gradient
/// `grad`: `dx_k = g_k s_k + x_k sum_i gamma_ik g_i x_i / s_i`, `s_i = sqrt(beta_i + sum_j gamma_ij x_j^2)`.
pub fn igdn_backward(input: &Tensor, grad: &Tensor, gdn: &Gdn) -> Tensor {
    assert!(gdn.inverse, "igdn_backward of a GDN layer");
    let c = gdn.channels;
    let plane = input.height * input.width;
    let mut out = Tensor::zeros(c, input.height, input.width);
    let mut s = vec![0.0f32; c];
    let mut t = vec![0.0f32; c];
    for px in 0..plane {
        for i in 0..c {
            let mut norm = gdn.beta[i];
            for j in 0..c {
                let v = input.data[j * plane + px];
                norm += gdn.gamma[i * c + j] * v * v;
            }
            s[i] = norm.sqrt();
            let e = i * plane + px;
            t[i] = grad.data[e] * input.data[e] / s[i];
        }
        for (k, s_k) in s.iter().enumerate() {
            let e = k * plane + px;
            let u: f32 = (0..c).map(|i| gdn.gamma[i * c + k] * t[i]).sum();
            out.data[e] = grad.data[e] * s_k + input.data[e] * u;
        }
    }
    out
}
