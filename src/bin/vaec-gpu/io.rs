//! Reading inputs and writing outputs: standard input and output as `-`, pictures through the
//! image crate with limits checked before anything is allocated, and atomic writes that never
//! replace anything but a regular file, and that only when asked.

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use vaec_gpu::format::Limits;
use vaec_gpu::{Error, Image, Result};

/// The most bytes an input may have for `limits`: a picture of the largest size at 16 bits per
/// sample with alpha, stored uncompressed, with room for headers and metadata.
pub fn max_input_bytes(limits: &Limits) -> u64 {
    limits.max_pixels.saturating_mul(8).saturating_add(16 << 20)
}

/// The bytes of `path`, or of standard input for `-`, refused beyond `max_bytes`.
pub fn read_input(path: &Path, max_bytes: u64) -> Result<Vec<u8>> {
    let io = |source| Error::Io {
        path: path.into(),
        source,
    };
    let mut buf = Vec::new();
    let read = if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(max_bytes + 1)
            .read_to_end(&mut buf)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(max_bytes + 1).read_to_end(&mut buf))
    };
    read.map_err(io)?;
    if buf.len() as u64 > max_bytes {
        return Err(Error::Limit {
            what: "input size (bytes)",
            value: buf.len() as u64,
            limit: max_bytes,
        });
    }
    Ok(buf)
}

/// A picture from `path` (any format the image crate reads), as RGB8. Its size is checked against
/// `limits` from the header before any pixel is decoded, and the decoder's allocations are bounded.
pub fn read_image(path: &Path, limits: &Limits) -> Result<Image> {
    read_picture(path, limits).map(|(image, _)| image)
}

/// [`read_image`], turned upright by its EXIF orientation, with a note for everything of the
/// input that the RGB8 picture does not keep.
pub fn read_picture(path: &Path, limits: &Limits) -> Result<(Image, Vec<&'static str>)> {
    let bytes = read_input(path, max_input_bytes(limits))?;
    let bad = |e: image::ImageError| Error::Image(format!("{}: {e}", path.display()));
    let reader = || {
        image::ImageReader::new(Cursor::new(&bytes[..]))
            .with_guessed_format()
            .map_err(|e| Error::Image(format!("{}: {e}", path.display())))
    };
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) && !jpeg_is_complete(&bytes) {
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
    let mut reader = reader()?;
    reader.limits(decoder_limits);
    let mut decoder = reader.into_decoder().map_err(bad)?;
    if decoder.total_bytes() > max_alloc {
        return Err(Error::Limit {
            what: "decoded picture size (bytes)",
            value: decoder.total_bytes(),
            limit: max_alloc,
        });
    }
    use image::ImageDecoder;
    let orientation = decoder.orientation().map_err(bad)?;
    let icc = decoder.icc_profile().map_err(bad)?.is_some();
    let exif = decoder.exif_metadata().map_err(bad)?.is_some();
    let mut img = image::DynamicImage::from_decoder(decoder).map_err(bad)?;
    img.apply_orientation(orientation);
    let colour = img.color();
    let mut notes = Vec::new();
    if colour.bits_per_pixel() / u16::from(colour.channel_count()) > 8 {
        notes.push("samples deeper than 8 bits are coded at 8 bits");
    }
    if !colour.has_color() {
        notes.push("grayscale is coded, and decodes, as RGB");
    }
    if colour.has_alpha() && img.to_rgba8().pixels().any(|p| p.0[3] != 255) {
        notes.push("the alpha channel is not kept (vaec codes RGB only)");
    }
    if icc {
        notes.push("the ICC colour profile is not kept (the pixels are coded as they are)");
    }
    if exif {
        notes.push("EXIF metadata is not kept (its orientation is applied to the pixels)");
    }
    let rgb = img.to_rgb8();
    let image = Image::from_rgb8(rgb.width() as usize, rgb.height() as usize, rgb.as_raw())?;
    Ok((image, notes))
}

/// Whether a JPEG's segments and entropy-coded data run up to an end-of-image marker (data after
/// it, such as a camera's trailer, is allowed).
fn jpeg_is_complete(b: &[u8]) -> bool {
    let mut at = 2; // after SOI
    loop {
        // the next marker: 0xFF, fill bytes 0xFF, then the marker code
        while b.get(at) == Some(&0xFF) && b.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let (Some(&0xFF), Some(&code)) = (b.get(at), b.get(at + 1)) else {
            return false;
        };
        match code {
            0xD9 => return true,
            0x01 | 0xD0..=0xD7 => at += 2,
            _ => {
                let Some(len) = b.get(at + 2..at + 4) else {
                    return false;
                };
                at += 2 + u16::from_be_bytes([len[0], len[1]]) as usize;
                if code == 0xDA {
                    // entropy-coded data up to the next marker that is not a stuffed 0xFF00 or RSTn
                    loop {
                        match (b.get(at), b.get(at + 1)) {
                            (Some(0xFF), Some(0x00 | 0xD0..=0xD7)) => at += 2,
                            (Some(0xFF), Some(_)) => break,
                            (Some(_), _) => at += 1,
                            (None, _) => return false,
                        }
                    }
                }
            }
        }
    }
}

