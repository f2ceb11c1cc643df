//! Metadata into the containers of other formats, where the image crate stops short: XMP in PNG
//! (an iTXt chunk), JPEG (an APP1 segment) and WebP (an `XMP ` chunk), EXIF and XMP in TIFF (tags
//! of the first directory, the EXIF directories copied as sub-directories); and EXIF out of a
//! TIFF, which shares the directory reader. What the decoders of inputs miss is `input_meta.rs`.

/// PNG's and TIFF's keyword and JPEG's segment name for XMP.
const PNG_XMP_KEYWORD: &[u8] = b"XML:com.adobe.xmp";
const JPEG_XMP_NAME: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
/// TIFF tags: XMP, the EXIF, GPS and interoperability directory pointers.
const TAG_XMP: u16 = 700;
const TAG_ICC: u16 = 34675;
const POINTER_TAGS: [u16; 3] = [34665, 34853, 40965];
/// Tags of EXIF's first directory that describe how its pixels (or thumbnail) are stored, not
/// the photo: the TIFF written here has its own.
const LAYOUT_TAGS: [u16; 24] = [
    254, 255, 256, 257, 258, 259, 262, 266, 273, 277, 278, 279, 284, 292, 293, 317, 320, 322, 323,
    324, 325, 338, 339, 513,
];

/// Inserts an uncompressed iTXt chunk with the XMP packet after a PNG's IHDR.
pub fn png_xmp(png: &mut Vec<u8>, xmp: &[u8]) -> Result<(), String> {
    let ihdr_end = 8 + 8 + 13 + 4;
    if png.len() < ihdr_end || &png[12..16] != b"IHDR" {
        return Err("the PNG encoder's output has no IHDR first".into());
    }
    // keyword, NUL, compression flag and method, empty language and translated keyword
    let data = [PNG_XMP_KEYWORD, &[0, 0, 0, 0, 0], xmp].concat();
    let len = u32::try_from(data.len()).map_err(|_| "XMP over 4 GiB")?;
    let mut chunk = len.to_be_bytes().to_vec();
    chunk.extend_from_slice(b"iTXt");
    chunk.extend_from_slice(&data);
    chunk.extend_from_slice(&crc32fast::hash(&chunk[4..]).to_be_bytes());
    png.splice(ihdr_end..ihdr_end, chunk);
    Ok(())
}

/// Inserts an APP1 segment with the XMP packet after a JPEG's leading APPn segments.
pub fn jpeg_xmp(jpeg: &mut Vec<u8>, xmp: &[u8]) -> Result<(), String> {
    let body = [JPEG_XMP_NAME, xmp].concat();
    let len = u16::try_from(body.len() + 2)
        .map_err(|_| "XMP over 64 KB does not fit a JPEG segment (extended XMP is not written)")?;
    let mut at = 2;
    while jpeg.get(at) == Some(&0xFF) && jpeg.get(at + 1).is_some_and(|m| m & 0xF0 == 0xE0) {
        let seg = jpeg
            .get(at + 2..at + 4)
            .ok_or("the JPEG encoder's output is cut short")?;
        at += 2 + u16::from_be_bytes([seg[0], seg[1]]) as usize;
    }
    let segment = [&[0xFF, 0xE1][..], &len.to_be_bytes(), &body].concat();
    jpeg.splice(at..at, segment);
    Ok(())
}

