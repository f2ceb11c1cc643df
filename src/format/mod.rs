//! The `.vaec` container: a small fixed header, a table of substreams with lengths and CRC-32s,
//! a header CRC-32, then the substreams (z first, then y in channel groups). Every size read from
//! a file is checked against [`Limits`] before anything is allocated. Spec: docs/bitstream.md.

use crate::error::{Error, Result};

mod alpha;
mod side;
pub use alpha::{decode_alpha, encode_alpha};
pub use side::{Metadata, Side, FLAG_SIDE};

/// The file's first four bytes.
pub const MAGIC: [u8; 4] = *b"VAEC";
/// The version of files from a scale-hyperprior model: y in one pass.
pub const VERSION_SCALE: u8 = 2;
/// The version of files from a checkerboard context model: y in two passes (anchors, then the
/// others), and an index hash that covers the means.
pub const VERSION_CONTEXT: u8 = 3;
/// Interleaved rANS states of the z substream: z is small (1/32 as many elements as y), so one state
/// (8 bytes of final state) is enough.
pub const Z_LANES: usize = 1;
/// Interleaved rANS states of each y substream: two independent chains for the decoder. Four
/// decode 7% faster (0.1 ms of a Kodak picture's 350) but cost 16 more bytes a substream.
pub const Y_LANES: usize = 2;

/// Interleaved rANS states of substream `index` (0 is z, the rest are y): the one place that
/// pairs a substream with its state count, for the encoder and the decoder alike.
pub fn substream_lanes(index: usize) -> usize {
    if index == 0 {
        Z_LANES
    } else {
        Y_LANES
    }
}
/// Bytes before the substream table.
const FIXED_HEADER: usize = 46;
/// Colour format code: 8-bit sRGB RGB.
pub const COLOUR_SRGB8: u8 = 0;
/// Colour format code: 8-bit grayscale, coded as RGB with equal channels and decoded to one.
pub const COLOUR_GRAY8: u8 = 1;
/// Deepest source the header records (bits per sample).
pub const MAX_SOURCE_DEPTH: u8 = 16;

/// The most bytes an ICC profile, EXIF block or XMP packet may have (each), in a file or in a
/// picture to encode: 16 MiB, more than any camera or colour tool writes (JPEG itself holds at
/// most 16.7 MB of ICC profile and 64 KB of EXIF).
pub const MAX_METADATA_BYTES: u64 = 16 << 20;

/// Limits on what a decoder accepts, checked before allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest width or height.
    pub max_side: u32,
    /// Largest width x height.
    pub max_pixels: u64,
    /// Largest ICC profile, EXIF block or XMP packet (each).
    pub max_metadata_bytes: u64,
}

impl Default for Limits {
    /// Admits 8K photos (8192 x 8192 = 64 Mpx, sides up to 32768) and metadata items of up to
    /// [`MAX_METADATA_BYTES`].
    fn default() -> Self {
        Limits {
            max_side: 32768,
            max_pixels: 8192 * 8192,
            max_metadata_bytes: MAX_METADATA_BYTES,
        }
    }
}

impl Limits {
    /// Checks an image size against the limits.
    pub fn check(&self, width: u64, height: u64) -> Result<()> {
        if width == 0 || height == 0 {
            return Err(Error::Format(format!(
                "image size {width}x{height} is empty"
            )));
        }
        for (what, v) in [("width", width), ("height", height)] {
            if v > self.max_side as u64 {
                return Err(Error::Limit {
                    what,
                    value: v,
                    limit: self.max_side as u64,
                });
            }
        }
        if width * height > self.max_pixels {
            return Err(Error::Limit {
                what: "pixel count",
                value: width * height,
                limit: self.max_pixels,
            });
        }
        Ok(())
    }
}

/// The header fields of a `.vaec` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// [`VERSION_SCALE`] or [`VERSION_CONTEXT`].
    pub version: u8,
    /// First 16 bytes of the SHA-256 of the weight file that encoded it.
    pub model_id: [u8; 16],
    /// Image width.
    pub width: u32,
    /// Image height.
    pub height: u32,
    /// Colour format: [`COLOUR_SRGB8`] or [`COLOUR_GRAY8`].
    pub colour: u8,
    /// Bits per sample of the source picture when it was not 8 (it is coded at 8); 0 means 8.
    pub source_depth: u8,
    /// Quality in 1/256 steps (256 = quality 1.0).
    pub quality_q8: u16,
    /// First 8 bytes of the SHA-256 of the scale-index map (and of the means, version 3).
    pub index_hash: [u8; 8],
}

