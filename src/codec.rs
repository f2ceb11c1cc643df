//! The codec: image -> g_a -> quantized latents -> integer h_s -> rANS -> `.vaec`, and back.
//!
//! Only integer symbols and one-byte scale indexes cross between GPU and CPU; the scale indexes
//! come from the integer hyper-synthesis, so encoder and decoder agree on every device, and a hash
//! of the index map in the header catches any device that does not.

use rayon::prelude::*;
use sha2::Digest;

use crate::entropy::{self, CdfTables};
use crate::error::{Error, Result};
use crate::format::{self, Header, Limits};
use crate::gpu::{GpuContext, GpuIntHyper, GpuNetwork, GpuTensor};
use crate::hyper::IntHyperSynthesis;
use crate::model::{hex, Model};
use crate::reference;
use crate::tensor::Tensor;
use crate::tiling::{self, Rect};

/// y is coded in up to this many independent substreams (channel groups), decoded in parallel.
pub const Y_GROUPS: usize = 8;
/// Each y substream carries at least this many symbols: a substream costs 24 bytes (its table
/// entry and two 8-byte final states), 0.5% of a Kodak-sized picture at 0.1 bpp, so pictures
/// under a megapixel use one and only big ones, where decoding time matters, are split.
const MIN_GROUP_SYMBOLS: usize = 1 << 19;
/// GPU memory the codec plans to stay within by default.
pub const DEFAULT_MEMORY_BUDGET: u64 = 256 << 20;

/// How many times an out-of-memory transform is retried, each time with half the tile side.
const OUT_OF_MEMORY_RETRIES: usize = 4;
/// y symbols are clamped to this magnitude before coding (only pathological inputs reach it).
const MAX_SYMBOL: f32 = (1 << 24) as f32;

/// The image side: every transform downsamples by 2 four times, so sizes are padded to 64.
pub const ALIGN: usize = 64;

/// An RGB8 picture (stored as RGBA8, alpha ignored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height * 4` bytes, RGBA, row-major.
    pub rgba: Vec<u8>,
}

impl Image {
    /// Wraps RGB8 bytes (`width * height * 3`).
    pub fn from_rgb8(width: usize, height: usize, rgb: &[u8]) -> Result<Image> {
        check_size(width, height)?;
        if rgb.len() != width * height * 3 {
            return Err(Error::InvalidArgument(format!(
                "{} bytes of RGB for {width}x{height}, expected {}",
                rgb.len(),
                width * height * 3
            )));
        }
        let rgba = rgb
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect();
        Ok(Image {
            width,
            height,
            rgba,
        })
    }

    /// The pixels as RGB8 bytes.
    pub fn to_rgb8(&self) -> Vec<u8> {
        self.rgba
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect()
    }
}

fn check_size(width: usize, height: usize) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::Image(format!(
            "image is {width}x{height}: nothing to code"
        )));
    }
    Ok(())
}

/// The entropy side of a model: CDF tables and the integer h_s.
struct EntropyModel {
    z_tables: CdfTables,
    y_tables: CdfTables,
    medians: Vec<f32>,
    int_h_s: IntHyperSynthesis,
}

impl EntropyModel {
    fn new(model: &Model) -> Result<EntropyModel> {
        let missing = |t: &str| {
            Error::weights(
                t,
                "missing: this weight file has no entropy model and cannot code files",
            )
        };
        let f = model
            .factorized
            .as_ref()
            .ok_or_else(|| missing("entropy_bottleneck._quantized_cdf"))?;
        let g = model
            .gaussian
            .as_ref()
            .ok_or_else(|| missing("gaussian_conditional._quantized_cdf"))?;
        let int_h_s = model
            .int_h_s
            .clone()
            .ok_or_else(|| missing("h_s_int.thresholds"))?;
        if f.cdfs.len() > 256 || g.cdfs.len() > 256 {
            return Err(Error::weights(
                "entropy_bottleneck._quantized_cdf",
                "more than 256 tables; indexes are one byte",
            ));
        }
        Ok(EntropyModel {
            z_tables: CdfTables::new(f.cdfs.clone(), f.offsets.clone()),
            y_tables: CdfTables::new(g.cdfs.clone(), g.offsets.clone()),
            medians: f.medians.clone(),
            int_h_s,
        })
    }
}