/// Adds an `XMP ` chunk to a WebP file, turning a simple file into an extended one (a VP8X
/// chunk with the canvas size and the alpha flag) if it is not one already.
pub fn webp_xmp(
    webp: &mut Vec<u8>,
    xmp: &[u8],
    (w, h): (u32, u32),
    alpha: bool,
) -> Result<(), String> {
    const XMP_FLAG: u8 = 0x04;
    const ALPHA_FLAG: u8 = 0x10;
    if webp.len() < 20 || &webp[..4] != b"RIFF" || &webp[8..12] != b"WEBP" {
        return Err("the WebP encoder's output is not a RIFF WebP file".into());
    }
    if &webp[12..16] == b"VP8X" {
        webp[20] |= XMP_FLAG;
    } else {
        let mut vp8x = b"VP8X\x0a\0\0\0".to_vec();
        vp8x.push(XMP_FLAG | if alpha { ALPHA_FLAG } else { 0 });
        vp8x.extend_from_slice(&[0; 3]);
        vp8x.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
        vp8x.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
        webp.splice(12..12, vp8x);
    }
    let len = u32::try_from(xmp.len()).map_err(|_| "XMP over 4 GiB")?;
    webp.extend_from_slice(b"XMP ");
    webp.extend_from_slice(&len.to_le_bytes());
    webp.extend_from_slice(xmp);
    if xmp.len() % 2 == 1 {
        webp.push(0); // chunks are padded to an even size
    }
    let riff = u32::try_from(webp.len() - 8).map_err(|_| "WebP over 4 GiB")?;
    webp[4..8].copy_from_slice(&riff.to_le_bytes());
    Ok(())
}

/// One directory entry: its value bytes in little-endian order, and for a pointer tag the
/// directory it points to instead.
struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    value: Vec<u8>,
    directory: Option<Vec<Entry>>,
}

const TOO_MUCH: &str = "EXIF directories overlap or loop (more entries than the block holds)";

/// Bytes of one value of a TIFF type, and the size of the units to swap between byte orders.
fn type_size(kind: u16) -> Option<(usize, usize)> {
    match kind {
        1 | 2 | 6 | 7 => Some((1, 1)),
        3 | 8 => Some((2, 2)),
        4 | 9 | 11 | 13 => Some((4, 4)),
        5 | 10 => Some((8, 4)),
        12 => Some((8, 8)),
        _ => None,
    }
}

/// Reads the directory at `offset` of a TIFF-structured block (EXIF), following the EXIF, GPS
/// and interoperability pointers `depth` levels down. Entries of unknown types are skipped.
fn read_directory(block: &[u8], offset: usize, depth: u32) -> Result<Vec<Entry>, String> {
    // what a well-formed block can hold (entries, and values stored once, inline ones counted
    // twice): directories that overlap or point at each other to multiply the work are refused
    let mut budget = 2 * block.len() + 1024;
    read_directory_within(block, offset, depth, &mut budget)
}

fn read_directory_within(
    block: &[u8],
    offset: usize,
    depth: u32,
    budget: &mut usize,
) -> Result<Vec<Entry>, String> {
    let big = block.starts_with(b"MM");
    let num = |at: usize, n: usize| -> Result<u32, String> {
        let b = block.get(at..at + n).ok_or("EXIF is cut short")?;
        let most_significant_first = |v: u32, &x: &u8| v << 8 | x as u32;
        Ok(match big {
            true => b.iter().fold(0, most_significant_first),
            false => b.iter().rev().fold(0, most_significant_first),
        })
    };
    let count = num(offset, 2)? as usize;
    let mut entries = Vec::new();
    for i in 0..count {
        let at = offset + 2 + 12 * i;
        let (tag, kind, n) = (num(at, 2)? as u16, num(at + 2, 2)? as u16, num(at + 4, 4)?);
        *budget = budget.checked_sub(12).ok_or(TOO_MUCH)?;
        let Some((size, unit)) = type_size(kind) else {
            continue;
        };
        let len = size
            .checked_mul(n as usize)
            .filter(|&l| l <= block.len())
            .ok_or("EXIF entry longer than EXIF")?;
        *budget = budget.checked_sub(len).ok_or(TOO_MUCH)?;
        let start = if len <= 4 {
            at + 8
        } else {
            num(at + 8, 4)? as usize
        };
        let mut value = block
            .get(start..start + len)
            .ok_or("EXIF entry runs past its end")?
            .to_vec();
        if big {
            value.chunks_exact_mut(unit).for_each(|u| u.reverse());
        }
        let directory = match POINTER_TAGS.contains(&tag) && n == 1 {
            true if depth > 0 => {
                let sub = num(at + 8, 4)? as usize;
                Some(read_directory_within(block, sub, depth - 1, budget)?)
            }
            true => continue,
            false => None,
        };
        entries.push(Entry {
            tag,
            kind,
            count: n,
            value,
            directory,
        });
    }
    Ok(entries)
}

