//! Pictures in files of other formats, with what they carry besides RGB (the library's
//! [`Picture`]): read upright from any input format, written back into each output format as far
//! as it is written there.

use std::io::Cursor;
use std::path::Path;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageEncoder};
use vaec_gpu::format::{self, Limits, Metadata};
use vaec_gpu::{Error, Image, Picture, Result};

use crate::io::{max_input_bytes, output_format, read_input, write_atomic};
use crate::{embed, input_meta};

/// The most EXIF bytes one JPEG APP1 segment holds (65533 less the `Exif\0\0` name).
const JPEG_MAX_EXIF: usize = 65527;
/// The most ICC profile bytes a JPEG holds: 255 APP2 segments of 65519.
const JPEG_MAX_ICC: usize = 255 * 65519;

/// The RGB pixels of a picture from `path`, upright (see [`read_picture`]).
pub fn read_image(path: &Path, limits: &Limits) -> Result<Image> {
    read_picture(path, limits).map(|(picture, _)| picture.image)
}

/// A picture from `path` (any format the image crate reads): its size is checked against
/// `limits` before any pixel is decoded and the decoder's allocations are bounded; it is turned
/// upright by its EXIF orientation. Returns a note for everything the codec cannot keep.
pub fn read_picture(path: &Path, limits: &Limits) -> Result<(Picture, Vec<String>)> {
    let mut bytes = read_input(path, max_input_bytes(limits))?;
    let mut notes = Vec::new();
    let max_meta = limits.max_metadata_bytes;
    let mib = |n: u64| n as f64 / (1 << 20) as f64;
    // the PNG decoder fails the whole picture on an eXIf chunk over its allocation limit
    if let Some((without, len)) = input_meta::png_without_large(&bytes, b"eXIf", max_meta) {
        notes.push(format!(
            "its EXIF ({:.1} MiB) is over the {:.0} MiB limit for metadata; it is left out",
            mib(len),
            mib(max_meta)
        ));
        bytes = without;
    }
    let bad = |e: image::ImageError| Error::Image(format!("{}: {e}", path.display()));
    let reader = || {
        image::ImageReader::new(Cursor::new(&bytes[..]))
            .with_guessed_format()
            .map_err(|e| Error::Image(format!("{}: {e}", path.display())))
    };
    let is_jpeg = bytes.starts_with(&[0xFF, 0xD8, 0xFF]);
    if is_jpeg && !input_meta::jpeg_is_complete(&bytes) {
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
    let max_pixel_bytes = (w as u64 * h as u64).saturating_mul(16).max(1 << 20);
    // and the ICC profile, EXIF and XMP up to their limit: a small picture's metadata is not
    // refused (the PNG decoder dropped a 1 MiB profile without a word)
    decoder_limits.max_alloc = Some(max_pixel_bytes.saturating_add(3 * max_meta));
    let mut decoder: Box<dyn ImageDecoder> = match embed::is_tiff(&bytes) {
        // image 0.25.10 turns its limits into ones that refuse a strip taller than the picture
        // and lose the tags: the tiff crate's own limits bound the decoder instead
        true => {
            Box::new(image::codecs::tiff::TiffDecoder::new(Cursor::new(&bytes[..])).map_err(bad)?)
        }
        false => {
            let mut reader = reader()?;
            reader.limits(decoder_limits);
            Box::new(reader.into_decoder().map_err(bad)?)
        }
    };
    if decoder.total_bytes() > max_pixel_bytes {
        return Err(Error::Limit {
            what: "decoded picture size (bytes)",
            value: decoder.total_bytes(),
            limit: max_pixel_bytes,
        });
    }
    let mut orientation = decoder.orientation().map_err(bad)?;
    let mut icc = decoder.icc_profile().map_err(bad)?;
    let mut exif = decoder.exif_metadata().map_err(bad)?;
    if exif.is_none() {
        // the image crate reads no EXIF out of a TIFF
        exif = embed::exif_from_tiff(&bytes);
    }
    if let Some(first) = is_jpeg
        .then(|| input_meta::jpeg_first_exif(&bytes))
        .flatten()
    {
        // several EXIF segments: the first counts, as for other readers
        orientation = Orientation::from_exif_chunk(&first).unwrap_or(Orientation::NoTransforms);
        exif = Some(first);
    }
    let mut xmp = decoder.xmp_metadata().map_err(bad)?;
    if exif
        .as_deref()
        .and_then(Orientation::from_exif_chunk)
        .is_none()
    {
        // no orientation in EXIF: XMP's tiff:Orientation, if it has one
        if let Some(o) = xmp.as_deref().and_then(input_meta::xmp_orientation) {
            orientation = Orientation::from_exif(o).unwrap_or(orientation);
        }
    }
    if icc.is_none() && input_meta::png_has_chunk(&bytes, b"iCCP") {
        notes.push(format!(
            "its ICC profile could not be read (over the {:.0} MiB limit for metadata, or \
             damaged); it is left out",
            mib(max_meta)
        ));
    }
    if let Some((len, segments)) = is_jpeg
        .then(|| input_meta::jpeg_extended_xmp(&bytes))
        .flatten()
    {
        notes.push(format!(
            "its extended XMP ({len} bytes in {segments} segments) is not carried; the main XMP \
             packet is"
        ));
        if let Some(xmp) = &mut xmp {
            input_meta::drop_extended_xmp_claim(xmp);
        }
    }
    for (what, item) in [
        ("ICC profile", &mut icc),
        ("EXIF", &mut exif),
        ("XMP", &mut xmp),
    ] {
        if let Some(len) = item
            .as_ref()
            .map(|v| v.len() as u64)
            .filter(|&n| n > max_meta)
        {
            notes.push(format!(
                "its {what} ({:.1} MiB) is over the {:.0} MiB limit for metadata; it is left out",
                mib(len),
                mib(max_meta)
            ));
            *item = None;
        }
    }
    let source_colour = decoder.original_color_type();
    let mut img = DynamicImage::from_decoder(decoder).map_err(bad)?;
    img.apply_orientation(orientation);
    // the pixels are upright now: a viewer must not turn them again
    if let Some(exif) = &mut exif {
        let _ = Orientation::remove_from_exif_chunk(exif);
    }
    if let Some(xmp) = &mut xmp {
        input_meta::reset_xmp_orientation(xmp);
    }
    let colour = img.color();
    let depth = (source_colour.bits_per_pixel() / u16::from(source_colour.channel_count())) as u8;
    if depth > 8 {
        notes.push(format!(
            "{depth}-bit samples are coded at 8 bits (the file records the source depth)"
        ));
    }
    let (width, height) = (img.width() as usize, img.height() as usize);
    let (channels, samples) = match (colour.has_color(), colour.has_alpha()) {
        (false, false) => (1, img.into_luma8().into_raw()),
        (false, true) => (2, img.into_luma_alpha8().into_raw()),
        (true, false) => (3, img.into_rgb8().into_raw()),
        (true, true) => (4, img.into_rgba8().into_raw()),
    };
    let mut picture = Picture::from_samples(width, height, channels, &samples)?;
    picture.source_depth = depth.clamp(1, format::MAX_SOURCE_DEPTH);
    picture.metadata = Metadata { icc, exif, xmp };
    Ok((picture, notes))
}

/// The pixels in the layout they are written in: gray or RGB, with alpha or without.
fn to_dynamic(picture: &Picture, keep_alpha: bool) -> DynamicImage {
    let (w, h) = (picture.image.width as u32, picture.image.height as u32);
    let samples = picture.samples();
    let img = match picture.channels() {
        1 => image::GrayImage::from_raw(w, h, samples).map(DynamicImage::from),
        2 => image::GrayAlphaImage::from_raw(w, h, samples).map(DynamicImage::from),
        3 => image::RgbImage::from_raw(w, h, samples).map(DynamicImage::from),
        _ => image::RgbaImage::from_raw(w, h, samples).map(DynamicImage::from),
    };
    let img = img.expect("the samples fill the picture");
    match (keep_alpha || !img.color().has_alpha(), picture.gray) {
        (true, _) => img,
        (false, true) => img.into_luma8().into(),
        (false, false) => img.into_rgb8().into(),
    }
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
    // what is written where: JPEG and PPM have no alpha; BMP's ICC header is a feature the image
    // crate's encoder does not write
    let (icc_written, exif_written, xmp_written) = match format {
        F::Png | F::Jpeg | F::Tiff | F::WebP => (true, true, true),
        _ => (false, false, false),
    };
    drop_note(
        "the alpha channel",
        picture.alpha.is_none() || alpha_written,
    );
    drop_note("the ICC profile", meta.icc.is_none() || icc_written);
    drop_note("EXIF metadata", meta.exif.is_none() || exif_written);
    drop_note("XMP metadata", meta.xmp.is_none() || xmp_written);
    let mut img = to_dynamic(picture, alpha_written);
    let la8 = img.color() == image::ColorType::La8;
    if format == F::Pnm || (matches!(format, F::Tiff | F::Bmp) && la8) {
        // PPM means P6; the TIFF encoder has no gray-with-alpha layout, and the BMP encoder
        // writes one as gray without its alpha
        img = match img.color().has_alpha() {
            true => img.to_rgba8().into(),
            false => img.to_rgb8().into(),
        };
    }
    let encode_error = |e: image::ImageError| Error::Image(format!("{}: {e}", path.display()));
    let mut bytes = Vec::new();
    let (w, h, layout) = (img.width(), img.height(), img.color().into());
    let mut icc = meta.icc.clone().filter(|_| icc_written);
    if format == F::Jpeg && icc.as_ref().is_some_and(|p| p.len() > JPEG_MAX_ICC) {
        // the encoder refuses it and with it the whole picture
        notes.push("an ICC profile over 16.7 MB does not fit a JPEG; it is not written".into());
        icc = None;
    }
    let mut exif = meta.exif.clone().filter(|_| exif_written);
    if format == F::Jpeg && exif.as_ref().is_some_and(|e| e.len() > JPEG_MAX_EXIF) {
        // the image crate would write a segment whose length field overflows
        notes.push("EXIF over 64 KB does not fit a JPEG segment; it is not written".into());
        exif = None;
    }
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
        F::Jpeg => {
            if let Some(Err(why)) = xmp.map(|x| embed::jpeg_xmp(&mut bytes, x)) {
                notes.push(format!("{why}; it is not written"));
            }
            Ok(())
        }
        F::WebP => xmp.map_or(Ok(()), |x| {
            embed::webp_xmp(&mut bytes, x, (w, h), img.color().has_alpha())
        }),
        F::Tiff => {
            let without_exif = bytes.clone();
            embed::tiff_exif_xmp(&mut bytes, meta.exif.as_deref(), xmp).or_else(|why| {
                // EXIF comes from the source picture: a malformed one is left out, not fatal
                notes.push(format!("EXIF is not written into TIFF files: {why}"));
                bytes = without_exif;
                embed::tiff_exif_xmp(&mut bytes, None, xmp)
            })
        }
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