/// Shapes of the latents of a `width` x `height` image.
#[derive(Clone, Copy, Debug)]
struct LatentShape {
    n: usize,
    m: usize,
    /// y: m x yh x yw
    yh: usize,
    yw: usize,
    /// z: n x zh x zw
    zh: usize,
    zw: usize,
}

impl LatentShape {
    fn new(model: &Model, width: usize, height: usize) -> LatentShape {
        let (pw, ph) = padded_size(width, height);
        LatentShape {
            n: model.n,
            m: model.m,
            yh: ph / 16,
            yw: pw / 16,
            zh: ph / 64,
            zw: pw / 64,
        }
    }

    /// Channel range of y group `g` of `groups`.
    fn group(&self, g: usize, groups: usize) -> std::ops::Range<usize> {
        let per = self.m.div_ceil(groups);
        (g * per).min(self.m)..((g + 1) * per).min(self.m)
    }
}

fn index_hash(indexes: &[u8]) -> [u8; 8] {
    sha2::Sha256::digest(indexes)[..8]
        .try_into()
        .expect("8 bytes")
}

fn quality_q8(q: f32, levels: usize) -> Result<u16> {
    if !(q >= 1.0 && q <= levels as f32) {
        return Err(Error::InvalidArgument(format!(
            "quality {q} is outside 1..={levels}"
        )));
    }
    Ok((q * 256.0).round() as u16)
}

/// Receives a tile's output tensor, the global output rectangle it covers, and where that
/// rectangle starts inside the tensor.
type TileSink<'a> = dyn FnMut(&GpuTensor, Rect, (usize, usize)) -> Result<()> + 'a;

/// A coded picture.
#[derive(Clone, Debug)]
pub struct Encoded {
    /// The `.vaec` file.
    pub bytes: Vec<u8>,
    /// The model's estimate of the payload size in bits (sum of -log2 of the coded probabilities).
    pub estimated_bits: f64,
}

/// The entropy-decoding half of a decode, shared by the GPU and the CPU paths: parses the file,
/// decodes z, asks `hyper` for the scale indexes, checks their hash and decodes y.
fn decode_latents(
    model: &Model,
    em: &EntropyModel,
    bytes: &[u8],
    limits: &Limits,
    hyper: impl FnOnce(&[i32], usize, usize) -> Result<Vec<u8>>,
) -> Result<(Header, LatentShape, Vec<i32>)> {
    let parsed = format::parse(bytes, limits)?;
    let header = parsed.header.clone();
    if header.model_id != model.id {
        return Err(Error::ModelMismatch {
            file: hex(&header.model_id),
            loaded: hex(&model.id),
        });
    }
    quality_q8(header.quality(), model.levels()).map_err(|_| {
        Error::Format(format!(
            "quality {} is outside this model's 1..={}",
            header.quality(),
            model.levels()
        ))
    })?;
    let shape = LatentShape::new(model, header.width as usize, header.height as usize);
    let groups = parsed.streams.len() - 1;
    if groups > shape.m {
        return Err(Error::Format(format!(
            "{groups} y substreams for {} channels",
            shape.m
        )));
    }
    let zplane = shape.zh * shape.zw;
    let z_indexes: Vec<u8> = (0..shape.n * zplane).map(|i| (i / zplane) as u8).collect();
    if shape.n > 256 {
        return Err(Error::weights(
            "entropy_bottleneck._quantized_cdf",
            "more than 256 channels",
        ));
    }
    let z_lanes = format::substream_lanes(0);
    let z = entropy::decode_symbols(parsed.streams[0], &z_indexes, &em.z_tables, z_lanes)
        .map_err(|e| Error::Format(format!("z substream: {e}")))?;
    let indexes = hyper(&z, shape.zh, shape.zw)?;
    if index_hash(&indexes) != header.index_hash {
        return Err(Error::Format(
            "scale-index hash mismatch: this decoder's integer hyper-synthesis disagrees with the encoder's, or the file is corrupt".into(),
        ));
    }
    let yplane = shape.yh * shape.yw;
    let parts: Vec<Result<Vec<i32>>> = (0..groups)
        .into_par_iter()
        .map(|g| {
            let r = shape.group(g, groups);
            entropy::decode_symbols(
                parsed.streams[1 + g],
                &indexes[r.start * yplane..r.end * yplane],
                &em.y_tables,
                format::substream_lanes(1 + g),
            )
            .map_err(|e| Error::Format(format!("y substream {g}: {e}")))
        })
        .collect();
    let mut y = Vec::with_capacity(shape.m * yplane);
    for p in parts {
        y.extend(p?);
    }
    Ok((header, shape, y))
}