/// Whether the bytes start like a TIFF (either byte order).
pub fn is_tiff(bytes: &[u8]) -> bool {
    bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*")
}

/// The offset of the first directory of a TIFF-structured block (a TIFF file, or EXIF).
fn first_directory(block: &[u8]) -> Result<usize, String> {
    let b: [u8; 4] = block
        .get(4..8)
        .and_then(|b| b.try_into().ok())
        .filter(|_| is_tiff(block))
        .ok_or("not TIFF-structured")?;
    Ok(match block.starts_with(b"MM") {
        true => u32::from_be_bytes(b),
        false => u32::from_le_bytes(b),
    } as usize)
}

/// The EXIF of a TIFF file: the tags of its first directory that describe the photo (not how the
/// pixels are stored, nor the ICC profile and XMP, which travel on their own) with its EXIF and
/// GPS directories, as a little-endian EXIF block; None when it has none of them.
pub fn exif_from_tiff(tiff: &[u8]) -> Option<Vec<u8>> {
    let entries = read_directory(tiff, first_directory(tiff).ok()?, 2).ok()?;
    let photo: Vec<Entry> = entries
        .into_iter()
        .filter(|e| !LAYOUT_TAGS.contains(&e.tag) && ![TAG_XMP, TAG_ICC].contains(&e.tag))
        .collect();
    // a TIFF encoder's own resolution and software tags alone are not a photo's EXIF
    if photo
        .iter()
        .all(|e| [274, 282, 283, 296, 305].contains(&e.tag))
    {
        return None;
    }
    let mut block = b"II*\0\0\0\0\0".to_vec();
    let at = append_directory(&mut block, &photo, &[]).ok()?;
    block[4..8].copy_from_slice(&at.to_le_bytes());
    Some(block)
}

/// Appends a directory (and what it points to) to a little-endian TIFF; returns its offset.
/// `raw` are entries already in the file, kept as they are.
fn append_directory(
    tiff: &mut Vec<u8>,
    entries: &[Entry],
    raw: &[[u8; 12]],
) -> Result<u32, String> {
    let offset = |tiff: &Vec<u8>| u32::try_from(tiff.len()).map_err(|_| "TIFF over 4 GiB");
    let mut table: Vec<[u8; 12]> = raw.to_vec();
    for e in entries {
        let (kind, value) = match &e.directory {
            Some(dir) => (4, append_directory(tiff, dir, &[])?.to_le_bytes().to_vec()),
            None => (e.kind, e.value.clone()),
        };
        let mut field = [0u8; 4];
        if value.len() <= 4 {
            field[..value.len()].copy_from_slice(&value);
        } else {
            tiff.resize(tiff.len() + tiff.len() % 2, 0); // values start on a word boundary
            field = offset(tiff)?.to_le_bytes();
            tiff.extend_from_slice(&value);
        }
        let mut entry = [0u8; 12];
        entry[..2].copy_from_slice(&e.tag.to_le_bytes());
        entry[2..4].copy_from_slice(&kind.to_le_bytes());
        entry[4..8].copy_from_slice(&e.count.to_le_bytes());
        entry[8..].copy_from_slice(&field);
        table.push(entry);
    }
    table.sort_by_key(|e| u16::from_le_bytes([e[0], e[1]]));
    tiff.resize(tiff.len() + tiff.len() % 2, 0);
    let at = offset(tiff)?;
    tiff.extend_from_slice(&(table.len() as u16).to_le_bytes());
    table.iter().for_each(|e| tiff.extend_from_slice(e));
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next directory: one picture
    Ok(at)
}