/// Where an output really goes: `path`, or for a symlink (with `force`) the file it points to.
/// Refuses an existing output without `force`, a symlink without `force`, and anything that
/// is not a regular file (a directory, device, FIFO or socket) even with it.
pub fn output_target(path: &Path, force: bool) -> Result<PathBuf> {
    if path == Path::new("-") {
        return Ok(path.into());
    }
    let refuse = |why: String| Err(Error::InvalidArgument(format!("{}: {why}", path.display())));
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(path.into()); // nothing there
    };
    let target = if meta.file_type().is_symlink() {
        if !force {
            return refuse(
                "is a symbolic link; pass --force to write the file it points to".into(),
            );
        }
        let target = std::fs::read_link(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        let target = match target.is_absolute() {
            true => target,
            false => path.parent().unwrap_or(Path::new(".")).join(target),
        };
        match std::fs::metadata(&target) {
            Err(_) => return Ok(target), // a dangling link: the file it names is created
            Ok(m) if m.is_file() => return Ok(target),
            Ok(_) => {
                return refuse(format!(
                    "points to {}, which is not a regular file",
                    target.display()
                ))
            }
        }
    } else {
        path.to_path_buf()
    };
    if meta.is_dir() {
        return refuse(
            "is a directory, not a regular file (name a file, or give several inputs to write into a folder)"
                .into(),
        );
    }
    if !meta.is_file() {
        return refuse(
            "exists and is not a regular file (a device or pipe is never replaced)".into(),
        );
    }
    if !force {
        return refuse("exists; pass --force to overwrite it".into());
    }
    Ok(target)
}

/// Writes `data` to `path` through a temporary file renamed into place, so that a failure never
/// leaves a half-written output; see [`output_target`] for what may be replaced.
pub fn write_atomic(path: &Path, data: &[u8], force: bool) -> Result<()> {
    let io = |source| Error::Io {
        path: path.into(),
        source,
    };
    if path == Path::new("-") {
        let mut out = std::io::stdout().lock();
        return out.write_all(data).and_then(|_| out.flush()).map_err(io);
    }
    let target = output_target(path, force)?;
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .ok_or_else(|| Error::InvalidArgument(format!("{} is not a file name", path.display())))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = std::fs::write(&tmp, data).and_then(|_| std::fs::rename(&tmp, &target));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// The picture formats `decode` writes, by extension.
pub const OUTPUT_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff", "ppm"];

/// The format of an output path: from its extension (`-` is PNG); an unknown one is an error.
pub fn output_format(path: &Path) -> Result<image::ImageFormat> {
    if path == Path::new("-") {
        return Ok(image::ImageFormat::Png);
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if !OUTPUT_EXTENSIONS.contains(&ext.as_str()) {
        return Err(Error::InvalidArgument(format!(
            "{}: unknown output extension {ext:?} (use {})",
            path.display(),
            OUTPUT_EXTENSIONS.join(", ")
        )));
    }
    image::ImageFormat::from_extension(&ext)
        .ok_or_else(|| Error::InvalidArgument(format!("{}: no encoder for .{ext}", path.display())))
}

/// Writes a picture in the format of `path`'s extension (PNG for `-`); `.ppm` is binary P6.
pub fn write_image(image: &Image, path: &Path, force: bool) -> Result<()> {
    let format = output_format(path)?;
    let (w, h) = (image.width as u32, image.height as u32);
    let rgb = image.to_rgb8();
    let encode_error = |e: image::ImageError| Error::Image(format!("{}: {e}", path.display()));
    let mut bytes = Vec::new();
    if format == image::ImageFormat::Pnm {
        use image::codecs::pnm::{PnmEncoder, PnmSubtype, SampleEncoding};
        use image::ImageEncoder;
        PnmEncoder::new(&mut bytes)
            .with_subtype(PnmSubtype::Pixmap(SampleEncoding::Binary))
            .write_image(&rgb, w, h, image::ExtendedColorType::Rgb8)
            .map_err(encode_error)?;
    } else {
        let buf = image::RgbImage::from_raw(w, h, rgb)
            .ok_or_else(|| Error::Image("decoded buffer has the wrong size".into()))?;
        let mut cursor = Cursor::new(&mut bytes);
        buf.write_to(&mut cursor, format).map_err(encode_error)?;
    }
    write_atomic(path, &bytes, force)
}