impl Header {
    /// The quality as a number.
    pub fn quality(&self) -> f32 {
        self.quality_q8 as f32 / 256.0
    }

    /// Bits per sample of the source picture.
    pub fn source_bits(&self) -> u8 {
        match self.source_depth {
            0 => 8,
            d => d,
        }
    }
}

/// A parsed file: the header and its substreams (stream 0 is z, the rest y groups).
#[derive(Debug)]
pub struct Parsed<'a> {
    /// Header fields.
    pub header: Header,
    /// The substreams, checksums verified.
    pub streams: Vec<&'a [u8]>,
    /// Bytes of header and table.
    pub header_bytes: usize,
    /// What the picture carries besides its RGB pixels, checksums verified.
    pub side: Side,
    /// The alpha plane decoded from `side` (`width * height` samples), checked whole: the file
    /// is refused before any GPU work when it is damaged.
    pub alpha: Option<Vec<u8>>,
}

/// Serializes a header and its substreams.
pub fn write(header: &Header, streams: &[Vec<u8>]) -> Result<Vec<u8>> {
    write_with_side(header, streams, &Side::default())
}

/// A file's bytes with another header and side section (same substreams): how a picture's alpha,
/// grayscale, source depth and metadata are attached to what the codec made.
pub fn rewrap(
    bytes: &[u8],
    limits: &Limits,
    edit: impl FnOnce(&mut Header),
    side: &Side,
) -> Result<Vec<u8>> {
    let parsed = parse(bytes, limits)?;
    let mut header = parsed.header;
    edit(&mut header);
    let streams: Vec<Vec<u8>> = parsed.streams.iter().map(|s| s.to_vec()).collect();
    write_with_side(&header, &streams, side)
}

/// Serializes a header, its substreams and a side section (none when `side` is empty).
pub fn write_with_side(header: &Header, streams: &[Vec<u8>], side: &Side) -> Result<Vec<u8>> {
    let count = u16::try_from(streams.len()).map_err(|_| {
        Error::InvalidArgument(format!("{} substreams, at most 65535", streams.len()))
    })?;
    let mut out = Vec::with_capacity(
        FIXED_HEADER
            + 8 * streams.len()
            + 4
            + streams.iter().map(Vec::len).sum::<usize>()
            + side.encoded_len(),
    );
    if ![VERSION_SCALE, VERSION_CONTEXT].contains(&header.version) {
        return Err(Error::InvalidArgument(format!(
            "version {} cannot be written",
            header.version
        )));
    }
    out.extend_from_slice(&MAGIC);
    out.push(header.version);
    check_colour(header)?;
    out.push(if side.is_empty() { 0 } else { FLAG_SIDE });
    let header_len = FIXED_HEADER + 8 * streams.len() + 4;
    let header_len =
        u16::try_from(header_len).map_err(|_| Error::InvalidArgument("header too long".into()))?;
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(&header.model_id);
    out.extend_from_slice(&header.width.to_le_bytes());
    out.extend_from_slice(&header.height.to_le_bytes());
    out.push(header.colour);
    out.push(header.source_depth);
    out.extend_from_slice(&header.quality_q8.to_le_bytes());
    out.extend_from_slice(&header.index_hash);
    out.extend_from_slice(&count.to_le_bytes());
    debug_assert_eq!(out.len(), FIXED_HEADER);
    for s in streams {
        let len = u32::try_from(s.len())
            .map_err(|_| Error::InvalidArgument("substream over 4 GiB".into()))?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(s).to_le_bytes());
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    for s in streams {
        out.extend_from_slice(s);
    }
    if !side.is_empty() {
        side.write(&mut out)?;
    }
    Ok(out)
}

