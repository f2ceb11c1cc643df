//! A picture with what it carries besides the RGB the network codes: its alpha plane, whether it
//! is grayscale, its source depth, its ICC profile, EXIF and XMP. Read upright from any input
//! format; written back into each output format as far as that format can hold it.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageEncoder};
use vaec_gpu::format::{self, decode_alpha, encode_alpha, Header, Limits, Side};
use vaec_gpu::{Error, Image, Result};

use crate::embed;
use crate::io::{max_input_bytes, output_format, read_input, write_atomic};

/// A picture and what it carries.
pub struct Picture {
    /// The RGB pixels the network codes (grayscale as three equal channels).
    pub image: Image,
    /// The alpha plane, only when some pixel is not opaque.
    pub alpha: Option<Vec<u8>>,
    /// Grayscale: decodes to one channel.
    pub gray: bool,
    /// Bits per sample of the source.
    pub depth: u8,
    /// ICC profile, EXIF (orientation already applied and reset) and XMP.
    pub metadata: Side,
}

impl Picture {
    /// A picture that is only RGB pixels.
    pub fn plain(image: Image) -> Picture {
        Picture {
            image,
            alpha: None,
            gray: false,
            depth: 8,
            metadata: Side::default(),
        }
    }

    /// The side section that carries it (`strip` drops the metadata, never the alpha).
    pub fn side(&self, strip: bool) -> Side {
        let mut side = self.metadata.clone();
        if strip {
            side.strip_metadata();
        }
        side.alpha = self.alpha.as_ref().map(|a| encode_alpha(a));
        side
    }

    /// The header fields it sets: colour format and source depth.
    pub fn edit_header(&self, header: &mut Header) {
        header.colour = match self.gray {
            true => format::COLOUR_GRAY8,
            false => format::COLOUR_SRGB8,
        };
        header.source_depth = if self.depth == 8 { 0 } else { self.depth };
    }

    /// A decoded picture with what its file carries.
    pub fn decoded(image: Image, header: &Header, side: &Side) -> Result<Picture> {
        let alpha = match &side.alpha {
            Some(coded) => Some(decode_alpha(coded, image.width, image.height)?),
            None => None,
        };
        let mut metadata = side.clone();
        metadata.alpha = None;
        Ok(Picture {
            image,
            alpha,
            gray: header.colour == format::COLOUR_GRAY8,
            depth: header.source_bits(),
            metadata,
        })
    }

    /// The pixels in the layout they are written in: gray or RGB, with alpha or without.
    fn to_dynamic(&self, keep_alpha: bool) -> DynamicImage {
        let (w, h) = (self.image.width as u32, self.image.height as u32);
        let alpha = self.alpha.as_ref().filter(|_| keep_alpha);
        let px = self.image.rgba.chunks_exact(4);
        // grayscale was coded as three equal channels: their mean is the best estimate
        let gray = |p: &[u8]| ((p[0] as u16 + p[1] as u16 + p[2] as u16 + 1) / 3) as u8;
        let raw: Vec<u8> = match (self.gray, alpha) {
            (true, None) => px.map(gray).collect(),
            (true, Some(a)) => px.zip(a).flat_map(|(p, &a)| [gray(p), a]).collect(),
            (false, None) => px.flat_map(|p| [p[0], p[1], p[2]]).collect(),
            (false, Some(a)) => px
                .zip(a)
                .flat_map(|(p, &a)| [p[0], p[1], p[2], a])
                .collect(),
        };
        let built = match (self.gray, alpha.is_some()) {
            (true, false) => image::GrayImage::from_raw(w, h, raw).map(DynamicImage::ImageLuma8),
            (true, true) => image::GrayAlphaImage::from_raw(w, h, raw).map(DynamicImage::from),
            (false, false) => image::RgbImage::from_raw(w, h, raw).map(DynamicImage::from),
            (false, true) => image::RgbaImage::from_raw(w, h, raw).map(DynamicImage::from),
        };
        built.expect("the buffer has the picture's size")
    }
}

/// The RGB pixels of a picture from `path`, upright (see [`read_picture`]).
pub fn read_image(path: &Path, limits: &Limits) -> Result<Image> {
    read_picture(path, limits).map(|(picture, _)| picture.image)
}

