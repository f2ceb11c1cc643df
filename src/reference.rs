//! Plain-Rust reference implementations of every GPU kernel, written for clarity: the GPU results
//! are tested against these. Each function has the name of the WGSL entry point it mirrors.

use rayon::prelude::*;

use crate::model::{Conv, Gdn, Layer, Transform};
use crate::tensor::Tensor;

/// `conv.wgsl` / `deconv.wgsl`: convolution or transposed convolution, with bias, optional |x| on
/// the input and optional ReLU.
pub fn conv2d(input: &Tensor, conv: &Conv) -> Tensor {
    assert_eq!(input.channels, conv.in_channels, "conv input channels");
    let (oh, ow) = conv.output_size(input.height, input.width);
    let plane = oh * ow;
    let mut out = Tensor::zeros(conv.out_channels, oh, ow);
    out.data
        .par_chunks_mut(plane)
        .enumerate()
        .for_each(|(o, dst)| {
            dst.fill(conv.bias[o]);
            for i in 0..conv.in_channels {
                for ky in 0..conv.kernel {
                    for kx in 0..conv.kernel {
                        let w = conv.w(o, i, ky, kx);
                        for oy in 0..oh {
                            let Some(iy) = source_index(conv, oy, ky, input.height) else {
                                continue;
                            };
                            for ox in 0..ow {
                                let Some(ix) = source_index(conv, ox, kx, input.width) else {
                                    continue;
                                };
                                let mut v = input.at(i, iy, ix);
                                if conv.abs_input {
                                    v = v.abs();
                                }
                                dst[oy * ow + ox] += w * v;
                            }
                        }
                    }
                }
            }
            if conv.relu {
                dst.iter_mut().for_each(|v| *v = v.max(0.0));
            }
        });
    out
}

/// The input coordinate that output coordinate `o` reads through tap `k`, if any.
#[inline]
fn source_index(conv: &Conv, o: usize, k: usize, size: usize) -> Option<usize> {
    crate::model::conv_source_index(conv.stride, conv.pad, conv.transposed, o, k, size)
}

/// `gdn.wgsl`: GDN or inverse GDN.
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

/// `elementwise.wgsl` `scale_round`: `round(y * gain[c])`, ties to even.
pub fn scale_round(input: &Tensor, gain: &[f32]) -> Tensor {
    let mut out = scale(input, gain);
    out.data.iter_mut().for_each(|v| *v = v.round_ties_even());
    out
}

/// `elementwise.wgsl` `scale`: `y * gain[c]`.
pub fn scale(input: &Tensor, gain: &[f32]) -> Tensor {
    assert_eq!(input.channels, gain.len(), "one gain per channel");
    let plane = input.height * input.width;
    let mut out = input.clone();
    for (c, chunk) in out.data.chunks_mut(plane).enumerate() {
        chunk.iter_mut().for_each(|v| *v *= gain[c]);
    }
    out
}

/// `image.wgsl` `rgba8_to_tensor`: RGBA8 pixels to a 3-channel tensor of `height` x `width`,
/// replicate-padded beyond the image.
pub fn rgba8_to_tensor(
    rgba: &[u8],
    img_w: usize,
    img_h: usize,
    width: usize,
    height: usize,
) -> Tensor {
    let mut t = Tensor::zeros(3, height, width);
    for y in 0..height {
        for x in 0..width {
            let s = (y.min(img_h - 1) * img_w + x.min(img_w - 1)) * 4;
            for c in 0..3 {
                t.data[(c * height + y) * width + x] = rgba[s + c] as f32 / 255.0;
            }
        }
    }
    t
}

/// `image.wgsl` `tensor_to_rgba8`: the top-left `img_w` x `img_h` of a 3-channel tensor as RGBA8.
pub fn tensor_to_rgba8(t: &Tensor, img_w: usize, img_h: usize) -> Vec<u8> {
    let mut out = vec![255u8; img_w * img_h * 4];
    for y in 0..img_h {
        for x in 0..img_w {
            for c in 0..3 {
                let v = t.at(c, y, x).clamp(0.0, 1.0) * 255.0;
                out[(y * img_w + x) * 4 + c] = v.round() as u8;
            }
        }
    }
    out
}

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
