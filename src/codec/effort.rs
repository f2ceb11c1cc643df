//! Encoder effort: the latents of one picture searched for distortion + lambda x rate with the
//! decoder fixed (Campos et al. 2019; Yang, Bamler and Mandt 2020, stochastic Gumbel annealing),
//! on the GPU. z stays the first encode's, so the scales and the anchors' means the search
//! holds are the ones coded; with the context model a second stage searches the non-anchors
//! again against the means their coded anchors give. The file is an ordinary file: any decoder
//! reads it. The search's result is the better (by the coded loss) of where it ends and today's
//! encoder.

use super::latent::{CodedLatents, LatentShape, Quantized};
use super::Codec;
use crate::cpu::SearchStep;
use crate::error::{Error, Result};
use crate::gpu::{distortion_grad, LatentSearch, Probe, SynthesisGradient};
use crate::image::Image;
use crate::metrics;
use crate::model::is_anchor;
use crate::tensor::Tensor;

/// The highest effort.
pub const MAX_EFFORT: u8 = 3;

/// The training lambdas of qualities 1..=10 (train/vaec/model.py `LAMBDAS`): the weight of the
/// squared error (on 0..255) against bits per pixel that each quality was trained for.
pub const LAMBDAS: [f32; 10] = [
    0.00048, 0.00093, 0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483, 0.0932, 0.1800,
];

/// The search's settings at one effort.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    /// Adam steps on all of y.
    pub steps: u32,
    /// Adam steps on the non-anchors against their coded anchors (context model).
    pub refine_steps: u32,
    /// Adam's step size.
    pub lr: f32,
    /// Temperature of the soft rounding at the first step and at the last (geometric between).
    pub tau: (f32, f32),
}

impl Schedule {
    /// The schedule of `effort` (None for 0, today's encoder).
    pub fn of(effort: u8) -> Option<Schedule> {
        let steps = match effort {
            0 => return None,
            1 => 50,
            2 => 100,
            _ => 200,
        };
        Some(Schedule {
            steps,
            refine_steps: steps / 2,
            lr: 5e-3,
            tau: (0.5, 0.02),
        })
    }

    fn tau(&self, step: u32, steps: u32) -> f32 {
        let t = step.saturating_sub(1) as f32 / (steps.max(2) - 1) as f32;
        self.tau.0 * (self.tau.1 / self.tau.0).powf(t)
    }
}

/// lambda of a (fractional) quality: geometric between the trained ones.
pub fn lambda_for_quality(q: f32) -> f32 {
    let pos = (q - 1.0).clamp(0.0, (LAMBDAS.len() - 1) as f32);
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(LAMBDAS.len() - 1);
    let t = pos - lo as f32;
    ((1.0 - t) * LAMBDAS[lo].ln() + t * LAMBDAS[hi].ln()).exp()
}

/// The quantized latents' y_hat (gained domain) as a tensor, and the held means and scales.
fn held_parameters(
    codec: &Codec,
    shape: &LatentShape,
    q: &Quantized,
) -> Result<(Tensor, Tensor, Tensor)> {
    let (latent, _) = codec.latent()?;
    let mean_scale = latent.mean_scale();
    let table = latent.scale_table();
    let mean: Vec<f32> = match q.params.means.is_empty() {
        true => vec![0.0; q.symbols.len()],
        false => q
            .params
            .means
            .iter()
            .map(|&m| m as f32 * mean_scale)
            .collect(),
    };
    let scale = q
        .params
        .indexes
        .iter()
        .map(|&i| table[i as usize])
        .collect();
    let y_hat = q
        .symbols
        .iter()
        .zip(&mean)
        .map(|(&s, &m)| s as f32 + m)
        .collect();
    let t = |data| Tensor::from_data(shape.m, shape.yh, shape.yw, data);
    Ok((t(y_hat), t(mean), t(scale)))
}

/// What one search works on.
struct Problem<'a> {
    /// The picture as g_a saw it (padded, 0..1), on the host: tiles take their windows of it.
    picture: Tensor,
    /// The picture's width and height within it.
    size: (usize, usize),
    inv_gain: &'a [f32],
    lambda: f32,
    gradient: &'a SynthesisGradient,
    schedule: &'a Schedule,
}

