//! `.vaec` in the image crate (feature `image-hooks`): after [`register_image_hooks`],
//! `image::open("photo.vaec")` and `image::ImageReader` decode vaec files like any other format.
//! Decoding runs on a GPU context the hooks open on first use, with the compiled-in model that
//! made each file.

use std::ffi::OsString;
use std::io::Read;
use std::sync::{Mutex, OnceLock};

use image::error::{DecodingError, ImageFormatHint, LimitError, LimitErrorKind};
use image::{ColorType, ImageDecoder, ImageError, ImageResult};

use crate::codec::Codec;
use crate::error::Error;
use crate::format::{self, Header, Limits, Side, MAGIC};
use crate::gpu::GpuContext;
use crate::model::Model;

/// A `.vaec` file as an [`ImageDecoder`]: the header is read when it is made, the picture decoded
/// by [`ImageDecoder::read_image`].
pub struct VaecDecoder {
    bytes: Vec<u8>,
    header: Header,
    side: Side,
}

fn image_error(e: Error) -> ImageError {
    match e {
        Error::Limit { .. } => {
            ImageError::Limits(LimitError::from_kind(LimitErrorKind::DimensionError))
        }
        other => ImageError::Decoding(DecodingError::new(
            ImageFormatHint::Name("vaec".into()),
            other,
        )),
    }
}

impl VaecDecoder {
    /// Reads a whole `.vaec` file (at most what `limits` allows) and its header.
    pub fn new(reader: impl Read, limits: &Limits) -> Result<VaecDecoder, Error> {
        let cap = limits.max_pixels.saturating_mul(8).saturating_add(1 << 20);
        let mut bytes = Vec::new();
        reader
            .take(cap + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| Error::Io {
                path: "<image reader>".into(),
                source,
            })?;
        if bytes.len() as u64 > cap {
            return Err(Error::Limit {
                what: "input size (bytes)",
                value: bytes.len() as u64,
                limit: cap,
            });
        }
        let parsed = format::parse(&bytes, limits)?;
        let (header, side) = (parsed.header, parsed.side);
        Ok(VaecDecoder {
            bytes,
            header,
            side,
        })
    }

    /// The file's header.
    pub fn header(&self) -> &Header {
        &self.header
    }
}

/// The decoders' codec: one GPU context for the process, the model of the last file decoded.
fn with_codec<T>(
    model_id: &[u8; 16],
    f: impl FnOnce(&Codec) -> Result<T, Error>,
) -> Result<T, Error> {
    static CODEC: OnceLock<Mutex<Option<Codec>>> = OnceLock::new();
    let slot = CODEC.get_or_init(|| Mutex::new(None));
    let mut slot = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if slot.as_ref().is_none_or(|c| c.model().id != *model_id) {
        let model = Model::builtin_with_id(model_id).unwrap_or_else(Model::builtin)?;
        let ctx = match slot.take() {
            // keep the device, drop the other model's buffers
            Some(old) => GpuContext::from_device(
                old.context().device().clone(),
                old.context().queue().clone(),
            )?,
            None => GpuContext::new(None)?,
        };
        *slot = Some(Codec::new(ctx, model)?);
    }
    f(slot.as_ref().expect("opened above"))
}

impl ImageDecoder for VaecDecoder {
    fn dimensions(&self) -> (u32, u32) {
        (self.header.width, self.header.height)
    }

    /// The layout the file was coded from: gray or RGB, with alpha or without.
    fn color_type(&self) -> ColorType {
        let gray = self.header.colour == format::COLOUR_GRAY8;
        match (gray, self.side.alpha.is_some()) {
            (true, false) => ColorType::L8,
            (true, true) => ColorType::La8,
            (false, false) => ColorType::Rgb8,
            (false, true) => ColorType::Rgba8,
        }
    }

    fn icc_profile(&mut self) -> ImageResult<Option<Vec<u8>>> {
        Ok(self.side.metadata.icc.clone())
    }

    fn exif_metadata(&mut self) -> ImageResult<Option<Vec<u8>>> {
        Ok(self.side.metadata.exif.clone())
    }

    fn xmp_metadata(&mut self) -> ImageResult<Option<Vec<u8>>> {
        Ok(self.side.metadata.xmp.clone())
    }

    fn read_image(self, buf: &mut [u8]) -> ImageResult<()> {
        let picture = with_codec(&self.header.model_id, |codec| {
            codec.decode_picture(&self.bytes)
        })
        .map_err(image_error)?;
        buf.copy_from_slice(&picture.samples());
        Ok(())
    }

    fn read_image_boxed(self: Box<Self>, buf: &mut [u8]) -> ImageResult<()> {
        (*self).read_image(buf)
    }
}

/// Registers `.vaec` with the image crate: a decoding hook for the extension and detection of
/// the magic bytes, so that `image::open` and `ImageReader::with_guessed_format` find it.
/// Returns false if a hook for `vaec` was registered already.
pub fn register_image_hooks() -> bool {
    image::hooks::register_format_detection_hook(OsString::from("vaec"), &MAGIC, None);
    image::hooks::register_decoding_hook(
        OsString::from("vaec"),
        Box::new(|reader| {
            let decoder = VaecDecoder::new(reader, &Limits::default()).map_err(image_error)?;
            Ok(Box::new(decoder))
        }),
    )
}