/// What g_s takes: the decoded y symbols times the inverse gain of the file's quality.
fn synthesis_input(
    model: &Model,
    header: &Header,
    shape: &LatentShape,
    y: &[i32],
) -> Result<Tensor> {
    let (_, inv_gain) = model.gains_for_quality(header.quality())?;
    let y_hat = Tensor::from_data(
        shape.m,
        shape.yh,
        shape.yw,
        y.iter().map(|v| *v as f32).collect(),
    );
    Ok(reference::scale(&y_hat, &inv_gain))
}

/// Decodes a `.vaec` file on the CPU alone (integer h_s and the reference g_s): no GPU needed.
/// Slow, but it shows that decoding does not depend on the device.
pub fn decode_cpu(model: &Model, bytes: &[u8], limits: &Limits) -> Result<Image> {
    let em = EntropyModel::new(model)?;
    let (header, shape, y) = decode_latents(model, &em, bytes, limits, |z, h, w| {
        Ok(em.int_h_s.run_cpu(z, h, w))
    })?;
    let x_hat = reference::transform(&synthesis_input(model, &header, &shape, &y)?, &model.g_s);
    let (w, h) = (header.width as usize, header.height as usize);
    Ok(Image {
        width: w,
        height: h,
        rgba: reference::tensor_to_rgba8(&x_hat, w, h),
    })
}

/// Decoded symbols and indexes of a file, for tests that compare devices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedLatents {
    /// y symbols (m x yh x yw).
    pub y: Vec<i32>,
    /// Scale indexes of y.
    pub indexes: Vec<u8>,
}

/// Entropy-decodes a file with the CPU integer h_s, returning the symbols and indexes.
pub fn decode_latents_cpu(model: &Model, bytes: &[u8], limits: &Limits) -> Result<DecodedLatents> {
    let em = EntropyModel::new(model)?;
    let mut idx = Vec::new();
    let (_, _, y) = decode_latents(model, &em, bytes, limits, |z, h, w| {
        idx = em.int_h_s.run_cpu(z, h, w);
        Ok(idx.clone())
    })?;
    Ok(DecodedLatents { y, indexes: idx })
}

/// The padded size the transforms work on.
pub fn padded_size(width: usize, height: usize) -> (usize, usize) {
    (
        width.next_multiple_of(ALIGN),
        height.next_multiple_of(ALIGN),
    )
}

/// A model on a GPU: encodes and decodes `.vaec` files.
pub struct Codec {
    ctx: GpuContext,
    model: Model,
    net: GpuNetwork,
    entropy: Option<(EntropyModel, GpuIntHyper)>,
    limits: Limits,
    budget: u64,
}

