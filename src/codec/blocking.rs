//! The codec's blocking API for native programs: each call waits for its `_async` twin, which
//! is where the pipeline is written (once). A browser cannot block; there the `_async` calls are
//! the API.

use super::{Codec, CodecOptions, DecodedLatents, Encoded, Target, Targeted};
use crate::block::wait;
use crate::error::Result;
use crate::gpu::{GpuContext, Probe};
use crate::image::Image;
use crate::model::Model;
use crate::picture::Picture;
use crate::tensor::Tensor;

impl Codec {
    /// Uploads `model` to the GPU of `ctx` with the default options. A model without entropy
    /// tables can still run the transforms ([`Codec::reconstruct`]) but not code files.
    pub fn new(ctx: GpuContext, model: Model) -> Result<Codec> {
        Codec::with_options(ctx, model, CodecOptions::default())
    }

    /// Uploads `model` to the GPU of `ctx`, configured by `options`.
    pub fn with_options(ctx: GpuContext, model: Model, options: CodecOptions) -> Result<Codec> {
        wait(Codec::with_options_async(ctx, model, options))
    }

    /// Encodes a picture at `quality` (1 = smallest .. levels = best, fractions allowed).
    pub fn encode(&self, image: &Image, quality: f32) -> Result<Encoded> {
        wait(self.encode_async(image, quality, None))
    }

    /// [`Codec::encode`], recording every stage's time in `probe` if there is one.
    pub fn encode_probed(
        &self,
        image: &Image,
        quality: f32,
        probe: Option<&Probe>,
    ) -> Result<Encoded> {
        wait(self.encode_async(image, quality, probe))
    }

    /// Decodes a `.vaec` file's RGB.
    pub fn decode(&self, bytes: &[u8]) -> Result<Image> {
        wait(self.decode_async(bytes, None))
    }

    /// [`Codec::decode`], recording every stage's time in `probe` if there is one.
    pub fn decode_probed(&self, bytes: &[u8], probe: Option<&Probe>) -> Result<Image> {
        wait(self.decode_async(bytes, probe))
    }

    /// Entropy-decodes a file with the GPU's integer networks, returning symbols and indexes.
    pub fn decode_latents(&self, bytes: &[u8]) -> Result<DecodedLatents> {
        wait(self.decode_latents_async(bytes))
    }

    /// Image -> replicate-padded tensor -> g_a, in tiles: the latent y before the gain.
    pub fn analysis(&self, image: &Image) -> Result<Tensor> {
        wait(self.analysis_async(image, None))
    }

    /// y_hat (integers, gained domain) -> inverse gain -> g_s, in tiles -> RGB8 picture.
    pub fn synthesis(
        &self,
        y_hat: &Tensor,
        inv_gain: &[f32],
        width: usize,
        height: usize,
    ) -> Result<Image> {
        wait(self.synthesis_async(y_hat, inv_gain, width, height))
    }

    /// [`Codec::decode_to_texture_async`], waited for.
    pub fn decode_to_texture(&self, bytes: &[u8]) -> Result<wgpu::Texture> {
        wait(self.decode_to_texture_async(bytes))
    }

    /// [`Codec::encode_texture_async`], waited for.
    pub fn encode_texture(&self, texture: &wgpu::Texture, quality: f32) -> Result<Encoded> {
        wait(self.encode_texture_async(texture, quality))
    }

    /// The transform chain without entropy coding: g_a, gain and rounding at `quality`, g_s.
    pub fn reconstruct(&self, image: &Image, quality: f32) -> Result<Image> {
        wait(self.reconstruct_async(image, quality))
    }

    /// [`Codec::encode_to_target_async`], waited for.
    pub fn encode_to_target(&self, image: &Image, target: Target) -> Result<Targeted> {
        wait(self.encode_to_target_async(image, target))
    }

    /// [`Codec::encode_picture_async`], waited for.
    pub fn encode_picture(&self, picture: &Picture, quality: f32) -> Result<Encoded> {
        wait(self.encode_picture_async(picture, quality))
    }

    /// [`Codec::encode_picture_to_target_async`], waited for.
    pub fn encode_picture_to_target(&self, picture: &Picture, target: Target) -> Result<Targeted> {
        wait(self.encode_picture_to_target_async(picture, target))
    }

    /// [`Codec::decode_picture_async`], waited for.
    pub fn decode_picture(&self, bytes: &[u8]) -> Result<Picture> {
        wait(self.decode_picture_async(bytes))
    }
}
