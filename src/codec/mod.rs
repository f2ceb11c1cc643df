//! The codec: picture -> g_a -> latents -> rANS -> `.vaec`, and back.
//!
//! - `latent`: the latent codec (entropy model, substreams, index hash), used by every path;
//!   `params`: where its integer networks run (GPU or CPU);
//! - `tiled`: transforms over big pictures in tiles that fit the GPU memory budget;
//! - `cpu`: decoding without a GPU; `options`: what a codec is configured with;
//! - `rate`: rate control, the fractional quality that reaches a size or a PSNR.
//!
//! Only integer symbols and one-byte table indexes cross between GPU and CPU besides y and z
//! themselves; the indexes come from the integer hyper-synthesis, so encoder and decoder agree on
//! every device, and a hash of the index map in the header catches any device that does not.

mod cpu;
mod latent;
mod options;
mod params;
mod rate;
mod tiled;

pub use cpu::{decode_cpu, decode_latents_cpu};
pub use latent::{DecodedLatents, Y_GROUPS};
pub use options::{CodecOptions, DEFAULT_MEMORY_BUDGET};
pub use rate::{Target, Targeted};

use crate::error::Result;
use crate::format::{self, Header, Parsed};
use crate::gpu::{
    host_stage, texture_row_pitch, GpuContext, GpuIntNetworks, GpuNetwork, GpuTensor, PixelTarget,
    Probe,
};
use crate::image::{check_size, Image};
use crate::model::Model;
use crate::tensor::Tensor;
use latent::{LatentCodec, LatentShape};
use params::OnGpu;
use tiled::run_tiled;

/// A coded picture.
#[derive(Clone, Debug)]
pub struct Encoded {
    /// The `.vaec` file.
    pub bytes: Vec<u8>,
    /// The model's estimate of the payload size in bits (sum of -log2 of the coded probabilities).
    pub estimated_bits: f64,
}

/// The entropy side of a codec, or the tensor its weight file lacks.
enum Latent {
    Ready(Box<(LatentCodec, GpuIntNetworks)>),
    Missing(&'static str),
}

/// A model on a GPU: encodes and decodes `.vaec` files.
pub struct Codec {
    ctx: GpuContext,
    model: Model,
    net: GpuNetwork,
    latent: Latent,
    options: CodecOptions,
}

/// What g_s takes: y_hat (the decoded symbols, plus the means of a context model) times the
/// inverse gain of the file's quality.
pub(crate) fn synthesis_input(
    model: &Model,
    header: &Header,
    shape: &LatentShape,
    decoded: &DecodedLatents,
) -> Result<Tensor> {
    let (_, inv_gain) = model.gains_for_quality(header.quality())?;
    let y_hat = Tensor::from_data(shape.m, shape.yh, shape.yw, decoded.y_hat());
    Ok(y_hat.scale_channels(&inv_gain))
}

/// The quality in the header's 1/256 steps.
fn quality_q8(model: &Model, q: f32) -> Result<u16> {
    model.check_quality(q)?;
    Ok((q * 256.0).round() as u16)
}

impl Codec {
    /// Uploads `model` to the GPU of `ctx` with the default options. A model without entropy
    /// tables can still run the transforms ([`Codec::reconstruct`]) but not code files.
    pub fn new(ctx: GpuContext, model: Model) -> Result<Codec> {
        Codec::with_options(ctx, model, CodecOptions::default())
    }

    /// Uploads `model` to the GPU of `ctx`, configured by `options`.
    pub fn with_options(ctx: GpuContext, model: Model, options: CodecOptions) -> Result<Codec> {
        let ctx = match options.portable_kernels && ctx.uses_subgroups() {
            true => ctx.without_subgroups()?,
            false => ctx,
        };
        let net = ctx.guarded(|| GpuNetwork::new(&ctx, &model))?;
        let latent = match LatentCodec::new(&model) {
            Ok(codec) => {
                let gpu = ctx.guarded(|| {
                    GpuIntNetworks::new(&ctx, &codec.int_h_s, codec.context.as_ref())
                })?;
                Latent::Ready(Box::new((codec, gpu)))
            }
            Err(tensor) => Latent::Missing(tensor),
        };
        Ok(Codec {
            ctx,
            model,
            net,
            latent,
            options,
        })
    }