/// A picture from `path` (any format the image crate reads): its size is checked against
/// `limits` before any pixel is decoded and the decoder's allocations are bounded; it is turned
/// upright by its EXIF orientation. Returns a note for everything the codec cannot keep.
pub fn read_picture(path: &Path, limits: &Limits) -> Result<(Picture, Vec<String>)> {
    let bytes = read_input(path, max_input_bytes(limits))?;
    let bad = |e: image::ImageError| Error::Image(format!("{}: {e}", path.display()));
    let reader = || {
        image::ImageReader::new(Cursor::new(&bytes[..]))
            .with_guessed_format()
            .map_err(|e| Error::Image(format!("{}: {e}", path.display())))
    };
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) && !embed::jpeg_is_complete(&bytes) {
        // the JPEG decoder fills a missing end with grey instead of failing
        return Err(Error::Image(format!(
            "{}: the JPEG is truncated (it has no end-of-image marker)",
            path.display()
        )));
    }
    let (w, h) = reader()?.into_dimensions().map_err(bad)?;
    limits.check(w as u64, h as u64)?;
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_image_width = Some(w);
    decoder_limits.max_image_height = Some(h);
    // RGBA at 16 bits per sample, and a conversion of it
    let max_alloc = (w as u64 * h as u64).saturating_mul(16).max(1 << 20);
    decoder_limits.max_alloc = Some(max_alloc);
    let mut decoder: Box<dyn ImageDecoder> =
        match bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
            // image 0.25.10 turns its limits into ones that refuse a strip taller than the picture
            // and lose the tags: the tiff crate's own limits bound the decoder instead
            true => Box::new(
                image::codecs::tiff::TiffDecoder::new(Cursor::new(&bytes[..])).map_err(bad)?,
            ),
            false => {
                let mut reader = reader()?;
                reader.limits(decoder_limits);
                Box::new(reader.into_decoder().map_err(bad)?)
            }
        };
    if decoder.total_bytes() > max_alloc {
        return Err(Error::Limit {
            what: "decoded picture size (bytes)",
            value: decoder.total_bytes(),
            limit: max_alloc,
        });
    }
    let orientation = decoder.orientation().map_err(bad)?;
    let icc = decoder.icc_profile().map_err(bad)?;
    let mut exif = decoder.exif_metadata().map_err(bad)?;
    let mut xmp = decoder.xmp_metadata().map_err(bad)?;
    let source_colour = decoder.original_color_type();
    let mut img = DynamicImage::from_decoder(decoder).map_err(bad)?;
    img.apply_orientation(orientation);
    // the pixels are upright now: a viewer must not turn them again
    if let Some(exif) = &mut exif {
        let _ = image::metadata::Orientation::remove_from_exif_chunk(exif);
    }
    if let Some(xmp) = &mut xmp {
        embed::reset_xmp_orientation(xmp);
    }
    let colour = img.color();
    let depth = (source_colour.bits_per_pixel() / u16::from(source_colour.channel_count())) as u8;
    let mut notes = Vec::new();
    if depth > 8 {
        notes.push(format!(
            "{depth}-bit samples are coded at 8 bits (the file records the source depth)"
        ));
    }
    let (width, height) = (img.width() as usize, img.height() as usize);
    let alpha = match colour.has_alpha() {
        true => Some(img.to_rgba8().pixels().map(|p| p.0[3]).collect::<Vec<u8>>()),
        false => None,
    };
    let rgb = img.to_rgb8();
    Ok((
        Picture {
            image: Image::from_rgb8(width, height, rgb.as_raw())?,
            alpha: alpha.filter(|a| a.iter().any(|&v| v != 255)),
            gray: !colour.has_color(),
            depth: depth.clamp(1, format::MAX_SOURCE_DEPTH),
            metadata: Side {
                alpha: None,
                icc,
                exif,
                xmp,
            },
        },
        notes,
    ))
}

