//! Reading inputs and writing outputs: standard input and output as `-`, pictures through the
//! image crate, and atomic writes that never replace a file unasked.

use std::io::{Read, Write};
use std::path::Path;

use vaec_gpu::{Error, Image, Result};

/// The bytes of `path`, or of standard input for `-`.
pub fn read_input(path: &Path) -> Result<Vec<u8>> {
    let io = |source| Error::Io {
        path: path.into(),
        source,
    };
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).map_err(io)?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(io)
}

/// A picture from `path` (any format the image crate reads), as RGB8.
pub fn read_image(path: &Path) -> Result<Image> {
    let bytes = read_input(path)?;
    let img = image::load_from_memory(&bytes)
        .map_err(|e| Error::Image(format!("{}: {e}", path.display())))?;
    let rgb = img.to_rgb8();
    Image::from_rgb8(rgb.width() as usize, rgb.height() as usize, rgb.as_raw())
}

/// An error if `path` is an existing file and `force` is not given (standard output is never one).
pub fn refuse_overwrite(path: &Path, force: bool) -> Result<()> {
    if !force && path != Path::new("-") && path.exists() {
        return Err(Error::InvalidArgument(format!(
            "{} exists; pass --force to overwrite it",
            path.display()
        )));
    }
    Ok(())
}

/// Writes `data` to `path` through a temporary file renamed into place, so that a failure never
/// leaves a half-written output; refuses to replace an existing file unless `force`.
pub fn write_atomic(path: &Path, data: &[u8], force: bool) -> Result<()> {
    let io = |source| Error::Io {
        path: path.into(),
        source,
    };
    if path == Path::new("-") {
        let mut out = std::io::stdout().lock();
        return out.write_all(data).and_then(|_| out.flush()).map_err(io);
    }
    refuse_overwrite(path, force)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| Error::InvalidArgument(format!("{} is not a file name", path.display())))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = std::fs::write(&tmp, data).and_then(|_| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// Writes a picture in the format of `path`'s extension (PNG for `-` or an unknown one).
pub fn write_image(image: &Image, path: &Path, force: bool) -> Result<()> {
    let format = if path == Path::new("-") {
        image::ImageFormat::Png
    } else {
        image::ImageFormat::from_path(path).unwrap_or(image::ImageFormat::Png)
    };
    let buf = image::RgbImage::from_raw(image.width as u32, image.height as u32, image.to_rgb8())
        .ok_or_else(|| Error::Image("decoded buffer has the wrong size".into()))?;
    let mut bytes = std::io::Cursor::new(Vec::new());
    buf.write_to(&mut bytes, format)
        .map_err(|e| Error::Image(format!("{}: {e}", path.display())))?;
    write_atomic(path, &bytes.into_inner(), force)
}