/// Latents around a tile's core that stay put while the core moves: g_s's output pixels depend
/// on latents up to about 2 away (four layers of 5x5 taps at stride 2), so its core pixels are
/// computed as in the whole picture. Even, so that tiles keep the checkerboard's parity.
const TILE_HALO: usize = 4;

/// A window of y that the search works on: its place in y and its core (what it moves and whose
/// pixels it measures), in latent units; the core's place is relative to the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Tile {
    x0: usize,
    y0: usize,
    width: usize,
    height: usize,
    core: [usize; 4],
}

/// GPU bytes one search step holds at most for a window of `yh` x `yw` latents: what g_s keeps
/// for its backward pass (each IGDN's input), three full-resolution feature maps while it runs
/// back, the search's nine y-sized tensors, and the picture, the output and its gradient.
pub(crate) fn search_memory(shape: &LatentShape, (yh, yw): (usize, usize)) -> u64 {
    let plane = (yh * yw) as u64;
    let groups = |c: usize| c.div_ceil(4) as u64 * 4;
    let n = groups(shape.n);
    let kept = n * (4 + 16 + 64) * plane;
    let running = 3 * n * 64 * plane;
    let state = 9 * groups(shape.m) * plane;
    let pictures = 3 * 4 * 256 * plane;
    4 * (kept + running + state + pictures)
}

/// The tiles of a search within `budget` bytes: the whole of y if it fits, else square cores of
/// the largest even side that fits with its halo. None if not even the smallest tile fits.
fn tiles(shape: &LatentShape, budget: u64) -> Option<Vec<Tile>> {
    let (yh, yw) = (shape.yh, shape.yw);
    if search_memory(shape, (yh, yw)) <= budget {
        let whole = [0, 0, yw, yh];
        return Some(vec![Tile {
            x0: 0,
            y0: 0,
            width: yw,
            height: yh,
            core: whole,
        }]);
    }
    let fits =
        |core: usize| search_memory(shape, (core + 2 * TILE_HALO, core + 2 * TILE_HALO)) <= budget;
    let mut side = 2;
    if !fits(side) {
        return None;
    }
    while side < yh.max(yw) && fits(side + 2) {
        side += 2;
    }
    let mut out = Vec::new();
    for cy in (0..yh).step_by(side) {
        for cx in (0..yw).step_by(side) {
            let (x0, y0) = (cx.saturating_sub(TILE_HALO), cy.saturating_sub(TILE_HALO));
            let x1 = (cx + side + TILE_HALO).min(yw);
            let y1 = (cy + side + TILE_HALO).min(yh);
            let core = [cx - x0, cy - y0, side.min(yw - cx), side.min(yh - cy)];
            out.push(Tile {
                x0,
                y0,
                width: x1 - x0,
                height: y1 - y0,
                core,
            });
        }
    }
    Some(out)
}

impl Codec {
    /// The memory budget in which the encoder's search of a `width` x `height` picture runs
    /// whole (counting the buffers the codec holds now); under it the search runs in tiles.
    pub fn untiled_search_budget(&self, width: usize, height: usize) -> u64 {
        let shape = LatentShape::new(&self.model, width, height);
        search_memory(&shape, (shape.yh, shape.yw)) + self.ctx.memory_in_use()
    }

