//! A picture with what it carries besides the RGB pixels the network codes: an alpha plane,
//! whether it is grayscale, the depth of its source, and its ICC profile, EXIF and XMP. The codec
//! codes the RGB; the file's header and side section ([`format::Side`]) carry the rest, so that
//! every front end (the command line, Python, the image crate's hooks) keeps the same things.

use crate::codec::{Codec, Encoded, Target, Targeted};
use crate::error::{Error, Result};
use crate::format::{self, decode_alpha, encode_alpha, Header, Metadata, Side};
use crate::image::Image;

/// A picture and what it carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picture {
    /// The RGB pixels the network codes (grayscale as three equal channels).
    pub image: Image,
    /// The alpha plane (`width * height` samples), only when some pixel is not opaque.
    pub alpha: Option<Vec<u8>>,
    /// Grayscale: decodes to one channel.
    pub gray: bool,
    /// Bits per sample of the source (it is coded at 8).
    pub source_depth: u8,
    /// ICC profile, EXIF and XMP, carried as they are.
    pub metadata: Metadata,
}

impl From<Image> for Picture {
    /// A picture that is only RGB pixels.
    fn from(image: Image) -> Picture {
        Picture {
            image,
            alpha: None,
            gray: false,
            source_depth: 8,
            metadata: Metadata::default(),
        }
    }
}

impl Picture {
    /// A picture from interleaved 8-bit samples: 1 channel (gray), 2 (gray, alpha), 3 (RGB) or 4
    /// (RGBA). An alpha channel that is opaque everywhere is not kept: it costs nothing.
    pub fn from_samples(
        width: usize,
        height: usize,
        channels: usize,
        samples: &[u8],
    ) -> Result<Picture> {
        if !(1..=4).contains(&channels) {
            return Err(Error::InvalidArgument(format!(
                "{channels} channels: expected 1 (gray), 2 (gray, alpha), 3 (RGB) or 4 (RGBA)"
            )));
        }
        let expected = width
            .checked_mul(height)
            .and_then(|n| n.checked_mul(channels));
        if expected != Some(samples.len()) {
            return Err(Error::InvalidArgument(format!(
                "{} samples for {width}x{height} with {channels} channels",
                samples.len()
            )));
        }
        let gray = channels <= 2;
        let colour = if gray { 1 } else { 3 };
        let rgb: Vec<u8> = samples
            .chunks_exact(channels)
            .flat_map(|p| match gray {
                true => [p[0]; 3],
                false => [p[0], p[1], p[2]],
            })
            .collect();
        let alpha: Option<Vec<u8>> = match channels.is_multiple_of(2) {
            true => Some(samples.chunks_exact(channels).map(|p| p[colour]).collect()),
            false => None,
        };
        Ok(Picture {
            image: Image::from_rgb8(width, height, &rgb)?,
            alpha: alpha.filter(|a| a.iter().any(|&v| v != 255)),
            gray,
            source_depth: 8,
            metadata: Metadata::default(),
        })
    }

    /// The channels it decodes to: 1 (gray), 2 (gray, alpha), 3 (RGB) or 4 (RGBA).
    pub fn channels(&self) -> usize {
        (if self.gray { 1 } else { 3 }) + self.alpha.is_some() as usize
    }

    /// Its samples, interleaved, [`Self::channels`] per pixel. Gray is the rounded mean of the
    /// three decoded channels (the best estimate of a sample coded three times).
    pub fn samples(&self) -> Vec<u8> {
        let pixels = self.image.rgba.chunks_exact(4);
        let mean = |p: &[u8]| ((p[0] as u16 + p[1] as u16 + p[2] as u16 + 1) / 3) as u8;
        let colour = pixels.map(|p| match self.gray {
            true => [mean(p), 0, 0],
            false => [p[0], p[1], p[2]],
        });
        let width = if self.gray { 1 } else { 3 };
        match &self.alpha {
            None => colour
                .flat_map(move |c| c.into_iter().take(width))
                .collect(),
            Some(alpha) => colour
                .zip(alpha)
                .flat_map(move |(c, &a)| c.into_iter().take(width).chain([a]))
                .collect(),
        }
    }

