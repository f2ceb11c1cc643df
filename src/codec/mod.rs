//! The codec: picture -> g_a -> latents -> rANS -> `.vaec`, and back.
//!
//! - `latent`: the latent codec (entropy model, substreams, index hash), used by every path;
//!   `params`: where its integer networks run (GPU or CPU);
//! - `tiled`: transforms over big pictures in tiles that fit the GPU memory budget;
//! - `cpu`: decoding without a GPU; `options`: what a codec is configured with;
//! - `rate`: rate control, the fractional quality that reaches a size or a PSNR;
//! - `blocking`: the blocking API of native programs, each call waiting for its `_async` twin.
//!
//! Only integer symbols and one-byte table indexes cross between GPU and CPU besides y and z
//! themselves; the indexes come from the integer hyper-synthesis, so encoder and decoder agree on
//! every device, and a hash of the index map in the header catches any device that does not.

#[cfg(not(target_arch = "wasm32"))]
mod blocking;
mod cpu;
mod effort;
mod latent;
mod options;
mod params;
mod rate;
mod tiled;

pub use cpu::{decode_cpu, decode_latents_cpu, decode_picture_cpu};
pub use effort::{lambda_for_quality, Schedule, LAMBDAS, MAX_EFFORT};
pub use latent::{DecodedLatents, Y_GROUPS};
pub use options::{CodecOptions, DEFAULT_MEMORY_BUDGET};
pub use rate::{Target, Targeted};