    /// Runs `steps` steps of the search on `tile` of `y` against `mean` and `scale`, and writes
    /// its core back into `y`.
    #[allow(clippy::too_many_arguments)]
    async fn search_tile(
        &self,
        problem: &Problem<'_>,
        tile: &Tile,
        y: &mut Tensor,
        (mean, scale): (&Tensor, &Tensor),
        steps: u32,
        non_anchors_only: bool,
        probe: Option<&Probe>,
    ) -> Result<()> {
        let ctx = &self.ctx;
        let g_s = &self.net.g_s;
        let s = self.model.y_stride();
        let window = |t: &Tensor, scale: usize| {
            t.crop(
                tile.x0 * scale,
                tile.y0 * scale,
                tile.width * scale,
                tile.height * scale,
            )
        };
        let search = LatentSearch::new(
            ctx,
            &window(y, 1),
            &window(mean, 1),
            &window(scale, 1),
            problem.inv_gain,
        )?;
        let picture = ctx.upload_tensor(&window(&problem.picture, s))?;
        // the core's pixels inside the picture, relative to the window
        let [cx, cy, cw, ch] = tile.core;
        let (w, h) = problem.size;
        let x1 = ((tile.x0 + cx + cw) * s).min(w);
        let y1 = ((tile.y0 + cy + ch) * s).min(h);
        let (x0, y0) = ((tile.x0 + cx) * s, (tile.y0 + cy) * s);
        let crop = [
            x0 - tile.x0 * s,
            y0 - tile.y0 * s,
            x1.saturating_sub(x0),
            y1.saturating_sub(y0),
        ];
        let pixels = (crop[2] * crop[3]).max(1) as f32;
        // d/dx of lambda 255^2 mean((x - picture)^2) over the core's pixels, 3 channels
        let weight = 2.0 * problem.lambda * 255.0 * 255.0 / (3.0 * pixels);
        let name = match non_anchors_only {
            false => "search: one step (all of y)",
            true => "search: one step (non-anchors)",
        };
        for step in 1..=steps {
            let s = SearchStep {
                step,
                seed: 0x5eed,
                tau: problem.schedule.tau(step, steps),
                lr: problem.schedule.lr,
                rate_weight: 1.0 / pixels,
                non_anchors_only,
                free: tile.core,
            };
            let t0 = web_time::Instant::now();
            search.soft_round(ctx, &s)?;
            let (output, kept) = problem
                .gradient
                .forward(ctx, g_s, search.synthesis_input())?;
            let grad = distortion_grad(ctx, &output, &picture, crop, weight)?;
            drop(output);
            let synthesis_grad = problem.gradient.backward(ctx, g_s, &kept, grad)?;
            drop(kept);
            search.adam_step(ctx, &synthesis_grad, &s)?;
            // one step in flight at a time: the queue would otherwise hold every step's tensors
            ctx.finished().await?;
            if let Some(p) = probe {
                p.add_seconds(name, t0.elapsed().as_secs_f64() / f64::from(steps));
            }
        }
        let moved = ctx.download_tensor_async(search.y()).await?;
        y.paste(&moved, (cx, cy), (tile.x0 + cx, tile.y0 + cy), cw, ch);
        Ok(())
    }

    /// The coded latents and their loss (lambda x squared error per sample on 0..255 + bits
    /// per pixel, the search's objective, on the coded file as a decoder decodes it).
    async fn coded_loss(
        &self,
        problem: &Problem<'_>,
        image: &Image,
        shape: &LatentShape,
        quantized: &Quantized,
    ) -> Result<(CodedLatents, f64)> {
        let (latent, _) = self.latent()?;
        let coded = latent.code(shape, quantized, None)?;
        let (y_hat, _, _) = held_parameters(self, shape, quantized)?;
        let y = y_hat.scale_channels(problem.inv_gain);
        let decoded = self.synthesize(&y, image.width, image.height, None).await?;
        let mse = 255.0f64.powi(2) / 10f64.powf(metrics::psnr(image, &decoded) / 10.0);
        let pixels = (image.width * image.height) as f64;
        let loss = f64::from(problem.lambda) * mse + coded.estimated_bits / pixels;
        Ok((coded, loss))
    }