    /// The options the codec was made with.
    pub fn options(&self) -> &CodecOptions {
        &self.options
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

    fn latent(&self) -> Result<(&LatentCodec, OnGpu<'_>)> {
        match &self.latent {
            Latent::Ready(ready) => {
                let (codec, net) = &**ready;
                let budget = self.options.memory_budget;
                Ok((
                    codec,
                    OnGpu {
                        ctx: &self.ctx,
                        net,
                        budget,
                    },
                ))
            }
            Latent::Missing(tensor) => Err(LatentCodec::missing(tensor)),
        }
    }

    /// Encodes a picture at `quality` (1 = smallest .. levels = best, fractions allowed).
    pub fn encode(&self, image: &Image, quality: f32) -> Result<Encoded> {
        self.encode_probed(image, quality, None)
    }

    /// [`Codec::encode`], recording every stage's time in `probe` if there is one.
    pub fn encode_probed(
        &self,
        image: &Image,
        quality: f32,
        probe: Option<&Probe>,
    ) -> Result<Encoded> {
        self.check_encodable(image)?;
        let q8 = quality_q8(&self.model, quality)?;
        let y = self.analysis_probed(image, probe)?;
        self.encode_analysed(image, &y, q8, probe)
    }

    /// Refuses a picture that cannot be encoded: its size, the limits, a model without entropy
    /// tables, a memory budget too small.
    fn check_encodable(&self, image: &Image) -> Result<()> {
        check_size(image.width, image.height)?;
        self.options
            .limits
            .check(image.width as u64, image.height as u64)?;
        self.latent()?;
        self.check_memory_budget(image.width, image.height, true)
    }

    /// Codes `image` whose g_a output is `y` at quality `q8` (1/256 steps): the gain, h_a, the
    /// entropy model and the container.
    fn encode_analysed(
        &self,
        image: &Image,
        y: &Tensor,
        q8: u16,
        probe: Option<&Probe>,
    ) -> Result<Encoded> {
        let (latent, params) = self.latent()?;
        let (gain, _) = self.model.gains_for_quality(q8 as f32 / 256.0)?;
        let shape = LatentShape::new(&self.model, image.width, image.height);
        let (y_gained, hyper_input) = host_stage(probe, "gain, |y| (CPU)", || {
            let y_gained = y.scale_channels(&gain);
            let hyper_input = y_gained.abs();
            Ok((y_gained, hyper_input))
        })?;
        let z = self.hyper_analysis(&hyper_input, probe)?;
        let coded = latent.encode(&shape, &y_gained, &z, &params, probe)?;
        let header = Header {
            version: latent.version(),
            model_id: self.model.id,
            width: image.width as u32,
            height: image.height as u32,
            colour: format::COLOUR_SRGB8,
            source_depth: 0,
            quality_q8: q8,
            index_hash: coded.index_hash,
        };
        Ok(Encoded {
            bytes: format::write(&header, &coded.streams)?,
            estimated_bits: coded.estimated_bits,
        })
    }

    /// Decodes a `.vaec` file.
    pub fn decode(&self, bytes: &[u8]) -> Result<Image> {
        self.decode_probed(bytes, None)
    }

    /// [`Codec::decode`], recording every stage's time in `probe` if there is one.
    pub fn decode_probed(&self, bytes: &[u8], probe: Option<&Probe>) -> Result<Image> {
        let parsed = format::parse(bytes, &self.options.limits)?;
        self.decode_parsed(&parsed, probe)
    }

    /// Decodes a parsed file's RGB.
    pub(crate) fn decode_parsed(
        &self,
        parsed: &Parsed<'_>,
        probe: Option<&Probe>,
    ) -> Result<Image> {
        let (header, y) = self.decode_to_synthesis_input(parsed, probe)?;
        self.synthesize(&y, header.width as usize, header.height as usize, probe)
    }

    /// Parses, entropy-decodes (integer networks on the GPU) and scales: the header and g_s's input.
    fn decode_to_synthesis_input(
        &self,
        parsed: &Parsed<'_>,
        probe: Option<&Probe>,
    ) -> Result<(Header, Tensor)> {
        let (latent, params) = self.latent()?;
        let (width, height) = (parsed.header.width, parsed.header.height);
        self.check_memory_budget(width as usize, height as usize, false)?;
        let (header, shape, decoded) = latent.decode(&self.model, parsed, &params, probe)?;
        let y = host_stage(probe, "inverse gain (CPU)", || {
            synthesis_input(&self.model, &header, &shape, &decoded)
        })?;
        Ok((header, y))
    }

    /// Entropy-decodes a file with the GPU's integer networks, returning symbols and indexes.
    pub fn decode_latents(&self, bytes: &[u8]) -> Result<DecodedLatents> {
        let (latent, params) = self.latent()?;
        let parsed = format::parse(bytes, &self.options.limits)?;
        let (_, _, decoded) = latent.decode(&self.model, &parsed, &params, None)?;
        Ok(decoded)
    }

    /// Image -> replicate-padded tensor -> g_a, in tiles: the latent y before the gain.
    pub fn analysis(&self, image: &Image) -> Result<Tensor> {
        self.analysis_probed(image, None)
    }

    fn analysis_probed(&self, image: &Image, probe: Option<&Probe>) -> Result<Tensor> {
        check_size(image.width, image.height)?;
        let stage = self.g_a_stage(image.width, image.height);
        let (yw, yh) = stage.out_limit;
        let mut y = Tensor::zeros(self.model.m, yh, yw);
        run_tiled(
            &self.ctx,
            self.options.memory_budget,
            &stage,
            &mut |r| {
                host_stage(probe, "upload picture + rgba8_to_tensor", || {
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
                })
            },
            &mut |t, r, off| {
                let tile = host_stage(probe, "readback y", || self.ctx.download_tensor(t))?;
                y.paste(&tile, off, (r.x.0, r.y.0), r.width(), r.height());
                Ok(())
            },
            probe,
        )?;
        Ok(y)
    }

    /// h_a on its input (|y * gain|), in tiles: z.
    fn hyper_analysis(&self, input: &Tensor, probe: Option<&Probe>) -> Result<Tensor> {
        let stage = self.h_a_stage((input.width, input.height));
        let (zw, zh) = stage.out_limit;
        let mut z = Tensor::zeros(self.model.n, zh, zw);
        run_tiled(
            &self.ctx,
            self.options.memory_budget,
            &stage,
            &mut |r| {
                host_stage(probe, "upload h_a input", || {
                    self.ctx
                        .upload_tensor(&input.crop(r.x.0, r.y.0, r.width(), r.height()))
                })
            },
            &mut |t, r, off| {
                let tile = host_stage(probe, "readback z", || self.ctx.download_tensor(t))?;
                z.paste(&tile, off, (r.x.0, r.y.0), r.width(), r.height());
                Ok(())
            },
            probe,
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
        self.synthesize(&y_hat.scale_channels(inv_gain), width, height, None)
    }

    /// Runs g_s in tiles on `y` (already divided by the gain); each tile's output goes to `sink`.
    fn run_synthesis(
        &self,
        y: &Tensor,
        width: usize,
        height: usize,
        probe: Option<&Probe>,
        sink: &mut tiled::TileSink<'_>,
    ) -> Result<usize> {
        let stage = self.g_s_stage((y.width, y.height), width, height);
        run_tiled(
            &self.ctx,
            self.options.memory_budget,
            &stage,
            &mut |r| {
                host_stage(probe, "upload y_hat", || {
                    self.ctx
                        .upload_tensor(&y.crop(r.x.0, r.y.0, r.width(), r.height()))
                })
            },
            sink,
            probe,
        )
    }

    /// g_s in tiles on `y` (already divided by the gain), cropped to `width` x `height`.
    fn synthesize(
        &self,
        y: &Tensor,
        width: usize,
        height: usize,
        probe: Option<&Probe>,
    ) -> Result<Image> {
        let mut rgba = vec![0u8; width * height * 4];
        self.run_synthesis(y, width, height, probe, &mut |t, r, off| {
            let tile = host_stage(probe, "tensor_to_rgba8 + readback", || {
                self.ctx
                    .tensor_region_to_rgba8(t, off, r.width(), r.height())
            })?;
            for (row, yy) in (r.y.0..r.y.1).enumerate() {
                let dst = (yy * width + r.x.0) * 4;
                let src = row * r.width() * 4;
                rgba[dst..dst + r.width() * 4].copy_from_slice(&tile[src..src + r.width() * 4]);
            }
            Ok(())
        })?;
        Ok(Image {
            width,
            height,
            rgba,
        })
    }

    /// Decodes a `.vaec` file straight into a new `Rgba8Unorm` texture on the codec's device
    /// (usable as `TEXTURE_BINDING`, `COPY_SRC`, `COPY_DST`): the pixels never leave the GPU.
    /// A file's alpha plane goes into the texture's alpha (opaque otherwise); a grayscale file
    /// gives its three decoded channels.
    pub fn decode_to_texture(&self, bytes: &[u8]) -> Result<wgpu::Texture> {
        let parsed = format::parse(bytes, &self.options.limits)?;
        let (header, y) = self.decode_to_synthesis_input(&parsed, None)?;
        let (width, height) = (header.width as usize, header.height as usize);
        let pitch = texture_row_pitch(width) / 4;
        let pixels = self
            .ctx
            .storage_buffer("decoded rgba8", (pitch * height * 4) as u64)?;
        self.run_synthesis(&y, width, height, None, &mut |t: &GpuTensor, r, off| {
            let target = PixelTarget {
                x: r.x.0,
                y: r.y.0,
                pitch,
            };
            self.ctx.run("tile to texture buffer", |rec| {
                rec.tensor_to_rgba8(t, off, (r.width(), r.height()), &pixels.buffer, target)
            })
        })?;
        if let Some(plane) = &parsed.alpha {
            let alpha = self.ctx.upload_alpha(plane)?;
            self.ctx.run("alpha into the texture buffer", |rec| {
                rec.merge_alpha(&alpha.buffer, (width, height), &pixels.buffer, pitch)
            })?;
        }
        self.ctx.texture_from_buffer(&pixels.buffer, width, height)
    }

    /// Encodes an application's `Rgba8Unorm` (or `Rgba8UnormSrgb`) texture, which needs `COPY_SRC`
    /// usage. The pixels are read back once: entropy coding runs on the CPU anyway.
    pub fn encode_texture(&self, texture: &wgpu::Texture, quality: f32) -> Result<Encoded> {
        let (width, height) = (texture.width() as usize, texture.height() as usize);
        check_size(width, height)?;
        self.options.limits.check(width as u64, height as u64)?;
        let rgba = self.ctx.read_texture(texture)?;
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
        let y_hat = self.analysis(image)?.scale_channels(&gain).round();
        self.synthesis(&y_hat, &inv_gain, image.width, image.height)
    }
}