use crate::error::Result;
use crate::format::{self, Header, Parsed};
use crate::gpu::{host_stage, texture_row_pitch, GpuContext, GpuIntNetworks, GpuNetwork, Probe};
use crate::image::{check_size, Image};
use crate::model::Model;
use crate::tensor::Tensor;
use latent::{LatentCodec, LatentShape};
use params::OnGpu;
use tiled::{run_tiled, TileInput, TileOutput};

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
    /// Uploads `model` to the GPU of `ctx`, configured by `options`.
    pub async fn with_options_async(
        ctx: GpuContext,
        model: Model,
        options: CodecOptions,
    ) -> Result<Codec> {
        let ctx = match options.portable_kernels && ctx.uses_subgroups() {
            true => ctx.without_subgroups_async().await?,
            false => ctx,
        };
        let net = ctx
            .guarded_async(async { GpuNetwork::new(&ctx, &model) })
            .await?;
        let latent = match LatentCodec::new(&model) {
            Ok(codec) => {
                let upload =
                    async { GpuIntNetworks::new(&ctx, &codec.int_h_s, codec.context.as_ref()) };
                let gpu = ctx.guarded_async(upload).await?;
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

    /// Encodes a picture at `quality` (1 = smallest .. levels = best, fractions allowed),
    /// recording every stage's time in `probe` if there is one.
    pub async fn encode_async(
        &self,
        image: &Image,
        quality: f32,
        probe: Option<&Probe>,
    ) -> Result<Encoded> {
        self.check_encodable(image)?;
        let q8 = quality_q8(&self.model, quality)?;
        let y = self.analysis_async(image, probe).await?;
        self.encode_analysed(image, &y, q8, self.options.effort, probe)
            .await
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

    /// Codes `image` whose g_a output is `y` at quality `q8` (1/256 steps) and `effort`: the
    /// gain, h_a, the search, the entropy model and the container.
    async fn encode_analysed(
        &self,
        image: &Image,
        y: &Tensor,
        q8: u16,
        effort: u8,
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
        let z = self.hyper_analysis(&hyper_input, probe).await?;
        let coded = match effort::Schedule::of(effort) {
            None => latent.encode(&shape, &y_gained, &z, &params, probe).await?,
            Some(schedule) => {
                let quality = q8 as f32 / 256.0;
                self.search_latents(image, &shape, (&y_gained, &z), quality, &schedule, probe)
                    .await?
            }
        };
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

    /// Decodes a `.vaec` file's RGB, recording every stage's time in `probe` if there is one.
    pub async fn decode_async(&self, bytes: &[u8], probe: Option<&Probe>) -> Result<Image> {
        let parsed = format::parse(bytes, &self.options.limits)?;
        self.decode_parsed(&parsed, probe).await
    }

    /// Decodes a parsed file's RGB.
    pub(crate) async fn decode_parsed(
        &self,
        parsed: &Parsed<'_>,
        probe: Option<&Probe>,
    ) -> Result<Image> {
        let (header, y) = self.decode_to_synthesis_input(parsed, probe).await?;
        let (width, height) = (header.width as usize, header.height as usize);
        self.synthesize(&y, width, height, probe).await
    }

    /// Parses, entropy-decodes (integer networks on the GPU) and scales: the header and g_s's input.
    async fn decode_to_synthesis_input(
        &self,
        parsed: &Parsed<'_>,
        probe: Option<&Probe>,
    ) -> Result<(Header, Tensor)> {
        let (latent, params) = self.latent()?;
        let (width, height) = (parsed.header.width, parsed.header.height);
        self.check_memory_budget(width as usize, height as usize, false)?;
        let (header, shape, decoded) = latent.decode(&self.model, parsed, &params, probe).await?;
        let y = host_stage(probe, "inverse gain (CPU)", || {
            synthesis_input(&self.model, &header, &shape, &decoded)
        })?;
        Ok((header, y))
    }

    /// Entropy-decodes a file with the GPU's integer networks, returning symbols and indexes.
    pub async fn decode_latents_async(&self, bytes: &[u8]) -> Result<DecodedLatents> {
        let (latent, params) = self.latent()?;
        let parsed = format::parse(bytes, &self.options.limits)?;
        let (_, _, decoded) = latent.decode(&self.model, &parsed, &params, None).await?;
        Ok(decoded)
    }

    /// Image -> replicate-padded tensor -> g_a, in tiles: the latent y before the gain.
    pub async fn analysis_async(&self, image: &Image, probe: Option<&Probe>) -> Result<Tensor> {
        check_size(image.width, image.height)?;
        let stage = self.g_a_stage(image.width, image.height);
        let (yw, yh) = stage.out_limit;
        let mut y = Tensor::zeros(self.model.m, yh, yw);
        let input = TileInput::Picture(image);
        self.run_stage(&stage, input, &mut TileOutput::Tensor(&mut y), probe)
            .await?;
        Ok(y)
    }

    /// h_a on its input (|y * gain|), in tiles: z.
    async fn hyper_analysis(&self, input: &Tensor, probe: Option<&Probe>) -> Result<Tensor> {
        let stage = self.h_a_stage((input.width, input.height));
        let (zw, zh) = stage.out_limit;
        let mut z = Tensor::zeros(self.model.n, zh, zw);
        let input = TileInput::Tensor(input);
        self.run_stage(&stage, input, &mut TileOutput::Tensor(&mut z), probe)
            .await?;
        Ok(z)
    }

    /// Runs a tiled stage within the codec's memory budget.
    async fn run_stage(
        &self,
        stage: &tiled::Stage<'_>,
        input: TileInput<'_>,
        output: &mut TileOutput<'_>,
        probe: Option<&Probe>,
    ) -> Result<usize> {
        let budget = self.options.memory_budget;
        run_tiled(&self.ctx, budget, stage, input, output, probe).await
    }

    /// y_hat (integers, gained domain) -> inverse gain -> g_s, in tiles -> RGB8 picture.
    pub async fn synthesis_async(
        &self,
        y_hat: &Tensor,
        inv_gain: &[f32],
        width: usize,
        height: usize,
    ) -> Result<Image> {
        let y = y_hat.scale_channels(inv_gain);
        self.synthesize(&y, width, height, None).await
    }

    /// g_s in tiles on `y` (already divided by the gain), cropped to `width` x `height`.
    async fn synthesize(
        &self,
        y: &Tensor,
        width: usize,
        height: usize,
        probe: Option<&Probe>,
    ) -> Result<Image> {
        let mut rgba = vec![0u8; width * height * 4];
        let stage = self.g_s_stage((y.width, y.height), width, height);
        let mut output = TileOutput::Pixels {
            rgba: &mut rgba,
            width,
        };
        self.run_stage(&stage, TileInput::Tensor(y), &mut output, probe)
            .await?;
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
    pub async fn decode_to_texture_async(&self, bytes: &[u8]) -> Result<wgpu::Texture> {
        let parsed = format::parse(bytes, &self.options.limits)?;
        let (header, y) = self.decode_to_synthesis_input(&parsed, None).await?;
        let (width, height) = (header.width as usize, header.height as usize);
        let pitch = texture_row_pitch(width) / 4;
        let pixels = self
            .ctx
            .storage_buffer("decoded rgba8", (pitch * height * 4) as u64)?;
        let stage = self.g_s_stage((y.width, y.height), width, height);
        let mut output = TileOutput::Buffer {
            pixels: &pixels.buffer,
            pitch,
        };
        self.run_stage(&stage, TileInput::Tensor(&y), &mut output, None)
            .await?;
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
    pub async fn encode_texture_async(
        &self,
        texture: &wgpu::Texture,
        quality: f32,
    ) -> Result<Encoded> {
        let (width, height) = (texture.width() as usize, texture.height() as usize);
        check_size(width, height)?;
        self.options.limits.check(width as u64, height as u64)?;
        let rgba = self.ctx.read_texture_async(texture).await?;
        let image = Image {
            width,
            height,
            rgba,
        };
        self.encode_async(&image, quality, None).await
    }

    /// The transform chain without entropy coding: g_a, gain and rounding at `quality`, g_s.
    pub async fn reconstruct_async(&self, image: &Image, quality: f32) -> Result<Image> {
        let (gain, inv_gain) = self.model.gains_for_quality(quality)?;
        let y = self.analysis_async(image, None).await?;
        let y_hat = y.scale_channels(&gain).round();
        let (width, height) = (image.width, image.height);
        self.synthesis_async(&y_hat, &inv_gain, width, height).await
    }
}
