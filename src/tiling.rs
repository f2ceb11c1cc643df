//! Tiling geometry: which part of a transform's input a rectangle of its output depends on, so that
//! big pictures run in overlapping tiles whose halos cover the receptive field. Every kept output is
//! computed by the same operations in the same order as in an untiled run, so tiled results are
//! bit-identical (tests/tiling.rs checks it).

use crate::model::{ConvGeometry, Layer, Transform};
use crate::tensor::Tensor;

/// A half-open interval `[start, end)` along one axis.
pub type Span = (usize, usize);

/// A rectangle: columns `x` and rows `y`, half-open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    /// Columns.
    pub x: Span,
    /// Rows.
    pub y: Span,
}

impl Rect {
    /// Width.
    pub fn width(&self) -> usize {
        self.x.1 - self.x.0
    }
    /// Height.
    pub fn height(&self) -> usize {
        self.y.1 - self.y.0
    }
}

/// The inputs (clipped to `[0, n)`) that the outputs `out` of a layer (`None`: pointwise) depend on.
fn needed_inputs(geometry: Option<ConvGeometry>, out: Span, n: usize) -> Span {
    let (a, b) = (out.0 as isize, out.1 as isize);
    let (lo, hi) = match geometry {
        None => (a, b),
        Some(g) => {
            let (k, s, p) = (g.kernel as isize, g.stride as isize, g.pad as isize);
            match g.transposed {
                false => (a * s - p, (b - 1) * s - p + k),
                // output o = i * s - p + t, t in [0, k)
                true => (div_ceil(a + p - (k - 1), s), (b - 1 + p).div_euclid(s) + 1),
            }
        }
    };
    (
        lo.clamp(0, n as isize) as usize,
        hi.clamp(0, n as isize) as usize,
    )
}

/// `ceil(v / s)` for any sign of `v`, `s > 0`.
fn div_ceil(v: isize, s: isize) -> isize {
    v.div_euclid(s) + isize::from(v.rem_euclid(s) != 0)
}

/// Global index of a layer's local output 0, given the global index of its local input 0.
fn output_origin(geometry: Option<ConvGeometry>, input_origin: usize) -> usize {
    match geometry {
        None => input_origin,
        Some(ConvGeometry {
            stride,
            transposed: false,
            ..
        }) => input_origin / stride,
        Some(ConvGeometry { stride, .. }) => input_origin * stride,
    }
}

/// How to compute a rectangle of a transform's output from a tile of its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TilePlan {
    /// The input rectangle to run the transform on.
    pub input: Rect,
    /// Where the requested output starts inside the tile's output (column, row).
    pub offset: (usize, usize),
}

/// Plans one tile along both axes. `input_size` is (width, height) of the whole input.
pub fn plan(t: &Transform, input_size: (usize, usize), out: Rect) -> TilePlan {
    let layers: Vec<_> = t.layers.iter().map(Layer::geometry).collect();
    let (x, ox) = plan_span(&layers, input_size.0, out.x);
    let (y, oy) = plan_span(&layers, input_size.1, out.y);
    TilePlan {
        input: Rect { x, y },
        offset: (ox, oy),
    }
}

/// Plans one axis of a tile through `layers` (their geometries, `None` for pointwise ones) on an
/// input of length `n`: the input span to run on, and where the output span `out` starts inside
/// the tile's output.
pub fn plan_span(layers: &[Option<ConvGeometry>], n: usize, out: Span) -> (Span, usize) {
    let length = |g: &Option<ConvGeometry>, n| g.map_or(n, |g| g.output_len(n));
    // sizes of every layer's input along this axis
    let mut sizes = vec![n];
    for g in layers {
        sizes.push(length(g, *sizes.last().expect("non-empty")));
    }
    let mut need = out;
    for (i, &g) in layers.iter().enumerate().rev() {
        need = needed_inputs(g, need, sizes[i]);
    }
    // strided convolutions need their local input 0 on their stride grid: align the start to the
    // product of the strides of the convolutions (transposed ones keep any origin aligned)
    let align: usize = layers
        .iter()
        .flatten()
        .filter(|g| !g.transposed)
        .map(|g| g.stride)
        .product();
    let start = need.0 / align * align;
    let mut origin = start;
    for &g in layers {
        origin = output_origin(g, origin);
    }
    ((start, need.1), out.0 - origin)
}

/// GPU bytes that running `t` on a `channels` x `h` x `w` input needs: at its peak (the input
/// lives through the whole run, and each layer's input and output are alive together), and for
/// its largest single tensor.
pub fn peak_bytes(t: &Transform, channels: usize, w: usize, h: usize) -> (u64, u64) {
    let input = Tensor::gpu_bytes(channels, h, w);
    let (mut w, mut h) = (w, h);
    let (mut peak, mut largest, mut previous) = (input, input, 0);
    for l in &t.layers {
        (w, h) = (l.output_len(w), l.output_len(h));
        let out = Tensor::gpu_bytes(l.out_channels(), h, w);
        peak = peak.max(input + previous + out);
        largest = largest.max(out);
        previous = out;
    }
    (peak, largest)
}

/// Splits `[0, n)` into spans of at most `tile`.
pub fn spans(n: usize, tile: usize) -> Vec<Span> {
    (0..n.div_ceil(tile.max(1)))
        .map(|i| (i * tile, ((i + 1) * tile).min(n)))
        .collect()
}