/// The colour format and source depth are ones this version knows.
fn check_colour(header: &Header) -> Result<()> {
    if ![COLOUR_SRGB8, COLOUR_GRAY8].contains(&header.colour) {
        return Err(Error::Format(format!(
            "colour format {} is not supported",
            header.colour
        )));
    }
    if header.source_depth > MAX_SOURCE_DEPTH {
        return Err(Error::Format(format!(
            "source depth {} bits is over {MAX_SOURCE_DEPTH}",
            header.source_depth
        )));
    }
    Ok(())
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Parses and checks a file: magic, version, sizes against `limits`, header and substream CRCs,
/// and that the substreams exactly fill the file.
pub fn parse<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Parsed<'a>> {
    if bytes.len() < 4 || bytes[..4] != MAGIC {
        return Err(Error::Format("not a .vaec file (bad magic)".into()));
    }
    if bytes.len() < FIXED_HEADER + 4 {
        return Err(Error::Format(format!(
            "file is truncated ({} bytes, header needs {})",
            bytes.len(),
            FIXED_HEADER + 4
        )));
    }
    let version = bytes[4];
    if ![VERSION_SCALE, VERSION_CONTEXT].contains(&version) {
        return Err(Error::Format(format!(
            "version {version} is not supported (this build reads {VERSION_SCALE} and {VERSION_CONTEXT})"
        )));
    }
    let flags = bytes[5];
    if flags & !FLAG_SIDE != 0 {
        return Err(Error::Format(format!(
            "flags {flags:#04x}: only bit 0 (side section) is defined"
        )));
    }
    let header_len = u16_at(bytes, 6) as usize;
    let count = u16_at(bytes, 44) as usize;
    if header_len != FIXED_HEADER + 8 * count + 4 {
        return Err(Error::Format(format!(
            "header length {header_len} does not match {count} substreams"
        )));
    }
    if bytes.len() < header_len {
        return Err(Error::Format(format!(
            "file is truncated ({} bytes, header needs {header_len})",
            bytes.len()
        )));
    }
    let stored_crc = u32_at(bytes, header_len - 4);
    if crc32fast::hash(&bytes[..header_len - 4]) != stored_crc {
        return Err(Error::Format(
            "header checksum mismatch (the file is corrupt)".into(),
        ));
    }
    let header = Header {
        version,
        model_id: bytes[8..24].try_into().expect("16 bytes"),
        width: u32_at(bytes, 24),
        height: u32_at(bytes, 28),
        colour: bytes[32],
        source_depth: bytes[33],
        quality_q8: u16_at(bytes, 34),
        index_hash: bytes[36..44].try_into().expect("8 bytes"),
    };
    limits.check(header.width as u64, header.height as u64)?;
    check_colour(&header)?;
    if count < 2 {
        return Err(Error::Format(format!(
            "{count} substreams; a file has at least z and one y stream"
        )));
    }
    let mut streams = Vec::with_capacity(count);
    let mut at = header_len;
    for i in 0..count {
        let len = u32_at(bytes, FIXED_HEADER + 8 * i) as usize;
        let crc = u32_at(bytes, FIXED_HEADER + 8 * i + 4);
        let end = at
            .checked_add(len)
            .filter(|e| *e <= bytes.len())
            .ok_or_else(|| {
                Error::Format(format!(
                    "substream {i} ({len} bytes) runs past the end of the file (truncated?)"
                ))
            })?;
        let s = &bytes[at..end];
        if crc32fast::hash(s) != crc {
            return Err(Error::Format(format!(
                "substream {i} checksum mismatch (the file is corrupt)"
            )));
        }
        streams.push(s);
        at = end;
    }
    let side = match flags & FLAG_SIDE {
        0 if at != bytes.len() => {
            return Err(Error::Format(format!(
                "{} unexpected bytes after the last substream",
                bytes.len() - at
            )))
        }
        0 => Side::default(),
        _ => Side::parse(&bytes[at..], limits)?,
    };
    let (w, h) = (header.width as usize, header.height as usize);
    let alpha = side
        .alpha
        .as_deref()
        .map(|coded| decode_alpha(coded, w, h))
        .transpose()?;
    Ok(Parsed {
        header,
        streams,
        header_bytes: header_len,
        side,
        alpha,
    })
}
