//! The CPU twin of every GPU kernel, one file per WGSL family and named after its entry points:
//! plain Rust written for clarity. They are the test oracle of the kernels (tests/kernels.rs,
//! tests/int_conv.rs) and the GPU-less decoder (`codec::decode_cpu`).

mod conv;
mod gdn;
mod image;
mod int_context;
mod int_conv;
pub(crate) mod latent_search;

pub use conv::conv2d;
pub use gdn::{gdn, igdn_backward};
pub use image::{merge_alpha, rgba8_to_tensor, tensor_to_rgba8};
pub use int_context::checkerboard_parameters;
pub use int_conv::{int_conv, scale_index};
pub use latent_search::{
    adam_step, distortion_grad, erfc, soft_round, soft_round_element, AdamState, SearchStep,
    SoftRounded, ADAM_BETA1, ADAM_BETA2,
};

use crate::model::{IntHyperSynthesis, Layer, Transform};
use crate::tensor::Tensor;

/// Runs one layer.
pub fn layer(input: &Tensor, layer: &Layer) -> Tensor {
    match layer {
        Layer::Conv(c) => conv2d(input, c),
        Layer::Gdn(g) => gdn(input, g),
    }
}

/// Runs a whole transform.
pub fn transform(input: &Tensor, t: &Transform) -> Tensor {
    t.layers.iter().fold(input.clone(), |x, l| layer(&x, l))
}

/// The integer h_s's output (M x 4h x 4w) from the z symbols (N x h x w, CHW), and its size.
pub fn int_hyper_features(
    net: &IntHyperSynthesis,
    symbols: &[i32],
    h: usize,
    w: usize,
) -> (Vec<i32>, (usize, usize)) {
    let mut x = net.input(symbols, h * w);
    let mut size = (h, w);
    for layer in &net.layers {
        let (out, oh, ow) = int_conv(&x, size.0, size.1, layer);
        x = out;
        size = (oh, ow);
    }
    (x, size)
}

/// The integer h_s of the scale hyperprior: scale-table indexes of y from the z symbols.
pub fn int_hyper_synthesis(
    net: &IntHyperSynthesis,
    symbols: &[i32],
    h: usize,
    w: usize,
) -> Vec<u8> {
    scale_index(&int_hyper_features(net, symbols, h, w).0, &net.thresholds)
}
