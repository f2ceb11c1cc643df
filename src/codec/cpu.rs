//! Decoding without any GPU: the integer networks and g_s run as their CPU twins. Slow, but it
//! shows that decoding does not depend on the device, and it is the path the fuzzers drive.

use super::latent::{DecodedLatents, LatentCodec};
use super::params::OnCpu;
use super::synthesis_input;
use crate::block::ready;
use crate::error::Result;
use crate::format::{self, Limits};
use crate::image::Image;
use crate::model::Model;
use crate::picture::Picture;

fn latent_codec(model: &Model) -> Result<LatentCodec> {
    LatentCodec::new(model).map_err(LatentCodec::missing)
}

/// Decodes a `.vaec` file on the CPU alone.
pub fn decode_cpu(model: &Model, bytes: &[u8], limits: &Limits) -> Result<Image> {
    decode_parsed_cpu(model, &format::parse(bytes, limits)?)
}

/// Decodes a `.vaec` file on the CPU alone to a picture with all it carries.
pub fn decode_picture_cpu(model: &Model, bytes: &[u8], limits: &Limits) -> Result<Picture> {
    let parsed = format::parse(bytes, limits)?;
    let image = decode_parsed_cpu(model, &parsed)?;
    Ok(Picture::decoded(image, parsed))
}

/// A parsed file's RGB on the CPU.
fn decode_parsed_cpu(model: &Model, parsed: &format::Parsed<'_>) -> Result<Image> {
    let latent = latent_codec(model)?;
    // the CPU's integer networks never wait
    let (header, shape, decoded) = ready(latent.decode(model, parsed, &OnCpu(&latent), None))?;
    let y = synthesis_input(model, &header, &shape, &decoded)?;
    let x_hat = crate::cpu::transform(&y, &model.g_s);
    let (w, h) = (header.width as usize, header.height as usize);
    Ok(Image {
        width: w,
        height: h,
        rgba: crate::cpu::tensor_to_rgba8(&x_hat, w, h),
    })
}

/// Entropy-decodes a file with the CPU integer networks, returning the symbols and indexes.
pub fn decode_latents_cpu(model: &Model, bytes: &[u8], limits: &Limits) -> Result<DecodedLatents> {
    let latent = latent_codec(model)?;
    let parsed = format::parse(bytes, limits)?;
    let (_, _, decoded) = ready(latent.decode(model, &parsed, &OnCpu(&latent), None))?;
    Ok(decoded)
}