impl Codec {
    /// Uploads `model` to the GPU of `ctx`. A model without entropy tables can still run the
    /// transforms ([`Codec::reconstruct`]) but not code files.
    pub fn new(ctx: GpuContext, model: Model) -> Result<Codec> {
        let net = ctx.guarded(|| GpuNetwork::new(&ctx, &model))?;
        let entropy = match EntropyModel::new(&model) {
            Ok(em) => {
                let gpu_hyper = ctx.guarded(|| GpuIntHyper::new(&ctx, &em.int_h_s))?;
                Some((em, gpu_hyper))
            }
            Err(_) => None,
        };
        Ok(Codec {
            ctx,
            model,
            net,
            entropy,
            limits: Limits::default(),
            budget: DEFAULT_MEMORY_BUDGET,
        })
    }

    /// Sets the GPU memory budget in bytes: pictures are processed in tiles small enough that the
    /// codec's GPU buffers (weights included) stay within it.
    pub fn set_memory_budget(&mut self, bytes: u64) {
        self.budget = bytes;
    }

    /// The largest output tile side (in output pixels of `t`) whose run fits the memory budget and
    /// the adapter's buffer limits. `extra_per_pixel`: bytes per input pixel uploaded besides the
    /// input tensor (RGBA for g_a).
    fn tile_side(
        &self,
        t: &crate::model::Transform,
        in_c: usize,
        in_size: (usize, usize),
        extra_per_pixel: u64,
    ) -> Result<usize> {
        let out = t.layers.iter().fold(in_size, |(w, h), l| {
            (tiling::output_len(l, w), tiling::output_len(l, h))
        });
        let limits = self.ctx.limits();
        let max_buffer = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let available = self.budget.saturating_sub(self.ctx.memory_in_use());
        let out_c = t.layers.last().map_or(in_c, |l| l.out_channels());
        let mut side = out.0.max(out.1).max(1);
        loop {
            // the worst tile has halos on every side: plan one in the middle
            let cx = out.0.saturating_sub(side) / 2;
            let cy = out.1.saturating_sub(side) / 2;
            let rect = Rect {
                x: (cx, (cx + side).min(out.0)),
                y: (cy, (cy + side).min(out.1)),
            };
            let plan = tiling::plan(t, in_size, rect);
            let (w, h) = (plan.input.width(), plan.input.height());
            let (peak, largest) = tiling::peak_bytes(t, in_c, w, h);
            let readback = GpuTensor::bytes_for(out_c, side, side);
            let need = peak + extra_per_pixel * (w * h) as u64 + readback;
            if need <= available && largest <= max_buffer {
                return Ok(side);
            }
            if side == 1 {
                return Err(Error::Limit {
                    what: "GPU memory needed for the smallest tile (bytes)",
                    value: need + self.ctx.memory_in_use(),
                    limit: self.budget,
                });
            }
            side = side.div_ceil(2);
        }
    }

    /// How many tiles g_a and g_s take for a `width` x `height` picture under the memory budget.
    pub fn tile_counts(&self, width: usize, height: usize) -> Result<(usize, usize)> {
        let (pw, ph) = padded_size(width, height);
        let count = |side: usize, w: usize, h: usize| w.div_ceil(side) * h.div_ceil(side);
        let a = self.tile_side(&self.model.g_a, 3, (pw, ph), 4)?;
        let s = self.tile_side(&self.model.g_s, self.model.m, (pw / 16, ph / 16), 0)?;
        Ok((count(a, pw / 16, ph / 16), count(s, width, height)))
    }

