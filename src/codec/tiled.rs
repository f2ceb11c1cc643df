//! Running a transform over a picture in tiles that fit the GPU memory budget and the adapter's
//! buffer limits, with halos that cover the receptive field (so the result equals an untiled
//! run), retried with smaller tiles when the GPU runs out of memory anyway; the codec's stages
//! and the memory budget they need.

use super::{Codec, Latent};
use crate::error::{Error, Result};
use crate::gpu::{host_stage, host_stage_async, GpuContext, GpuTransform, PixelTarget, Probe};
use crate::image::Image;
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
    /// The names of the stage's upload and readback in a probe.
    pub names: (&'static str, &'static str),
}

/// Where a tiled stage's input comes from.
pub(crate) enum TileInput<'a> {
    /// A picture's RGBA pixels, replicate-padded beyond the picture as the whole is (g_a).
    Picture(&'a Image),
    /// A tensor on the host (h_a's |y|, g_s's y_hat).
    Tensor(&'a Tensor),
}

/// Where a tiled stage's output goes.
pub(crate) enum TileOutput<'a> {
    /// Into a tensor on the host (y, z).
    Tensor(&'a mut Tensor),
    /// Into RGBA8 pixels on the host, rows `width` pixels long (the decoded picture).
    Pixels { rgba: &'a mut [u8], width: usize },
    /// Into a GPU buffer of RGBA8 rows `pitch` pixels apart (a texture's pixels): never read back.
    Buffer {
        pixels: &'a wgpu::Buffer,
        pitch: usize,
    },
}

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

/// Runs `stage` over its whole output in tiles from `input` into `output`. Returns the number
/// of tiles of the last try.
pub(crate) async fn run_tiled(
    ctx: &GpuContext,
    budget: u64,
    stage: &Stage<'_>,
    input: TileInput<'_>,
    output: &mut TileOutput<'_>,
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
        let mut run = Ok(());
        'tiles: for &y in &yspans {
            for &x in &xspans {
                let rect = Rect { x, y };
                tiles += 1;
                let tile = run_tile(ctx, stage, &input, output, rect, probe);
                run = ctx.guarded_async(tile).await;
                if run.is_err() {
                    break 'tiles;
                }
            }
        }
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

/// One tile of `stage`: the output rectangle `rect`, from its input with halos.
async fn run_tile(
    ctx: &GpuContext,
    stage: &Stage<'_>,
    input: &TileInput<'_>,
    output: &mut TileOutput<'_>,
    rect: Rect,
    probe: Option<&Probe>,
) -> Result<()> {
    ctx.injected_out_of_memory()?;
    let plan = tiling::plan(stage.t, stage.in_size, rect);
    let r = plan.input;
    let x = host_stage(probe, stage.names.0, || match input {
        TileInput::Picture(image) => {
            let mut rgba = Vec::with_capacity(r.width() * r.height() * 4);
            for yy in r.y.0..r.y.1 {
                let row = yy.min(image.height - 1) * image.width;
                for xx in r.x.0..r.x.1 {
                    let at = (row + xx.min(image.width - 1)) * 4;
                    rgba.extend_from_slice(&image.rgba[at..at + 4]);
                }
            }
            ctx.rgba8_to_tensor(&rgba, r.width(), r.height(), r.width(), r.height())
        }
        TileInput::Tensor(t) => ctx.upload_tensor(&t.crop(r.x.0, r.y.0, r.width(), r.height())),
    })?;
    let y = stage.gpu.run_probed(ctx, &x, probe).await?;
    drop(x);
    let (off, (w, h)) = (plan.offset, (rect.width(), rect.height()));
    match output {
        TileOutput::Tensor(whole) => {
            let read = ctx.download_tensor_async(&y);
            let tile = host_stage_async(probe, stage.names.1, read).await?;
            whole.paste(&tile, off, (rect.x.0, rect.y.0), w, h);
        }
        TileOutput::Pixels { rgba, width } => {
            let read = ctx.tensor_region_to_rgba8_async(&y, off, w, h);
            let tile = host_stage_async(probe, stage.names.1, read).await?;
            for (row, yy) in (rect.y.0..rect.y.1).enumerate() {
                let dst = (yy * *width + rect.x.0) * 4;
                rgba[dst..dst + w * 4].copy_from_slice(&tile[row * w * 4..(row + 1) * w * 4]);
            }
        }
        TileOutput::Buffer { pixels, pitch } => {
            let (x, y0, pitch) = (rect.x.0, rect.y.0, *pitch);
            let target = PixelTarget { x, y: y0, pitch };
            ctx.run("tile to texture buffer", |rec| {
                rec.tensor_to_rgba8(&y, off, (w, h), pixels, target)
            })?;
        }
    }
    Ok(())
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
            names: ("upload picture + rgba8_to_tensor", "readback y"),
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
            names: ("upload y_hat", "tensor_to_rgba8 + readback"),
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
            names: ("upload h_a input", "readback z"),
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
