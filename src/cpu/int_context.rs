//! Twin of `int_context.wgsl` `checkerboard_parameters`: the context model's table index and mean
//! of every element of y, channel by channel, in exact integer arithmetic.

use crate::model::{is_anchor, EntropyParams, IntContext, IntConv};

/// `(acc + 2^(shift - 1)) >> shift`, clamped to the layer's range.
fn requantize(layer: &IntConv, o: usize, acc: i64) -> i32 {
    let s = layer.shift[o];
    let v = (acc + ((1i64 << s) >> 1)) >> s;
    v.clamp(layer.act_min() as i64, layer.act_max as i64) as i32
}

/// Channel `c`'s depthwise convolution `layer` of `input` (one plane, `h` x `w`) at `(y, x)`,
/// each input value mapped by `f` first. Only the anchors are read (the context input is 0
/// elsewhere, so the taps that would read other positions are skipped).
fn depthwise_at(
    layer: &IntConv,
    c: usize,
    input: &[i32],
    (h, w): (usize, usize),
    (y, x): (usize, usize),
    f: impl Fn(i32) -> i32,
) -> i32 {
    let g = layer.geometry;
    let mut acc = layer.bias[c] as i64;
    for ky in 0..g.kernel {
        let Some(iy) = (y + ky).checked_sub(g.pad).filter(|&v| v < h) else {
            continue;
        };
        for kx in 0..g.kernel {
            let Some(ix) = (x + kx).checked_sub(g.pad).filter(|&v| v < w) else {
                continue;
            };
            if !is_anchor(iy, ix) {
                continue;
            }
            acc += layer.w(c, 0, ky, kx) as i64 * f(input[iy * w + ix]) as i64;
        }
    }
    requantize(layer, c, acc)
}

/// The scale index and the fixed-point mean of every element of y (`h` x `w` per channel) from
/// h_s's output, and in the second pass the context input of the decoded anchors
/// ([`IntContext::context_input`]); the first pass has contexts of 0.
pub fn checkerboard_parameters(
    net: &IntContext,
    thresholds: &[i32],
    hyper: &[i32],
    context_input: Option<&[i32]>,
    (h, w): (usize, usize),
) -> EntropyParams {
    let plane = h * w;
    let m = hyper.len() / plane.max(1);
    let hidden = net.hidden();
    let fusion = match context_input {
        None => &net.anchor_fusion,
        Some(_) => &net.fusion,
    };
    let [first, last] = &fusion[..] else {
        unreachable!("validated: two fusion layers");
    };
    let top = IntContext::input_max();
    let mut indexes = Vec::with_capacity(hyper.len());
    let mut means = Vec::with_capacity(hyper.len());
    for c in 0..m {
        let input = context_input.map(|x| &x[c * plane..(c + 1) * plane]);
        for p in 0..plane {
            let (y, x) = (p / w, p % w);
            // each pass computes its own positions (the anchors first); the others get 0
            if is_anchor(y, x) == input.is_some() {
                indexes.push(0);
                means.push(0);
                continue;
            }
            let (context, magnitude) = match input {
                None => (0, 0),
                Some(input) => (
                    depthwise_at(&net.context, c, input, (h, w), (y, x), |v| v),
                    depthwise_at(&net.magnitude, c, input, (h, w), (y, x), |v| {
                        v.abs().min(top)
                    }),
                ),
            };
            let inputs = [hyper[c * plane + p], context, magnitude];
            let units: Vec<i32> = (0..hidden)
                .map(|j| {
                    let o = c * hidden + j;
                    let acc = first.bias[o] as i64
                        + (0..3)
                            .map(|i| first.w(o, i, 0, 0) as i64 * inputs[i] as i64)
                            .sum::<i64>();
                    requantize(first, o, acc)
                })
                .collect();
            let out: Vec<i32> = (0..2)
                .map(|k| {
                    let o = 2 * c + k;
                    let acc = last.bias[o] as i64
                        + (0..hidden)
                            .map(|j| last.w(o, j, 0, 0) as i64 * units[j] as i64)
                            .sum::<i64>();
                    requantize(last, o, acc)
                })
                .collect();
            indexes.push(thresholds.iter().filter(|t| out[0] > **t).count() as u8);
            means.push(out[1]);
        }
    }
    EntropyParams { indexes, means }
}
