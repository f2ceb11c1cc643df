//! The codec on top of the engine: image in, latents, image out.

use crate::error::{Error, Result};
use crate::gpu::{GpuContext, GpuNetwork, GpuTensor};
use crate::model::Model;

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
        return Err(Error::Image(format!("image is {width}x{height}: nothing to code")));
    }
    Ok(())
}

/// The padded size the transforms work on.
pub fn padded_size(width: usize, height: usize) -> (usize, usize) {
    (width.next_multiple_of(ALIGN), height.next_multiple_of(ALIGN))
}

/// A model on a GPU.
pub struct Codec {
    ctx: GpuContext,
    model: Model,
    net: GpuNetwork,
}

impl Codec {
    /// Uploads `model` to the GPU of `ctx`.
    pub fn new(ctx: GpuContext, model: Model) -> Result<Codec> {
        let net = GpuNetwork::new(&ctx, &model)?;
        Ok(Codec { ctx, model, net })
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

    /// Image -> padded tensor -> g_a: the unquantized latent y (before the gain).
    pub fn analysis(&self, image: &Image) -> Result<GpuTensor> {
        check_size(image.width, image.height)?;
        let (pw, ph) = padded_size(image.width, image.height);
        let x = self
            .ctx
            .rgba8_to_tensor(&image.rgba, image.width, image.height, pw, ph)?;
        self.net.g_a.run(&self.ctx, &x)
    }

    /// y_hat (integers, gained domain) -> inverse gain -> g_s -> cropped RGB8 picture.
    pub fn synthesis(&self, y_hat: &GpuTensor, inv_gain: &[f32], width: usize, height: usize) -> Result<Image> {
        let y = self.ctx.scale_tensor(y_hat, inv_gain, false)?;
        let x_hat = self.net.g_s.run(&self.ctx, &y)?;
        let rgba = self.ctx.tensor_to_rgba8(&x_hat, width, height)?;
        Ok(Image {
            width,
            height,
            rgba,
        })
    }

    /// The transform chain without entropy coding: g_a, gain and rounding at `quality`, g_s.
    pub fn reconstruct(&self, image: &Image, quality: f32) -> Result<Image> {
        let (gain, inv_gain) = self.model.gains_for_quality(quality)?;
        let y = self.analysis(image)?;
        let y_hat = self.ctx.scale_tensor(&y, &gain, true)?;
        self.synthesis(&y_hat, &inv_gain, image.width, image.height)
    }
}