/// Writes a picture in the format of `path`'s extension (PNG for `-`; `.ppm` is binary P6), with
/// its alpha and metadata where the format holds them. Returns a note for each thing it could not.
pub fn write_picture(picture: &Picture, path: &Path, force: bool) -> Result<Vec<String>> {
    use image::ImageFormat as F;
    let format = output_format(path)?;
    let meta = &picture.metadata;
    let name = match format {
        F::Pnm => "PPM".to_string(),
        _ => format!("{format:?}").to_uppercase(),
    };
    let mut notes = Vec::new();
    let mut drop_note = |what: &str, written: bool| {
        if !written {
            notes.push(format!("{what} is not written into {name} files"));
        }
    };
    let alpha_written = matches!(format, F::Png | F::WebP | F::Bmp | F::Tiff);
    // what is written where: JPEG and PPM have no alpha; WebP's XMP chunk and BMP's ICC header
    // are formats' features the image crate's encoders do not write
    let (icc_written, exif_written, xmp_written) = match format {
        F::Png | F::Jpeg | F::Tiff => (true, true, true),
        F::WebP => (true, true, false),
        _ => (false, false, false),
    };
    drop_note(
        "the alpha channel",
        picture.alpha.is_none() || alpha_written,
    );
    drop_note("the ICC profile", meta.icc.is_none() || icc_written);
    drop_note("EXIF metadata", meta.exif.is_none() || exif_written);
    drop_note("XMP metadata", meta.xmp.is_none() || xmp_written);
    let mut img = picture.to_dynamic(alpha_written);
    if format == F::Pnm || (format == F::Tiff && img.color() == image::ColorType::La8) {
        // PPM means P6; the TIFF encoder has no gray-with-alpha layout
        img = match img.color().has_alpha() {
            true => img.to_rgba8().into(),
            false => img.to_rgb8().into(),
        };
    }
    let encode_error = |e: image::ImageError| Error::Image(format!("{}: {e}", path.display()));
    let mut bytes = Vec::new();
    let (w, h, layout) = (img.width(), img.height(), img.color().into());
    let icc = meta.icc.clone().filter(|_| icc_written);
    let exif = meta.exif.clone().filter(|_| exif_written);
    match format {
        F::Png => {
            let mut e = image::codecs::png::PngEncoder::new(&mut bytes);
            set_metadata(&mut e, icc, exif);
            e.write_image(img.as_bytes(), w, h, layout)
        }
        F::Jpeg => {
            let mut e = image::codecs::jpeg::JpegEncoder::new(&mut bytes);
            set_metadata(&mut e, icc, exif);
            e.write_image(img.as_bytes(), w, h, layout)
        }
        F::WebP => {
            let mut e = image::codecs::webp::WebPEncoder::new_lossless(&mut bytes);
            set_metadata(&mut e, icc, exif);
            e.write_image(img.as_bytes(), w, h, layout)
        }
        F::Tiff => {
            let mut e = image::codecs::tiff::TiffEncoder::new(Cursor::new(&mut bytes));
            set_metadata(&mut e, icc, None);
            e.write_image(img.as_bytes(), w, h, layout)
        }
        F::Pnm => {
            use image::codecs::pnm::{PnmEncoder, PnmSubtype, SampleEncoding};
            PnmEncoder::new(&mut bytes)
                .with_subtype(PnmSubtype::Pixmap(SampleEncoding::Binary))
                .write_image(img.as_bytes(), w, h, layout)
        }
        _ => img.write_to(&mut Cursor::new(&mut bytes), format),
    }
    .map_err(encode_error)?;
    let xmp = meta.xmp.as_deref().filter(|_| xmp_written);
    let embedded = match format {
        F::Png => xmp.map_or(Ok(()), |x| embed::png_xmp(&mut bytes, x)),
        F::Jpeg => xmp.map_or(Ok(()), |x| embed::jpeg_xmp(&mut bytes, x)),
        F::Tiff => embed::tiff_exif_xmp(&mut bytes, meta.exif.as_deref(), xmp),
        _ => Ok(()),
    };
    embedded.map_err(|why| Error::Image(format!("{}: {why}", path.display())))?;
    write_atomic(path, &bytes, force)?;
    Ok(notes)
}

/// Hands an ICC profile and EXIF to an encoder that says it takes them.
fn set_metadata(e: &mut impl ImageEncoder, icc: Option<Vec<u8>>, exif: Option<Vec<u8>>) {
    // the encoders chosen above take both; an unsupported one is reported by the notes
    if let Some(icc) = icc {
        let _ = e.set_icc_profile(icc);
    }
    if let Some(exif) = exif {
        let _ = e.set_exif_metadata(exif);
    }
}
