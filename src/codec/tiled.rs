//! Running a transform over a picture in tiles that fit the GPU memory budget and the adapter's
//! buffer limits, with halos that cover the receptive field (so the result equals an untiled
//! run), retried with smaller tiles when the GPU runs out of memory anyway; the codec's stages
//! and the memory budget they need.

use super::{Codec, Latent};
use crate::error::{Error, Result};
use crate::gpu::{GpuContext, GpuTensor, GpuTransform, Probe};
use crate::model::{Layer, Transform};
use crate::tensor::Tensor;
use crate::tiling::{self, Rect};

/// How many times an out-of-memory transform is retried, each time with half the tile side.
const OUT_OF_MEMORY_RETRIES: usize = 4;

/// One transform to run over a whole input.
pub(crate) struct Stage<'a> {
    /// The transform, for the geometry.
    pub t: &'a Transform,
    /// The same on the GPU.
    pub gpu: &'a GpuTransform,
    /// The input's width and height.
    pub in_size: (usize, usize),
    /// The part of the output wanted (from the origin): the picture size for g_s.
    pub out_limit: (usize, usize),
    /// Bytes per input pixel uploaded besides the input tensor (RGBA for g_a).
    pub extra_per_pixel: u64,
    /// The smallest tile side worth running (in output pixels): smaller tiles spend most of
    /// their work on halos, so a budget that needs them is refused instead.
    pub min_side: usize,
}

/// Receives a tile's output tensor, the global output rectangle it covers, and where that
/// rectangle starts inside the tensor.
pub(crate) type TileSink<'a> = dyn FnMut(&GpuTensor, Rect, (usize, usize)) -> Result<()> + 'a;

/// GPU bytes the biggest tile of `side` x `side` output pixels needs (its input has the widest
/// halos and alignment of all tiles along each axis), and its largest single buffer.
fn tile_bytes(stage: &Stage, side: usize) -> (u64, u64) {
    let t = stage.t;
    let out = t.output_wh(stage.in_size);
    let layers: Vec<_> = t.layers.iter().map(Layer::geometry).collect();
    let widest = |n: usize, out: usize| {
        tiling::spans(out, side)
            .into_iter()
            .map(|span| {
                let ((a, b), _) = tiling::plan_span(&layers, n, span);
                b - a
            })
            .max()
            .unwrap_or(0)
    };
    let (w, h) = (
        widest(stage.in_size.0, out.0),
        widest(stage.in_size.1, out.1),
    );
    let (peak, largest) = tiling::peak_bytes(t, t.in_channels(), w, h);
    let readback = Tensor::gpu_bytes(t.out_channels(), side, side);
    (
        peak + stage.extra_per_pixel * (w * h) as u64 + readback,
        largest,
    )
}

/// The least GPU memory (besides what is held already) `stage` runs in: tiles of its smallest
/// side.
pub(crate) fn smallest_memory(stage: &Stage) -> u64 {
    let out = stage.t.output_wh(stage.in_size);
    tile_bytes(stage, stage.min_side.min(out.0.max(out.1)).max(1)).0
}

/// The largest output tile side (in output pixels) whose run fits `budget` and the adapter's
/// buffer limits.
pub(crate) fn tile_side(ctx: &GpuContext, budget: u64, stage: &Stage) -> Result<usize> {
    let out = stage.t.output_wh(stage.in_size);
    let max_buffer = ctx.max_buffer();
    let available = budget.saturating_sub(ctx.memory_in_use());
    let mut side = out.0.max(out.1).max(1);
    loop {
        let (need, largest) = tile_bytes(stage, side);
        if need <= available && largest <= max_buffer {
            return Ok(side);
        }
        if side <= stage.min_side {
            return Err(Error::Limit {
                what: "GPU memory needed for the smallest tile (bytes)",
                value: need + ctx.memory_in_use(),
                limit: budget,
            });
        }
        side = side.div_ceil(2).max(stage.min_side);
    }
}