    /// The side section that carries it.
    pub fn side(&self) -> Side {
        Side {
            alpha: self.alpha.as_deref().map(encode_alpha),
            metadata: self.metadata.clone(),
        }
    }

    /// Sets the header fields it decides: colour format and source depth.
    fn edit_header(&self, header: &mut Header) {
        header.colour = match self.gray {
            true => format::COLOUR_GRAY8,
            false => format::COLOUR_SRGB8,
        };
        header.source_depth = match self.source_depth {
            8 => 0,
            d => d,
        };
    }

    /// The picture of a file: `image` is its decoded RGB.
    fn decoded(image: Image, header: &Header, side: Side) -> Result<Picture> {
        let alpha = match &side.alpha {
            Some(coded) => Some(decode_alpha(coded, image.width, image.height)?),
            None => None,
        };
        Ok(Picture {
            image,
            alpha,
            gray: header.colour == format::COLOUR_GRAY8,
            source_depth: header.source_bits(),
            metadata: side.metadata,
        })
    }
}

impl Codec {
    /// Encodes a picture at `quality`: its RGB through the network, the rest in the file's header
    /// and side section.
    pub fn encode_picture(&self, picture: &Picture, quality: f32) -> Result<Encoded> {
        let encoded = self.encode(&picture.image, quality)?;
        self.attach(picture, encoded)
    }

    /// Encodes a picture to a target: the side section counts towards a size target, and the
    /// pixels get what is left.
    pub fn encode_picture_to_target(&self, picture: &Picture, target: Target) -> Result<Targeted> {
        let side_bytes = picture.side().encoded_len();
        let image = &picture.image;
        let pixels = (image.width * image.height) as f64;
        let side_bits = side_bytes as f64 * 8.0;
        let out_of_reach = || {
            Error::InvalidArgument(format!(
                "the alpha plane and metadata alone take {side_bytes} bytes: the target leaves \
                 nothing for the pixels"
            ))
        };
        let target = match target {
            Target::Bytes(b) => Target::Bytes(
                b.checked_sub(side_bytes as u64)
                    .filter(|&b| b > 0)
                    .ok_or_else(out_of_reach)?,
            ),
            Target::BitsPerPixel(bpp) if bpp * pixels <= side_bits => return Err(out_of_reach()),
            Target::BitsPerPixel(bpp) => Target::BitsPerPixel(bpp - side_bits / pixels),
            psnr @ Target::Psnr(_) => psnr,
        };
        let mut targeted = self.encode_to_target(image, target)?;
        targeted.encoded = self.attach(picture, targeted.encoded)?;
        Ok(targeted)
    }

    fn attach(&self, picture: &Picture, encoded: Encoded) -> Result<Encoded> {
        let limits = &self.options().limits;
        Ok(Encoded {
            bytes: format::rewrap(
                &encoded.bytes,
                limits,
                |h| picture.edit_header(h),
                &picture.side(),
            )?,
            estimated_bits: encoded.estimated_bits,
        })
    }

    /// Decodes a file to a picture with all it carries.
    pub fn decode_picture(&self, bytes: &[u8]) -> Result<Picture> {
        let image = self.decode(bytes)?;
        let parsed = format::parse(bytes, &self.options().limits)?;
        Picture::decoded(image, &parsed.header, parsed.side)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_round_trip_in_every_layout_and_opaque_alpha_is_dropped() {
        let (w, h) = (5, 3);
        for channels in 1..=4 {
            let samples: Vec<u8> = (0..w * h * channels)
                .map(|i| (i * 37 % 256) as u8)
                .collect();
            let picture = Picture::from_samples(w, h, channels, &samples).unwrap();
            assert_eq!(picture.channels(), channels);
            assert_eq!(picture.samples(), samples, "{channels} channels");
        }
        let opaque: Vec<u8> = (0..w * h).flat_map(|i| [i as u8, 255]).collect();
        let picture = Picture::from_samples(w, h, 2, &opaque).unwrap();
        assert_eq!((picture.channels(), picture.alpha), (1, None));
        assert!(Picture::from_samples(w, h, 5, &[0; 75]).is_err());
        assert!(Picture::from_samples(w, h, 3, &[0; 44]).is_err());
    }
}