    /// Today's encoder's latents of `image` (y after the gain, z) improved by the search of
    /// `schedule` at `quality`: coded, the better of the two by the coded loss. Pictures whose
    /// search does not fit the memory budget are searched tile by tile.
    pub(super) async fn search_latents(
        &self,
        image: &Image,
        shape: &LatentShape,
        (y_first, z): (&Tensor, &Tensor),
        quality: f32,
        schedule: &Schedule,
        probe: Option<&Probe>,
    ) -> Result<CodedLatents> {
        let (latent, params) = self.latent()?;
        let in_use = self.ctx.memory_in_use();
        let budget = self.options.memory_budget.saturating_sub(in_use);
        let tiles = tiles(shape, budget).ok_or(Error::Limit {
            what: "GPU memory for the encoder's search at its smallest tile (bytes; lower the effort or raise the memory budget)",
            value: search_memory(shape, (2 + 2 * TILE_HALO, 2 + 2 * TILE_HALO)) + in_use,
            limit: self.options.memory_budget,
        })?;
        let first = latent.quantize(shape, y_first, z, &params, probe).await?;
        let (_, inv_gain) = self.model.gains_for_quality(quality)?;
        let (pw, ph) = self.model.padded_size(image.width, image.height);
        let gradient = SynthesisGradient::new(&self.ctx, &self.model.g_s)?;
        let problem = Problem {
            picture: crate::cpu::rgba8_to_tensor(&image.rgba, image.width, image.height, pw, ph),
            size: (image.width, image.height),
            inv_gain: &inv_gain,
            lambda: lambda_for_quality(quality),
            gradient: &gradient,
            schedule,
        };
        let (_, mean, scale) = held_parameters(self, shape, &first)?;
        let mut y = y_first.clone();
        for tile in &tiles {
            self.search_tile(
                &problem,
                tile,
                &mut y,
                (&mean, &scale),
                schedule.steps,
                false,
                probe,
            )
            .await?;
        }
        let mut found = latent.quantize(shape, &y, z, &params, probe).await?;
        if latent.context.is_some() && schedule.refine_steps > 0 {
            // the anchors at their coded values; the non-anchors against the means those give
            let (y_hat, mean, scale) = held_parameters(self, shape, &found)?;
            let plane = shape.yh * shape.yw;
            for (e, v) in y.data.iter_mut().enumerate() {
                let px = e % plane;
                if is_anchor(px / shape.yw, px % shape.yw) {
                    *v = y_hat.data[e];
                }
            }
            for tile in &tiles {
                let steps = schedule.refine_steps;
                self.search_tile(&problem, tile, &mut y, (&mean, &scale), steps, true, probe)
                    .await?;
            }
            found = latent.quantize(shape, &y, z, &params, probe).await?;
        }
        let (coded_first, loss_first) = self.coded_loss(&problem, image, shape, &first).await?;
        let (coded_found, loss_found) = self.coded_loss(&problem, image, shape, &found).await?;
        Ok(match loss_found < loss_first {
            true => coded_found,
            false => coded_first,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(yh: usize, yw: usize) -> LatentShape {
        LatentShape {
            n: 64,
            m: 128,
            yh,
            yw,
            zh: yh / 4,
            zw: yw / 4,
        }
    }

    #[test]
    fn the_lambdas_are_the_training_packages() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/train/vaec/model.py");
        let text = std::fs::read_to_string(path).expect("train/vaec/model.py");
        let line = text
            .lines()
            .find(|l| l.starts_with("LAMBDAS = ["))
            .expect("LAMBDAS in model.py");
        let inner = line.trim_start_matches("LAMBDAS = [").trim_end_matches(']');
        let lambdas: Vec<f32> = inner
            .split(',')
            .map(|v| v.trim().parse().unwrap())
            .collect();
        assert_eq!(lambdas, LAMBDAS);
        assert!((lambda_for_quality(3.0) - LAMBDAS[2]).abs() < 1e-9);
        let half = lambda_for_quality(3.5);
        assert!((half - (LAMBDAS[2] * LAMBDAS[3]).sqrt()).abs() < 1e-6);
    }

    #[test]
    fn tiles_cover_y_once_with_even_origins() {
        for (yh, yw, budget) in [
            (32, 48, 1 << 30),
            (32, 48, 40 << 20),
            (75, 41, 20 << 20),
            (3, 200, 10 << 20),
        ] {
            let s = shape(yh, yw);
            let tiles = tiles(&s, budget).expect("a tile fits");
            let mut seen = vec![0u8; yh * yw];
            for t in &tiles {
                assert!(
                    search_memory(&s, (t.height, t.width)) <= budget,
                    "{t:?} over the budget"
                );
                let [cx, cy, cw, ch] = t.core;
                assert_eq!(
                    (t.x0 + cx + t.y0 + cy) % 2,
                    0,
                    "{t:?}: a core at odd parity"
                );
                assert!(
                    t.x0 + t.width <= yw && t.y0 + t.height <= yh,
                    "{t:?} outside y"
                );
                for row in t.y0 + cy..t.y0 + cy + ch {
                    for col in t.x0 + cx..t.x0 + cx + cw {
                        seen[row * yw + col] += 1;
                    }
                }
            }
            assert!(
                seen.iter().all(|&n| n == 1),
                "{yh}x{yw} at {budget}: cores overlap or leave gaps"
            );
        }
        assert!(tiles(&shape(32, 48), 1 << 20).is_none());
    }
}