/// Runs `stage` over its whole output in tiles: `input` makes the GPU tensor of an input
/// rectangle, `sink` receives each tile's output. Returns the number of tiles of the last try.
pub(crate) fn run_tiled(
    ctx: &GpuContext,
    budget: u64,
    stage: &Stage,
    input: &mut dyn FnMut(Rect) -> Result<GpuTensor>,
    sink: &mut TileSink<'_>,
    probe: Option<&Probe>,
) -> Result<usize> {
    let mut side = tile_side(ctx, budget, stage)?;
    let mut retries = 0;
    loop {
        let mut tiles = 0;
        let (xspans, yspans) = (
            tiling::spans(stage.out_limit.0, side),
            tiling::spans(stage.out_limit.1, side),
        );
        let run = yspans
            .iter()
            .flat_map(|&y| xspans.iter().map(move |&x| Rect { x, y }))
            .try_for_each(|rect| {
                let plan = tiling::plan(stage.t, stage.in_size, rect);
                tiles += 1;
                ctx.guarded(|| {
                    ctx.injected_out_of_memory()?;
                    let x = input(plan.input)?;
                    let y = stage.gpu.run_probed(ctx, &x, probe)?;
                    drop(x);
                    sink(&y, rect, plan.offset)
                })
            });
        match run {
            // The budget is an estimate and drivers differ: retry the whole transform with
            // smaller tiles (every tile is written again, so partial output does not matter).
            Err(Error::GpuOutOfMemory(why)) => {
                if retries == OUT_OF_MEMORY_RETRIES || side <= stage.min_side {
                    return Err(Error::GpuOutOfMemory(format!(
                        "{why} (still with tiles of {side} x {side} pixels after {retries} retries)"
                    )));
                }
                retries += 1;
                side = side.div_ceil(2).max(stage.min_side);
            }
            other => return other.map(|()| tiles),
        }
    }
}

/// The codec's tiled stages, and what the memory budget must hold for them.
impl Codec {
    /// g_a on the replicate-padded picture.
    pub(super) fn g_a_stage(&self, width: usize, height: usize) -> Stage<'_> {
        let padded = self.model.padded_size(width, height);
        let s = self.model.y_stride();
        Stage {
            t: &self.model.g_a,
            gpu: &self.net.g_a,
            in_size: padded,
            out_limit: (padded.0 / s, padded.1 / s),
            extra_per_pixel: 4,
            min_side: 4, // 64 x 64 pixels of input
        }
    }

    /// g_s on y, cropped to the picture.
    pub(super) fn g_s_stage(&self, y: (usize, usize), width: usize, height: usize) -> Stage<'_> {
        Stage {
            t: &self.model.g_s,
            gpu: &self.net.g_s,
            in_size: y,
            out_limit: (width, height),
            extra_per_pixel: 0,
            min_side: 64,
        }
    }

    /// h_a on |y * gain|.
    pub(super) fn h_a_stage(&self, y: (usize, usize)) -> Stage<'_> {
        Stage {
            t: &self.model.h_a,
            gpu: &self.net.h_a,
            in_size: y,
            out_limit: self.model.h_a.output_wh(y),
            extra_per_pixel: 0,
            min_side: 1,
        }
    }

    /// The smallest `--memory-budget` in which a `width` x `height` picture can be encoded (or
    /// only decoded: `encode` false), counting the buffers the codec holds now (the weights).
    pub fn smallest_memory_budget(&self, width: usize, height: usize, encode: bool) -> u64 {
        let a = self.g_a_stage(width, height);
        let y = a.out_limit;
        let mut need = smallest_memory(&self.g_s_stage(y, width, height));
        if encode {
            need = need
                .max(smallest_memory(&a))
                .max(smallest_memory(&self.h_a_stage(y)));
        }
        if let Latent::Ready(ready) = &self.latent {
            let (zw, zh) = self.model.h_a.output_wh(y);
            need = need.max(ready.1.smallest_memory((zh, zw)));
        }
        need + self.ctx.memory_in_use()
    }

    /// Refuses at once a memory budget too small for the picture, naming the smallest that works.
    pub(super) fn check_memory_budget(
        &self,
        width: usize,
        height: usize,
        encode: bool,
    ) -> Result<()> {
        let need = self.smallest_memory_budget(width, height, encode);
        let budget = self.options.memory_budget;
        if need > budget {
            return Err(Error::Limit {
                what: "GPU memory needed for this picture at the smallest tiles (bytes)",
                value: need,
                limit: budget,
            });
        }
        Ok(())
    }

    /// How many tiles g_a and g_s take for a `width` x `height` picture under the memory budget.
    pub fn tile_counts(&self, width: usize, height: usize) -> Result<(usize, usize)> {
        let budget = self.options.memory_budget;
        let count = |side: usize, (w, h): (usize, usize)| w.div_ceil(side) * h.div_ceil(side);
        let a = self.g_a_stage(width, height);
        let (pw, ph) = a.in_size;
        let s = self.model.y_stride();
        let g_s = self.g_s_stage((pw / s, ph / s), width, height);
        Ok((
            count(tile_side(&self.ctx, budget, &a)?, a.out_limit),
            count(tile_side(&self.ctx, budget, &g_s)?, g_s.out_limit),
        ))
    }
}
