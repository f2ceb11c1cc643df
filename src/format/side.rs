//! The side section: what a picture carries besides the RGB pixels the network codes (an alpha
//! plane, an ICC profile, EXIF and XMP). It follows the last substream when the header's flag
//! bit 0 is set; a file without it is byte-identical to one written before it existed.

use super::Limits;
use crate::error::{Error, Result};

/// Header flag bit 0: a side section follows the substreams.
pub const FLAG_SIDE: u8 = 1;
/// Side items a file may hold, in the order they are written.
const TAGS: [[u8; 4]; 4] = [*b"ALPH", *b"ICCP", *b"EXIF", *b"XMP_"];

/// A picture's ICC profile, EXIF and XMP, carried as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    /// An ICC colour profile, as embedded in the source.
    pub icc: Option<Vec<u8>>,
    /// EXIF metadata: a TIFF-structured block, without JPEG's `Exif\0\0` prefix.
    pub exif: Option<Vec<u8>>,
    /// An XMP packet (UTF-8 XML).
    pub xmp: Option<Vec<u8>>,
}

/// What a file carries besides the coded RGB pixels. Absent items cost nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Side {
    /// The alpha plane, coded losslessly ([`super::encode_alpha`]; [`super::decode_alpha`] gets
    /// it back).
    pub alpha: Option<Vec<u8>>,
    /// ICC profile, EXIF and XMP.
    pub metadata: Metadata,
}

impl Side {
    fn items(&self) -> [(&[u8; 4], Option<&Vec<u8>>); 4] {
        let m = &self.metadata;
        [
            (&TAGS[0], self.alpha.as_ref()),
            (&TAGS[1], m.icc.as_ref()),
            (&TAGS[2], m.exif.as_ref()),
            (&TAGS[3], m.xmp.as_ref()),
        ]
    }

    /// Checks each metadata item against `limits` (a picture to encode, before it is written).
    pub(crate) fn check(&self, limits: &Limits) -> Result<()> {
        for (index, (_, item)) in self.items().into_iter().enumerate().skip(1) {
            if let Some(item) = item {
                check_metadata_len(index, item.len() as u64, limits)?;
            }
        }
        Ok(())
    }

    /// Whether nothing is carried.
    pub fn is_empty(&self) -> bool {
        self.items().iter().all(|(_, v)| v.is_none())
    }

    /// Bytes the section takes in a file (0 when empty).
    pub fn encoded_len(&self) -> usize {
        let present = self.items().into_iter().filter_map(|(_, v)| v);
        match self.is_empty() {
            true => 0,
            false => 1 + present.map(|v| 12 + v.len()).sum::<usize>(),
        }
    }

    /// Appends the section: an item count, per item a tag, its length and CRC-32, then the items.
    pub(crate) fn write(&self, out: &mut Vec<u8>) -> Result<()> {
        let items: Vec<_> = self
            .items()
            .into_iter()
            .filter_map(|(t, v)| Some((t, v?)))
            .collect();
        out.push(items.len() as u8);
        for (tag, v) in &items {
            let len = u32::try_from(v.len())
                .map_err(|_| Error::InvalidArgument("side item over 4 GiB".into()))?;
            out.extend_from_slice(&tag[..]);
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&crc32fast::hash(v).to_le_bytes());
        }
        for (_, v) in items {
            out.extend_from_slice(v);
        }
        Ok(())
    }

    /// Parses a section that must fill `bytes` exactly, checking every length and CRC, and each
    /// metadata item's length against `limits` before it is copied.
    pub(crate) fn parse(bytes: &[u8], limits: &Limits) -> Result<Side> {
        let bad = |why: String| Err(Error::Format(format!("side section: {why}")));
        let Some((&count, rest)) = bytes.split_first() else {
            return bad("missing (the header's flag says there is one)".into());
        };
        let count = count as usize;
        if count == 0 || count > TAGS.len() || rest.len() < 12 * count {
            return bad(format!("{count} items in {} bytes", bytes.len()));
        }
        let (table, mut data) = rest.split_at(12 * count);
        let mut side = Side::default();
        let mut last = None;
        for entry in table.chunks_exact(12) {
            let tag: [u8; 4] = entry[..4].try_into().expect("4 bytes");
            let len = u32::from_le_bytes(entry[4..8].try_into().expect("4 bytes")) as usize;
            let crc = u32::from_le_bytes(entry[8..12].try_into().expect("4 bytes"));
            let Some(index) = TAGS.iter().position(|t| *t == tag) else {
                return bad(format!("unknown item {:?}", String::from_utf8_lossy(&tag)));
            };
            if last.is_some_and(|l| l >= index) {
                return bad("items repeated or out of order".into());
            }
            last = Some(index);
            if len > data.len() {
                return bad(format!("item of {len} bytes runs past the end of the file"));
            }
            if index > 0 {
                check_metadata_len(index, len as u64, limits)?;
            }
            let (item, tail) = data.split_at(len);
            if crc32fast::hash(item) != crc {
                return bad(format!(
                    "{} checksum mismatch (the file is corrupt)",
                    String::from_utf8_lossy(&tag)
                ));
            }
            let slot = match index {
                0 => &mut side.alpha,
                1 => &mut side.metadata.icc,
                2 => &mut side.metadata.exif,
                _ => &mut side.metadata.xmp,
            };
            *slot = Some(item.to_vec());
            data = tail;
        }
        if !data.is_empty() {
            return bad(format!("{} unexpected bytes at the end", data.len()));
        }
        Ok(side)
    }
}

