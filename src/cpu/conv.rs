//! Twin of `conv.wgsl` `conv2d` and `deconv.wgsl` `conv_transpose2d` (and their subgroup variants).

#[allow(unused_imports)] // the iterator traits rayon needs and wasm32's serial twins do not
use crate::parallel::*;

use crate::model::Conv;
use crate::tensor::Tensor;

/// Convolution or transposed convolution, with bias and optional ReLU.
pub fn conv2d(input: &Tensor, conv: &Conv) -> Tensor {
    assert_eq!(input.channels, conv.in_channels, "conv input channels");
    let g = conv.geometry;
    let (oh, ow) = conv.output_size(input.height, input.width);
    let plane = oh * ow;
    let mut out = Tensor::zeros(conv.out_channels, oh, ow);
    out.data
        .par_chunks_mut(plane)
        .enumerate()
        .for_each(|(o, dst)| {
            dst.fill(conv.bias[o]);
            for i in 0..conv.in_channels {
                for ky in 0..g.kernel {
                    for kx in 0..g.kernel {
                        let w = conv.w(o, i, ky, kx);
                        for oy in 0..oh {
                            let Some(iy) = g.source_index(oy, ky, input.height) else {
                                continue;
                            };
                            for ox in 0..ow {
                                let Some(ix) = g.source_index(ox, kx, input.width) else {
                                    continue;
                                };
                                dst[oy * ow + ox] += w * input.at(i, iy, ix);
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
