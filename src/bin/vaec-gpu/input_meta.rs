//! What an input file carries that the image crate's decoders miss or misread, read from its
//! JPEG segments, PNG chunks and XMP text: the first of several EXIF segments, extended XMP, an
//! orientation given only in XMP, metadata chunks over the limit, and whether a JPEG is whole.

/// JPEG's APP1 names for EXIF, XMP and extended XMP.
const JPEG_EXIF_NAME: &[u8] = b"Exif\0\0";
const JPEG_XMP_EXTENSION_NAME: &[u8] = b"http://ns.adobe.com/xmp/extension/\0";

/// The segments of a JPEG before its image data: (marker code, payload after the length).
fn jpeg_segments(b: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    let mut at = 2; // after SOI
    while let (Some(&0xFF), Some(&code)) = (b.get(at), b.get(at + 1)) {
        if code == 0xFF {
            at += 1; // a fill byte
            continue;
        }
        if code == 0xDA || code == 0xD9 {
            break; // image data or the end
        }
        let Some(len) = b.get(at + 2..at + 4) else {
            break;
        };
        let len = u16::from_be_bytes([len[0], len[1]]) as usize;
        let Some(payload) = b.get(at + 4..at + 2 + len.max(2)) else {
            break;
        };
        out.push((code, payload));
        at += 2 + len;
    }
    out
}

/// A JPEG's EXIF (without `Exif\0\0`) from its first EXIF segment, when it has more than one:
/// readers keep the first, while the image crate keeps the last.
pub fn jpeg_first_exif(b: &[u8]) -> Option<Vec<u8>> {
    let mut exif = jpeg_segments(b)
        .into_iter()
        .filter(|(code, p)| *code == 0xE1 && p.starts_with(JPEG_EXIF_NAME));
    let first = exif.next()?;
    exif.next()?;
    Some(first.1[JPEG_EXIF_NAME.len()..].to_vec())
}

/// The bytes and segment count of a JPEG's extended XMP (the part of an XMP packet too large for
/// one segment), if it has any.
pub fn jpeg_extended_xmp(b: &[u8]) -> Option<(usize, usize)> {
    let parts: Vec<usize> = jpeg_segments(b)
        .into_iter()
        .filter(|(code, p)| *code == 0xE1 && p.starts_with(JPEG_XMP_EXTENSION_NAME))
        // the name, a 32-byte GUID, the full length and this part's offset, then the data
        .map(|(_, p)| p.len().saturating_sub(JPEG_XMP_EXTENSION_NAME.len() + 40))
        .collect();
    (!parts.is_empty()).then(|| (parts.iter().sum(), parts.len()))
}