/// Refuses a metadata item (index 1 ICC, 2 EXIF, 3 XMP) over the limit.
fn check_metadata_len(index: usize, len: u64, limits: &Limits) -> Result<()> {
    if len <= limits.max_metadata_bytes {
        return Ok(());
    }
    Err(Error::Limit {
        what: ["", "ICC profile (bytes)", "EXIF (bytes)", "XMP (bytes)"][index],
        value: len,
        limit: limits.max_metadata_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::format::{decode_alpha, encode_alpha};

    #[test]
    fn alpha_round_trips_and_a_mask_is_small() {
        let (w, h) = (97, 61);
        // a disc with a soft edge
        let mask: Vec<u8> = (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32 - 48.0, (i / w) as f32 - 30.0);
                let d = (x * x + y * y).sqrt();
                ((25.0 - d).clamp(0.0, 1.0) * 255.0) as u8
            })
            .collect();
        let coded = encode_alpha(&mask);
        assert_eq!(decode_alpha(&coded, w, h).unwrap(), mask);
        assert!(coded.len() * 10 < mask.len(), "{} bytes", coded.len());
        let noise: Vec<u8> = (0..w * h).map(|i| ((i * 2654435761) >> 13) as u8).collect();
        assert_eq!(decode_alpha(&encode_alpha(&noise), w, h).unwrap(), noise);
        assert!(decode_alpha(&coded, w, h - 1).is_err());
        assert!(decode_alpha(&coded[..coded.len() / 2], w, h).is_err());
        // junk after the deflate stream, inside the item, is an error
        let junk_after = [&coded[..], b"junk"].concat();
        let err = decode_alpha(&junk_after, w, h).unwrap_err().to_string();
        assert!(err.contains("unexpected bytes"), "{err}");
        // a bomb (64 MiB of zeros in about 64 KB) is refused at the plane's size
        let bomb = encode_alpha(&vec![0; 64 << 20]);
        let err = decode_alpha(&bomb, w, h).unwrap_err().to_string();
        assert!(err.contains("more samples"), "{err}");
        // a header claiming a huge plane with a tiny item is refused before allocating
        let err = decode_alpha(&coded, 30000, 30000).unwrap_err().to_string();
        assert!(err.contains("cannot hold"), "{err}");
        // garbage is an error or a plane of the right size, never a panic
        let mut rng = crate::rng::Rng::new(5);
        for len in 0..2000 {
            let junk: Vec<u8> = (0..len % 300).map(|_| rng.below(256) as u8).collect();
            let junk = [&[0u8][..], &junk].concat();
            if let Ok(plane) = decode_alpha(&junk, w, h) {
                assert_eq!(plane.len(), w * h);
            }
        }
    }

    #[test]
    fn section_round_trips_and_refuses_damage() {
        let side = Side {
            alpha: None,
            metadata: Metadata {
                icc: Some(vec![1, 2, 3]),
                exif: Some(b"II*\0".to_vec()),
                xmp: Some(b"<x/>".to_vec()),
            },
        };
        let mut bytes = Vec::new();
        side.write(&mut bytes).unwrap();
        assert_eq!(bytes.len(), side.encoded_len());
        let limits = Limits::default();
        assert_eq!(Side::parse(&bytes, &limits).unwrap(), side);
        for cut in [0, 1, bytes.len() - 1] {
            assert!(Side::parse(&bytes[..cut], &limits).is_err(), "cut at {cut}");
        }
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(Side::parse(&flipped, &limits).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Side::parse(&longer, &limits).is_err());
        // a metadata item over the limit is refused by its length, before it is copied
        let small = Limits {
            max_metadata_bytes: 3,
            ..limits
        };
        let err = Side::parse(&bytes, &small).unwrap_err();
        assert!(matches!(err, Error::Limit { value: 4, .. }), "{err}");
        assert!(side.check(&small).is_err() && side.check(&limits).is_ok());
        assert_eq!(Side::default().encoded_len(), 0);
    }
}