    /// Runs transform `t` (on the GPU as `gt`) over its whole output in tiles: `input` makes the
    /// GPU tensor of an input rectangle, `sink` receives each tile's output tensor with the global
    /// output rectangle it covers and where that rectangle starts inside the tensor.
    #[allow(clippy::too_many_arguments)]
    fn run_tiled(
        &self,
        t: &crate::model::Transform,
        gt: &crate::gpu::GpuTransform,
        in_c: usize,
        in_size: (usize, usize),
        out_limit: (usize, usize),
        extra_per_pixel: u64,
        input: &mut dyn FnMut(Rect) -> Result<GpuTensor>,
        sink: &mut TileSink<'_>,
    ) -> Result<usize> {
        let mut side = self.tile_side(t, in_c, in_size, extra_per_pixel)?;
        let mut retries = 0;
        loop {
            let mut tiles = 0;
            let (xspans, yspans) = (
                tiling::spans(out_limit.0, side),
                tiling::spans(out_limit.1, side),
            );
            let run = yspans
                .iter()
                .flat_map(|&y| xspans.iter().map(move |&x| Rect { x, y }))
                .try_for_each(|rect| {
                    let plan = tiling::plan(t, in_size, rect);
                    tiles += 1;
                    self.ctx.guarded(|| {
                        self.ctx.injected_out_of_memory()?;
                        let x = input(plan.input)?;
                        let y = gt.run(&self.ctx, &x)?;
                        drop(x);
                        sink(&y, rect, plan.offset)
                    })
                });
            match run {
                // The budget is an estimate and drivers differ: retry the whole transform with
                // smaller tiles (every tile is written again, so partial output does not matter).
                Err(Error::GpuOutOfMemory(why)) => {
                    if retries == OUT_OF_MEMORY_RETRIES || side == 1 {
                        return Err(Error::GpuOutOfMemory(format!(
                            "{why} (still with tiles of {side} x {side} pixels after {retries} \
                             retries; try a lower --memory-budget)"
                        )));
                    }
                    retries += 1;
                    side = side.div_ceil(2);
                }
                other => return other.map(|()| tiles),
            }
        }
    }