/// Whether a JPEG's segments and entropy-coded data run up to an end-of-image marker (data after
/// it, such as a camera's trailer, is allowed).
pub fn jpeg_is_complete(b: &[u8]) -> bool {
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

/// Sets XMP's `tiff:Orientation` (attribute or element) to 1, as EXIF's is once it is applied.
pub fn reset_xmp_orientation(xmp: &mut [u8]) {
    for pattern in [&b"tiff:Orientation=\""[..], b"tiff:Orientation>"] {
        let mut from = 0;
        while let Some(at) = find(&xmp[from..], pattern) {
            let digit = from + at + pattern.len();
            if xmp.get(digit).is_some_and(|d| (b'2'..=b'8').contains(d)) {
                xmp[digit] = b'1';
            }
            from = digit;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The orientation an XMP packet gives (`tiff:Orientation`, attribute or element), 1 to 8.
pub fn xmp_orientation(xmp: &[u8]) -> Option<u8> {
    [&b"tiff:Orientation=\""[..], b"tiff:Orientation>"]
        .into_iter()
        .find_map(|pattern| {
            let at = find(xmp, pattern)? + pattern.len();
            xmp.get(at)
                .filter(|d| (b'1'..=b'8').contains(d))
                .map(|d| d - b'0')
        })
}

/// Removes the claim `xmpNote:HasExtendedXMP` (attribute or element) from an XMP packet whose
/// extension is not carried, so that the packet does not point at what is not there.
pub fn drop_extended_xmp_claim(xmp: &mut Vec<u8>) {
    const NAME: &[u8] = b"xmpNote:HasExtendedXMP";
    let Some(at) = find(xmp, NAME) else {
        return;
    };
    // an element <xmpNote:HasExtendedXMP>GUID</xmpNote:HasExtendedXMP>
    if at > 0 && xmp[at - 1] == b'<' {
        let close = b"</xmpNote:HasExtendedXMP>";
        if let Some(end) = find(&xmp[at..], close) {
            xmp.drain(at - 1..at + end + close.len());
        }
        return;
    }
    // an attribute xmpNote:HasExtendedXMP="GUID", with the space before it
    let value_start = at + NAME.len();
    if xmp.get(value_start..value_start + 2) == Some(b"=\"") {
        if let Some(quote) = xmp[value_start + 2..].iter().position(|&c| c == b'"') {
            let start = if at > 0 && xmp[at - 1].is_ascii_whitespace() {
                at - 1
            } else {
                at
            };
            xmp.drain(start..value_start + 2 + quote + 1);
        }
    }
}

/// The chunks of a PNG: (type, whole chunk's byte range from its length field to its CRC).
fn png_chunks(b: &[u8]) -> Vec<([u8; 4], std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut at = 8; // after the signature
    while let Some(head) = b.get(at..at + 8) {
        let len = u32::from_be_bytes(head[..4].try_into().expect("4 bytes")) as usize;
        let kind: [u8; 4] = head[4..].try_into().expect("4 bytes");
        let end = at.saturating_add(12).saturating_add(len);
        if end > b.len() {
            break;
        }
        out.push((kind, at..end));
        at = end;
    }
    out
}

/// Whether a PNG has a chunk of type `kind`.
pub fn png_has_chunk(b: &[u8], kind: &[u8; 4]) -> bool {
    b.starts_with(b"\x89PNG") && png_chunks(b).iter().any(|(k, _)| k == kind)
}

/// A PNG without its `kind` chunks whose data is over `max` bytes, and the size of the largest
/// one removed (None when there was none). The picture stays valid: they are ancillary chunks.
pub fn png_without_large(b: &[u8], kind: &[u8; 4], max: u64) -> Option<(Vec<u8>, u64)> {
    if !b.starts_with(b"\x89PNG") {
        return None;
    }
    let large: Vec<_> = png_chunks(b)
        .into_iter()
        .filter(|(k, r)| k == kind && (r.len() - 12) as u64 > max)
        .map(|(_, r)| r)
        .collect();
    let largest = large.iter().map(|r| (r.len() - 12) as u64).max()?;
    let mut out = Vec::with_capacity(b.len());
    let mut at = 0;
    for r in large {
        out.extend_from_slice(&b[at..r.start]);
        at = r.end;
    }
    out.extend_from_slice(&b[at..]);
    Some((out, largest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xmp_orientation_is_read_and_its_claims_removed() {
        assert_eq!(xmp_orientation(b"<x tiff:Orientation=\"6\"/>"), Some(6));
        assert_eq!(
            xmp_orientation(b"<tiff:Orientation>8</tiff:Orientation>"),
            Some(8)
        );
        assert_eq!(xmp_orientation(b"<x/>"), None);
        let mut attr = b"<d a=\"1\" xmpNote:HasExtendedXMP=\"ABC\" b=\"2\"/>".to_vec();
        drop_extended_xmp_claim(&mut attr);
        assert_eq!(attr, b"<d a=\"1\" b=\"2\"/>");
        let mut element = b"<d><xmpNote:HasExtendedXMP>ABC</xmpNote:HasExtendedXMP></d>".to_vec();
        drop_extended_xmp_claim(&mut element);
        assert_eq!(element, b"<d></d>");
    }

    #[test]
    fn jpeg_segments_stop_at_the_image_data_and_survive_garbage() {
        let seg = |code: u8, payload: &[u8]| {
            let len = (payload.len() + 2) as u16;
            [&[0xFF, code][..], &len.to_be_bytes(), payload].concat()
        };
        let jpeg = [
            &[0xFF, 0xD8][..],
            &seg(0xE1, b"Exif\0\0first"),
            &seg(0xE1, b"Exif\0\0second"),
            &seg(0xDA, b"xx"),
            &seg(0xE1, b"Exif\0\0after"),
        ]
        .concat();
        assert_eq!(jpeg_first_exif(&jpeg).as_deref(), Some(&b"first"[..]));
        for cut in 0..jpeg.len() {
            let _ = jpeg_first_exif(&jpeg[..cut]);
            let _ = jpeg_extended_xmp(&jpeg[..cut]);
        }
    }
}
