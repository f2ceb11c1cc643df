//! Twin of `int_conv.wgsl` (and int_conv_subgroup.wgsl): exact integer layers and the table-index
//! lookup. Bit-identical to the GPU by construction: i32 sums in any order are the same.

use crate::model::IntConv;

/// `int_conv` / `int_conv_transpose`: one integer layer on CHW i32 data; returns the output and
/// its height and width.
pub fn int_conv(
    input: &[i32],
    in_h: usize,
    in_w: usize,
    layer: &IntConv,
) -> (Vec<i32>, usize, usize) {
    let g = layer.geometry;
    let (oh, ow) = layer.output_size(in_h, in_w);
    let (lo, hi) = (layer.act_min(), layer.act_max);
    let mut out = vec![0i32; layer.out_channels * oh * ow];
    for o in 0..layer.out_channels {
        let round = (1i32 << layer.shift[o]) >> 1;
        for oy in 0..oh {
            for ox in 0..ow {
                let mut acc = layer.bias[o];
                for ky in 0..g.kernel {
                    let Some(iy) = g.source_index(oy, ky, in_h) else {
                        continue;
                    };
                    for kx in 0..g.kernel {
                        let Some(ix) = g.source_index(ox, kx, in_w) else {
                            continue;
                        };
                        for i in 0..layer.in_channels {
                            // cannot overflow: bounded when the weights were loaded
                            acc += layer.w(o, i, ky, kx) * input[(i * in_h + iy) * in_w + ix];
                        }
                    }
                }
                out[(o * oh + oy) * ow + ox] = ((acc + round) >> layer.shift[o]).clamp(lo, hi);
            }
        }
    }
    (out, oh, ow)
}

/// `scale_index`: how many of the (sorted) thresholds each value exceeds.
pub fn scale_index(values: &[i32], thresholds: &[i32]) -> Vec<u8> {
    values
        .iter()
        .map(|v| thresholds.iter().filter(|t| v > t).count() as u8)
        .collect()
}
