//! The picture type the codec takes and returns.

use crate::error::{Error, Result};

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

/// An error for an empty picture.
pub(crate) fn check_size(width: usize, height: usize) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::Image(format!(
            "image is {width}x{height}: nothing to code"
        )));
    }
    Ok(())
}
