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
use crate::gpu::{distortion_grad, GpuTensor, LatentSearch, Probe, SynthesisGradient};
use crate::image::Image;
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
    /// The picture, padded as g_a saw it.
    picture: &'a GpuTensor,
    /// The picture's width and height within it.
    size: (usize, usize),
    inv_gain: &'a [f32],
    lambda: f32,
    gradient: &'a SynthesisGradient,
    schedule: &'a Schedule,
}

/// GPU bytes one search step holds at most for latents of `shape`: what g_s keeps for its
/// backward pass (each IGDN's input), three full-resolution feature maps while it runs back, the
/// search's nine y-sized tensors, and the picture, the output and its gradient.
pub(crate) fn search_memory(shape: &LatentShape) -> u64 {
    let plane = (shape.yh * shape.yw) as u64;
    let groups = |c: usize| c.div_ceil(4) as u64 * 4;
    let n = groups(shape.n);
    let kept = n * (4 + 16 + 64) * plane;
    let running = 3 * n * 64 * plane;
    let state = 9 * groups(shape.m) * plane;
    let pictures = 3 * 4 * 256 * plane;
    4 * (kept + running + state + pictures)
}

impl Codec {
    /// Runs `steps` steps of the search from `y` against `mean` and `scale`; returns y.
    async fn search_stage(
        &self,
        problem: &Problem<'_>,
        (y, mean, scale): (&Tensor, &Tensor, &Tensor),
        steps: u32,
        non_anchors_only: bool,
        probe: Option<&Probe>,
    ) -> Result<Tensor> {
        let ctx = &self.ctx;
        let g_s = &self.net.g_s;
        let search = LatentSearch::new(ctx, y, mean, scale, problem.inv_gain)?;
        let (w, h) = problem.size;
        let pixels = (w * h) as f32;
        // d/dx of lambda 255^2 mean((x - picture)^2) over the picture's 3 channels
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
            };
            let t0 = web_time::Instant::now();
            search.soft_round(ctx, &s)?;
            let (output, kept) = problem
                .gradient
                .forward(ctx, g_s, search.synthesis_input())?;
            let grad = distortion_grad(ctx, &output, problem.picture, problem.size, weight)?;
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
        ctx.download_tensor_async(search.y()).await
    }

    /// The coded latents and their loss (lambda x 255^2 x squared error per sample + bits per
    /// pixel, the search's objective, on the coded file).
    async fn coded_loss(
        &self,
        problem: &Problem<'_>,
        shape: &LatentShape,
        quantized: &Quantized,
    ) -> Result<(CodedLatents, f64)> {
        let (latent, _) = self.latent()?;
        let coded = latent.code(shape, quantized, None)?;
        let (y_hat, _, _) = held_parameters(self, shape, quantized)?;
        let input = self
            .ctx
            .upload_tensor(&y_hat.scale_channels(problem.inv_gain))?;
        let output = self.net.g_s.run(&self.ctx, &input)?;
        let output = self.ctx.download_tensor_async(&output).await?;
        let picture = self.ctx.download_tensor_async(problem.picture).await?;
        let (w, h) = problem.size;
        let plane = output.height * output.width;
        let mut squared = 0.0f64;
        for c in 0..3 {
            for row in 0..h {
                for col in 0..w {
                    let e = c * plane + row * output.width + col;
                    let x = output.data[e].clamp(0.0, 1.0);
                    squared += f64::from(x - picture.data[e]).powi(2);
                }
            }
        }
        let pixels = (w * h) as f64;
        let distortion = f64::from(problem.lambda) * 255.0 * 255.0 * squared / (3.0 * pixels);
        let loss = distortion + coded.estimated_bits / pixels;
        Ok((coded, loss))
    }

    /// Today's encoder's latents of `image` (y after the gain, z) improved by the search of
    /// `schedule` at `quality`: coded, the better of the two by the coded loss.
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
        let need = search_memory(shape) + self.ctx.memory_in_use();
        if need > self.options.memory_budget {
            return Err(Error::Limit {
                what: "GPU memory for the encoder's search at this effort (bytes; lower the effort or raise the memory budget)",
                value: need,
                limit: self.options.memory_budget,
            });
        }
        let first = latent.quantize(shape, y_first, z, &params, probe).await?;
        let (_, inv_gain) = self.model.gains_for_quality(quality)?;
        let (pw, ph) = self.model.padded_size(image.width, image.height);
        let picture = self
            .ctx
            .rgba8_to_tensor(&image.rgba, image.width, image.height, pw, ph)?;
        let gradient = SynthesisGradient::new(&self.ctx, &self.model.g_s)?;
        let problem = Problem {
            picture: &picture,
            size: (image.width, image.height),
            inv_gain: &inv_gain,
            lambda: lambda_for_quality(quality),
            gradient: &gradient,
            schedule,
        };
        let (_, mean, scale) = held_parameters(self, shape, &first)?;
        let mut y = self
            .search_stage(
                &problem,
                (y_first, &mean, &scale),
                schedule.steps,
                false,
                probe,
            )
            .await?;
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
            let steps = schedule.refine_steps;
            y = self
                .search_stage(&problem, (&y, &mean, &scale), steps, true, probe)
                .await?;
            found = latent.quantize(shape, &y, z, &params, probe).await?;
        }
        let (coded_first, loss_first) = self.coded_loss(&problem, shape, &first).await?;
        let (coded_found, loss_found) = self.coded_loss(&problem, shape, &found).await?;
        Ok(match loss_found < loss_first {
            true => coded_found,
            false => coded_first,
        })
    }
}