    /// Sets the size limits that encode and decode enforce.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    fn entropy(&self) -> Result<&(EntropyModel, GpuIntHyper)> {
        match &self.entropy {
            Some(e) => Ok(e),
            None => Err(EntropyModel::new(&self.model)
                .err()
                .unwrap_or_else(|| Error::weights("*", "no entropy model"))),
        }
    }

    /// Encodes a picture at `quality` (1 = smallest .. levels = best, fractions allowed).
    pub fn encode(&self, image: &Image, quality: f32) -> Result<Encoded> {
        check_size(image.width, image.height)?;
        self.limits.check(image.width as u64, image.height as u64)?;
        let (em, gpu_hyper) = self.entropy()?;
        let q8 = quality_q8(quality, self.model.levels())?;
        let (gain, _) = self.model.gains_for_quality(q8 as f32 / 256.0)?;
        let shape = LatentShape::new(&self.model, image.width, image.height);

        let y_gained = reference::scale(&self.analysis(image)?, &gain);
        let z = self.hyper_analysis(&y_gained)?;

        let zplane = shape.zh * shape.zw;
        let z_symbols: Vec<i32> = z
            .data
            .iter()
            .enumerate()
            .map(|(i, v)| (v - em.medians[i / zplane]).round_ties_even() as i32)
            .collect();
        let z_indexes: Vec<u8> = (0..shape.n * zplane).map(|i| (i / zplane) as u8).collect();
        let indexes = self
            .ctx
            .guarded(|| gpu_hyper.run(&self.ctx, &z_symbols, shape.zh, shape.zw))?;
        let y_symbols: Vec<i32> = y_gained
            .data
            .iter()
            .map(|v| v.round_ties_even().clamp(-MAX_SYMBOL, MAX_SYMBOL) as i32)
            .collect();

        let yplane = shape.yh * shape.yw;
        let groups = (shape.m * yplane)
            .div_ceil(MIN_GROUP_SYMBOLS)
            .clamp(1, Y_GROUPS.min(shape.m));
        let coded: Vec<Result<(Vec<u8>, f64)>> = (0..=groups)
            .into_par_iter()
            .map(|g| {
                let (syms, idx, tables) = if g == 0 {
                    (&z_symbols[..], &z_indexes[..], &em.z_tables)
                } else {
                    let r = shape.group(g - 1, groups);
                    let span = r.start * yplane..r.end * yplane;
                    (&y_symbols[span.clone()], &indexes[span], &em.y_tables)
                };
                let lanes = format::substream_lanes(g);
                let bytes = entropy::encode_symbols(syms, idx, tables, lanes)
                    .map_err(|e| Error::Image(format!("entropy coding: {e}")))?;
                let bits = entropy::estimate_bits(syms, idx, tables)
                    .map_err(|e| Error::Image(format!("entropy coding: {e}")))?;
                Ok((bytes, bits))
            })
            .collect();
        let mut streams = Vec::with_capacity(groups + 1);
        let mut estimated_bits = 0.0;
        for c in coded {
            let (bytes, bits) = c?;
            streams.push(bytes);
            estimated_bits += bits;
        }
        let header = Header {
            model_id: self.model.id,
            width: image.width as u32,
            height: image.height as u32,
            colour: format::COLOUR_SRGB8,
            quality_q8: q8,
            index_hash: index_hash(&indexes),
        };
        Ok(Encoded {
            bytes: format::write(&header, &streams)?,
            estimated_bits,
        })
    }

    /// Decodes a `.vaec` file.
    pub fn decode(&self, bytes: &[u8]) -> Result<Image> {
        let (header, y) = self.decode_to_synthesis_input(bytes)?;
        self.synthesize(&y, header.width as usize, header.height as usize)
    }

    /// Parses, entropy-decodes (integer h_s on the GPU) and scales: the header and g_s's input.
    fn decode_to_synthesis_input(&self, bytes: &[u8]) -> Result<(Header, Tensor)> {
        let (em, gpu_hyper) = self.entropy()?;
        let (header, shape, y) =
            decode_latents(&self.model, em, bytes, &self.limits, |z, h, w| {
                self.ctx.guarded(|| gpu_hyper.run(&self.ctx, z, h, w))
            })?;
        let input = synthesis_input(&self.model, &header, &shape, &y)?;
        Ok((header, input))
    }

    /// Entropy-decodes a file with the GPU's integer h_s, returning symbols and indexes.
    pub fn decode_latents(&self, bytes: &[u8]) -> Result<DecodedLatents> {
        let (em, gpu_hyper) = self.entropy()?;
        let mut idx = Vec::new();
        let (_, _, y) = decode_latents(&self.model, em, bytes, &self.limits, |z, h, w| {
            idx = self.ctx.guarded(|| gpu_hyper.run(&self.ctx, z, h, w))?;
            Ok(idx.clone())
        })?;
        Ok(DecodedLatents { y, indexes: idx })
    }

    /// The GPU context.
    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The transforms on the GPU.
    pub fn network(&self) -> &GpuNetwork {
        &self.net
    }

    /// Image -> replicate-padded tensor -> g_a, in tiles: the latent y before the gain.
    pub fn analysis(&self, image: &Image) -> Result<Tensor> {
        check_size(image.width, image.height)?;
        let (pw, ph) = padded_size(image.width, image.height);
        let mut y = Tensor::zeros(self.model.m, ph / 16, pw / 16);
        self.run_tiled(
            &self.model.g_a,
            &self.net.g_a,
            3,
            (pw, ph),
            (pw / 16, ph / 16),
            4,
            &mut |r| {
                // the tile's pixels, replicate-padded beyond the picture as the whole is
                let mut rgba = Vec::with_capacity(r.width() * r.height() * 4);
                for yy in r.y.0..r.y.1 {
                    let row = yy.min(image.height - 1) * image.width;
                    for xx in r.x.0..r.x.1 {
                        let at = (row + xx.min(image.width - 1)) * 4;
                        rgba.extend_from_slice(&image.rgba[at..at + 4]);
                    }
                }
                self.ctx
                    .rgba8_to_tensor(&rgba, r.width(), r.height(), r.width(), r.height())
            },
            &mut |t, r, off| {
                let tile = self.ctx.download_tensor(t)?;
                y.paste(&tile, off, (r.x.0, r.y.0), r.width(), r.height());
                Ok(())
            },
        )?;
        Ok(y)
    }

    /// h_a on |y * gain|, in tiles: z.
    fn hyper_analysis(&self, y_gained: &Tensor) -> Result<Tensor> {
        let (w, h) = (y_gained.width, y_gained.height);
        let mut z = Tensor::zeros(self.model.n, h / 4, w / 4);
        self.run_tiled(
            &self.model.h_a,
            &self.net.h_a,
            self.model.m,
            (w, h),
            (w / 4, h / 4),
            0,
            &mut |r| {
                self.ctx
                    .upload_tensor(&y_gained.crop(r.x.0, r.y.0, r.width(), r.height()))
            },
            &mut |t, r, off| {
                let tile = self.ctx.download_tensor(t)?;
                z.paste(&tile, off, (r.x.0, r.y.0), r.width(), r.height());
                Ok(())
            },
        )?;
        Ok(z)
    }

    /// y_hat (integers, gained domain) -> inverse gain -> g_s, in tiles -> RGB8 picture.
    pub fn synthesis(
        &self,
        y_hat: &Tensor,
        inv_gain: &[f32],
        width: usize,
        height: usize,
    ) -> Result<Image> {
        self.synthesize(&reference::scale(y_hat, inv_gain), width, height)
    }

    /// g_s in tiles on `y` (already divided by the gain), cropped to `width` x `height`.
    fn synthesize(&self, y: &Tensor, width: usize, height: usize) -> Result<Image> {
        let mut rgba = vec![0u8; width * height * 4];
        self.run_tiled(
            &self.model.g_s,
            &self.net.g_s,
            self.model.m,
            (y.width, y.height),
            (width, height),
            0,
            &mut |r| {
                self.ctx
                    .upload_tensor(&y.crop(r.x.0, r.y.0, r.width(), r.height()))
            },
            &mut |t, r, off| {
                let tile = self
                    .ctx
                    .tensor_region_to_rgba8(t, off, r.width(), r.height())?;
                for (row, yy) in (r.y.0..r.y.1).enumerate() {
                    let dst = (yy * width + r.x.0) * 4;
                    let src = row * r.width() * 4;
                    rgba[dst..dst + r.width() * 4].copy_from_slice(&tile[src..src + r.width() * 4]);
                }
                Ok(())
            },
        )?;
        Ok(Image {
            width,
            height,
            rgba,
        })
    }

    /// Decodes a `.vaec` file straight into a new `Rgba8Unorm` texture on the codec's device
    /// (usable as `TEXTURE_BINDING`, `COPY_SRC`, `COPY_DST`): the pixels never leave the GPU.
    pub fn decode_to_texture(&self, bytes: &[u8]) -> Result<wgpu::Texture> {
        let (header, y) = self.decode_to_synthesis_input(bytes)?;
        let (width, height) = (header.width as usize, header.height as usize);
        // texture copies need rows 256-byte aligned
        let pitch = (width * 4).next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT as usize) / 4;
        let pixels = self
            .ctx
            .storage_buffer("decoded rgba8", (pitch * height * 4) as u64)?;
        self.run_tiled(
            &self.model.g_s,
            &self.net.g_s,
            self.model.m,
            (y.width, y.height),
            (width, height),
            0, // the picture buffer is already allocated, and counted
            &mut |r| {
                self.ctx
                    .upload_tensor(&y.crop(r.x.0, r.y.0, r.width(), r.height()))
            },
            &mut |t, r, off| {
                let mut encoder = self.ctx.encoder("tile to texture buffer");
                self.ctx.kernels().tensor_to_rgba8(
                    &self.ctx,
                    &mut encoder,
                    t,
                    off,
                    r.width(),
                    r.height(),
                    &pixels.buffer,
                    (r.x.0, r.y.0, pitch),
                )?;
                self.ctx.submit(encoder);
                Ok(())
            },
        )?;
        let size = wgpu::Extent3d {
            width: width as u32,
            height: height as u32,
            depth_or_array_layers: 1,
        };
        let limit = self.ctx.limits().max_texture_dimension_2d;
        if size.width > limit || size.height > limit {
            return Err(Error::Limit {
                what: "texture side",
                value: size.width.max(size.height) as u64,
                limit: limit as u64,
            });
        }
        let texture = self.ctx.device.create_texture(&wgpu::TextureDescriptor {
            label: Some("vaec decoded picture"),
            size,
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba8Unorm,
            usage: wgpu::TextureUsages::TEXTURE_BINDING
                | wgpu::TextureUsages::COPY_SRC
                | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        let mut encoder = self.ctx.encoder("buffer to texture");
        encoder.copy_buffer_to_texture(
            wgpu::TexelCopyBufferInfo {
                buffer: &pixels.buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some((pitch * 4) as u32),
                    rows_per_image: Some(height as u32),
                },
            },
            texture.as_image_copy(),
            size,
        );
        self.ctx.submit(encoder);
        Ok(texture)
    }

    /// Encodes an application's `Rgba8Unorm` (or `Rgba8UnormSrgb`) texture, which needs `COPY_SRC`
    /// usage. The pixels are read back once: entropy coding runs on the CPU anyway.
    pub fn encode_texture(&self, texture: &wgpu::Texture, quality: f32) -> Result<Encoded> {
        let format = texture.format();
        if !matches!(
            format,
            wgpu::TextureFormat::Rgba8Unorm | wgpu::TextureFormat::Rgba8UnormSrgb
        ) {
            return Err(Error::InvalidArgument(format!(
                "texture format {format:?}; encode_texture reads Rgba8Unorm"
            )));
        }
        if !texture.usage().contains(wgpu::TextureUsages::COPY_SRC) {
            return Err(Error::InvalidArgument(
                "the texture needs COPY_SRC usage".into(),
            ));
        }
        let (width, height) = (texture.width() as usize, texture.height() as usize);
        check_size(width, height)?;
        self.limits.check(width as u64, height as u64)?;
        let pitch = (width * 4).next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT as usize);
        let staging = self
            .ctx
            .storage_buffer("texture readback", (pitch * height) as u64)?;
        let mut encoder = self.ctx.encoder("texture to buffer");
        encoder.copy_texture_to_buffer(
            texture.as_image_copy(),
            wgpu::TexelCopyBufferInfo {
                buffer: &staging.buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(pitch as u32),
                    rows_per_image: Some(height as u32),
                },
            },
            texture.size(),
        );
        self.ctx.submit(encoder);
        let bytes = self
            .ctx
            .read_buffer(&staging.buffer, (pitch * height) as u64)?;
        drop(staging);
        let mut rgba = Vec::with_capacity(width * height * 4);
        for row in bytes.chunks_exact(pitch) {
            rgba.extend_from_slice(&row[..width * 4]);
        }
        self.encode(
            &Image {
                width,
                height,
                rgba,
            },
            quality,
        )
    }

    /// The transform chain without entropy coding: g_a, gain and rounding at `quality`, g_s.
    pub fn reconstruct(&self, image: &Image, quality: f32) -> Result<Image> {
        let (gain, inv_gain) = self.model.gains_for_quality(quality)?;
        let y = self.analysis(image)?;
        let y_hat = reference::scale_round(&y, &gain);
        self.synthesis(&y_hat, &inv_gain, image.width, image.height)
    }
}