/// Adds EXIF (its first directory's tags that describe the photo, and its EXIF and GPS
/// directories) and XMP to the first directory of a little-endian TIFF with one picture, by
/// writing a new first directory at the end that keeps the old one's entries.
pub fn tiff_exif_xmp(
    tiff: &mut Vec<u8>,
    exif: Option<&[u8]>,
    xmp: Option<&[u8]>,
) -> Result<(), String> {
    if exif.is_none() && xmp.is_none() {
        return Ok(());
    }
    if !tiff.starts_with(b"II*\0") {
        return Err("the TIFF encoder's output is not a little-endian TIFF".into());
    }
    let first = first_directory(tiff)?;
    let count = tiff
        .get(first..first + 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize);
    let count = count.ok_or("TIFF cut short")?;
    let raw: Vec<[u8; 12]> = (0..count)
        .map(|i| {
            tiff.get(first + 2 + 12 * i..first + 14 + 12 * i)
                .map(|e| e.try_into().unwrap())
        })
        .collect::<Option<_>>()
        .ok_or("TIFF directory cut short")?;
    let present: Vec<u16> = raw
        .iter()
        .map(|e| u16::from_le_bytes([e[0], e[1]]))
        .collect();
    let mut added = Vec::new();
    if let Some(exif) = exif {
        let entries = read_directory(exif, first_directory(exif)?, 2)?;
        added.extend(entries.into_iter().filter(|e| {
            !present.contains(&e.tag) && !LAYOUT_TAGS.contains(&e.tag) && e.tag != TAG_XMP
        }));
    }
    if let Some(xmp) = xmp {
        added.push(Entry {
            tag: TAG_XMP,
            kind: 1,
            count: u32::try_from(xmp.len()).map_err(|_| "XMP over 4 GiB")?,
            value: xmp.to_vec(),
            directory: None,
        });
    }
    let raw: Vec<[u8; 12]> = raw
        .into_iter()
        .filter(|e| {
            !added
                .iter()
                .any(|a| a.tag == u16::from_le_bytes([e[0], e[1]]))
        })
        .collect();
    let at = append_directory(tiff, &added, &raw)?;
    tiff[4..8].copy_from_slice(&at.to_le_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian block whose first directory has `n` entries of type BYTE pointing at
    /// the whole block, and EXIF pointers back to itself.
    fn hostile(n: u16, pointers: bool) -> Vec<u8> {
        let mut b = b"II*\0\x08\0\0\0".to_vec();
        b.extend_from_slice(&n.to_le_bytes());
        let len = 8 + 2 + 12 * n as u32 + 4;
        for i in 0..n {
            let (tag, kind, count, field) = match pointers && i % 2 == 0 {
                true => (34665u16, 4u16, 1u32, 8u32),
                false => (1000 + i, 1, len, 0),
            };
            for v in [
                &tag.to_le_bytes()[..],
                &kind.to_le_bytes(),
                &count.to_le_bytes(),
                &field.to_le_bytes(),
            ] {
                b.extend_from_slice(v);
            }
        }
        b.extend_from_slice(&[0; 4]);
        b
    }

    #[test]
    fn overlapping_and_looping_directories_are_refused_not_multiplied() {
        for pointers in [false, true] {
            let block = hostile(2000, pointers);
            assert!(read_directory(&block, 8, 2).is_err(), "pointers {pointers}");
        }
        assert!(exif_from_tiff(&hostile(2000, true)).is_none());
        // writing into a TIFF refuses it rather than multiplying it
        let mut tiff = b"II*\0\x08\0\0\0\0\0\0\0\0\0".to_vec();
        assert!(tiff_exif_xmp(&mut tiff, Some(&hostile(2000, true)), None).is_err());
        // an honest block is read: 100 entries with 4-byte values in the entries
        let mut honest = hostile(100, false);
        for i in 0..100 {
            honest[10 + 12 * i + 4..10 + 12 * i + 8].copy_from_slice(&4u32.to_le_bytes());
        }
        assert_eq!(read_directory(&honest, 8, 2).unwrap().len(), 100);
    }
}
