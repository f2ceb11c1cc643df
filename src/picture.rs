//! A picture with what it carries besides the RGB pixels the network codes: an alpha plane,
//! whether it is grayscale, the depth of its source, and its ICC profile, EXIF and XMP. The codec
//! codes the RGB; the file's header and side section ([`format::Side`]) carry the rest, so that
//! every front end (the command line, Python, the image crate's hooks) keeps the same things.

use crate::codec::{Codec, Encoded, Target, Targeted};
use crate::error::{Error, Result};
use crate::format::{self, encode_alpha, Header, Metadata, Side};
use crate::image::Image;

/// The name JPEG's APP1 segment puts before an EXIF block.
const EXIF_PREFIX: &[u8] = b"Exif\0\0";

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

    /// Its pixels as RGBA8, four samples each whatever it carries: gray as in [`Self::samples`]
    /// three times, alpha from its plane or opaque (what a canvas's `ImageData` holds).
    pub fn rgba(&self) -> Vec<u8> {
        let mean = |p: &[u8]| ((p[0] as u16 + p[1] as u16 + p[2] as u16 + 1) / 3) as u8;
        let mut rgba = self.image.rgba.clone();
        for (i, p) in rgba.chunks_exact_mut(4).enumerate() {
            if self.gray {
                let m = mean(p);
                p[..3].fill(m);
            }
            p[3] = self.alpha.as_ref().map_or(255, |a| a[i]);
        }
        rgba
    }

    /// Replaces the colour under fully transparent pixels, which nobody sees, by a smooth fill
    /// from the visible ones, so that the network spends next to nothing on it (cwebp does the
    /// same unless `-exact`). Visible pixels, even faintly visible ones, keep their colour.
    pub fn fill_hidden_colour(&mut self) {
        let Some(alpha) = &self.alpha else {
            return;
        };
        if alpha.iter().all(|&a| a == 0) {
            return; // nothing visible to fill from
        }
        let (w, h) = (self.image.width, self.image.height);
        let rgba = &mut self.image.rgba;
        // pull: a pyramid of colour sums and weights over the visible pixels, from half size up
        // (the picture itself is the level below: 5 bytes a pixel in all, not 21)
        let mut first = Level::new(w.div_ceil(2), h.div_ceil(2));
        for (i, _) in alpha.iter().enumerate().filter(|(_, &a)| a > 0) {
            let p = &rgba[4 * i..4 * i + 3];
            first.add(
                i % w / 2,
                i / w / 2,
                [p[0] as f32, p[1] as f32, p[2] as f32, 1.0],
            );
        }
        let mut levels = vec![first];
        while let Some(top) = levels.last().filter(|l| l.width > 1 || l.height > 1) {
            let mut parent = Level::new(top.width.div_ceil(2), top.height.div_ceil(2));
            for y in 0..top.height {
                for x in 0..top.width {
                    parent.add(x / 2, y / 2, top.cells[y * top.width + x]);
                }
            }
            levels.push(parent);
        }
        // push: from the top down, a cell without weight takes its parent's colour, interpolated
        // bilinearly so that the fill has no block edges; the picture's hidden pixels last
        for k in (0..levels.len() - 1).rev() {
            let (lower, upper) = levels.split_at_mut(k + 1);
            let (child, parent) = (&mut lower[k], &upper[0]);
            for y in 0..child.height {
                for x in 0..child.width {
                    let cell = &mut child.cells[y * child.width + x];
                    if cell[3] == 0.0 {
                        let [r, g, b] = parent.bilinear(x, y);
                        *cell = [r, g, b, 1.0];
                    }
                }
            }
        }
        for (i, _) in alpha.iter().enumerate().filter(|(_, &a)| a == 0) {
            let colour = levels[0].bilinear(i % w, i / w);
            for (k, c) in colour.into_iter().enumerate() {
                rgba[4 * i + k] = c.round().clamp(0.0, 255.0) as u8;
            }
        }
    }

    /// The side section that carries it. EXIF is stored without JPEG's `Exif\0\0` prefix: one
    /// given with it is stored without, so that a JPEG written from the file has it once.
    pub fn side(&self) -> Side {
        let mut metadata = self.metadata.clone();
        if let Some(exif) = &mut metadata.exif {
            if exif.starts_with(EXIF_PREFIX) {
                exif.drain(..EXIF_PREFIX.len());
            }
        }
        Side {
            alpha: self.alpha.as_deref().map(encode_alpha),
            metadata,
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

    /// The picture of a parsed file: `image` is its decoded RGB.
    pub(crate) fn decoded(image: Image, parsed: format::Parsed) -> Picture {
        Picture {
            image,
            alpha: parsed.alpha,
            gray: parsed.header.colour == format::COLOUR_GRAY8,
            source_depth: parsed.header.source_bits(),
            metadata: parsed.side.metadata,
        }
    }
}

/// One level of [`Picture::fill_hidden_colour`]'s pyramid: per cell the sums of colour and
/// weight of the visible pixels under it (a filled cell: its colour, weight 1).
struct Level {
    width: usize,
    height: usize,
    cells: Vec<[f32; 4]>,
}

impl Level {
    fn new(width: usize, height: usize) -> Level {
        Level {
            width,
            height,
            cells: vec![[0.0; 4]; width * height],
        }
    }

    fn add(&mut self, x: usize, y: usize, value: [f32; 4]) {
        let cell = &mut self.cells[y * self.width + x];
        (0..4).for_each(|k| cell[k] += value[k]);
    }

    /// The colour at cell (x, y) of the level below (twice the size), interpolated bilinearly
    /// between this level's cell centres; every cell of this level has weight.
    fn bilinear(&self, x: usize, y: usize) -> [f32; 3] {
        let at = |x: usize, y: usize| {
            let c = self.cells[y * self.width + x];
            [c[0] / c[3], c[1] / c[3], c[2] / c[3]]
        };
        let fx = ((x as f32 + 0.5) / 2.0 - 0.5).clamp(0.0, (self.width - 1) as f32);
        let fy = ((y as f32 + 0.5) / 2.0 - 0.5).clamp(0.0, (self.height - 1) as f32);
        let (x0, y0) = (fx as usize, fy as usize);
        let (x1, y1) = ((x0 + 1).min(self.width - 1), (y0 + 1).min(self.height - 1));
        let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
        let (a, b, c, d) = (at(x0, y0), at(x1, y0), at(x0, y1), at(x1, y1));
        std::array::from_fn(|i| {
            let top = a[i] + (b[i] - a[i]) * tx;
            let bottom = c[i] + (d[i] - c[i]) * tx;
            top + (bottom - top) * ty
        })
    }
}

impl Codec {
    /// Encodes a picture at `quality`: its RGB through the network, the rest in the file's header
    /// and side section.
    pub async fn encode_picture_async(&self, picture: &Picture, quality: f32) -> Result<Encoded> {
        let side = self.checked_side(picture)?;
        let encoded = self.encode_async(&picture.image, quality, None).await?;
        self.attach(picture, encoded, &side)
    }

    /// The side section of `picture`, its metadata checked against the limits before any work.
    fn checked_side(&self, picture: &Picture) -> Result<Side> {
        let side = picture.side();
        side.check(&self.options().limits)?;
        Ok(side)
    }

    /// Encodes a picture to a target: the side section counts towards a size target (each try
    /// measures the whole file), and the pixels get what is left.
    pub async fn encode_picture_to_target_async(
        &self,
        picture: &Picture,
        target: Target,
    ) -> Result<Targeted> {
        // the alpha plane is deflated once, here, not per try
        let side = self.checked_side(picture)?;
        // every try measures the whole file: pixels, alpha and metadata
        let side_bytes = side.encoded_len() as u64;
        let search = self.search_quality(&picture.image, target, side_bytes);
        let mut targeted = search.await?;
        targeted.encoded = self.attach(picture, targeted.encoded, &side)?;
        Ok(targeted)
    }

    /// The file of `encoded` with the header fields and the side section of `picture`.
    fn attach(&self, picture: &Picture, encoded: Encoded, side: &Side) -> Result<Encoded> {
        let limits = &self.options().limits;
        Ok(Encoded {
            bytes: format::rewrap(&encoded.bytes, limits, |h| picture.edit_header(h), side)?,
            estimated_bits: encoded.estimated_bits,
        })
    }

    /// Decodes a file to a picture with all it carries.
    pub async fn decode_picture_async(&self, bytes: &[u8]) -> Result<Picture> {
        let parsed = format::parse(bytes, &self.options().limits)?;
        let image = self.decode_parsed(&parsed, None).await?;
        Ok(Picture::decoded(image, parsed))
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

    #[test]
    fn rgba_has_four_samples_whatever_the_picture_carries() {
        let gray_alpha = Picture::from_samples(2, 1, 2, &[10, 0, 200, 77]).unwrap();
        assert_eq!(gray_alpha.rgba(), [10, 10, 10, 0, 200, 200, 200, 77]);
        let rgb = Picture::from_samples(1, 1, 3, &[1, 2, 3]).unwrap();
        assert_eq!(rgb.rgba(), [1, 2, 3, 255]);
    }

    #[test]
    fn the_hidden_colour_is_filled_smoothly_and_the_visible_one_kept() {
        // 37 x 23: a visible left part (alpha 1..=255) in a red-to-green ramp, hidden magenta
        let (w, h) = (37, 23);
        let samples: Vec<u8> = (0..w * h)
            .flat_map(|i| match i % w < 15 {
                true => [
                    (i % w * 17) as u8,
                    (255 - i % w * 17) as u8,
                    40,
                    1 + (i % 200) as u8,
                ],
                false => [255, 0, 255, 0],
            })
            .collect();
        let mut picture = Picture::from_samples(w, h, 4, &samples).unwrap();
        picture.fill_hidden_colour();
        let out = picture.samples();
        for (i, (got, was)) in out.chunks(4).zip(samples.chunks(4)).enumerate() {
            match was[3] {
                0 => {
                    assert_eq!(got[3], 0);
                    assert!(
                        got[0] <= 238 && got[2] < 60,
                        "pixel {i}: {got:?} is still magenta"
                    )
                }
                _ => assert_eq!(got, was, "pixel {i} is visible"),
            }
        }
        // smooth: neighbours in the hidden part differ little
        let hidden_step = (16..w - 1)
            .map(|x| out[4 * (11 * w + x)].abs_diff(out[4 * (11 * w + x + 1)]))
            .max();
        assert!(hidden_step.unwrap() < 40, "{hidden_step:?}");
        // all hidden: nothing to fill from, nothing changes
        let mut blank = Picture::from_samples(2, 2, 2, &[9, 0, 9, 0, 9, 0, 9, 0]).unwrap();
        blank.fill_hidden_colour();
        assert_eq!(blank.samples(), [9, 0, 9, 0, 9, 0, 9, 0]);
    }
}
