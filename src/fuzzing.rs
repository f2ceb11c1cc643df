//! Bodies of the fuzz targets (`fuzz/`), kept in the library so that `cargo test` can replay the
//! committed regression inputs (`fuzz/regressions/`) through exactly the same code. Each must
//! return without panicking, whatever the bytes.

use std::sync::OnceLock;

use crate::codec::decode_latents_cpu;
use crate::entropy::{decode_symbols, CdfTables};
use crate::format::{self, Limits};
use crate::model::Model;

/// The container parser on arbitrary bytes (it decodes an alpha item it finds).
pub fn container(data: &[u8]) {
    let _ = format::parse(data, &Limits::default());
}

/// The rANS decoder with tables, indexes and a stream all taken from the bytes.
pub fn rans(data: &[u8]) {
    let mut it = data.iter().copied();
    let mut next = || it.next().unwrap_or(0);
    let count = 1 + (next() % 8) as usize;
    let mut cdfs = Vec::new();
    let mut offsets = Vec::new();
    for _ in 0..count {
        let n = 1 + (next() % 20) as usize;
        // n + 1 positive frequencies summing to 65536
        let weights: Vec<u64> = (0..=n).map(|_| 1 + next() as u64).collect();
        let sum: u64 = weights.iter().sum();
        let spare = (1u64 << 16) - (n as u64 + 1);
        let mut cdf = vec![0u32];
        let mut acc = 0;
        for (i, w) in weights.iter().enumerate() {
            acc += w;
            cdf.push((i as u64 + 1 + spare * acc / sum) as u32);
        }
        *cdf.last_mut().expect("non-empty") = 1 << 16;
        cdfs.push(cdf);
        offsets.push(-((next() % 16) as i32));
    }
    let tables = CdfTables::new(cdfs, offsets);
    let symbols = (next() as usize) * 4;
    let indexes: Vec<u8> = (0..symbols).map(|_| next() % (count as u8 + 1)).collect();
    let rest: Vec<u8> = std::iter::from_fn(|| Some(next()))
        .take(data.len())
        .collect();
    let lanes = 1 << (next() % 3);
    let _ = decode_symbols(&rest, &indexes, &tables, lanes);
}

/// A CPU decode with the shipped model up to the synthesis: container, z, integer h_s, index hash,
/// y. The model id, the header CRC and the substream CRCs are fixed up first, so that the fuzzer
/// gets past the checksums. The synthesis is left out: it has no input-dependent control flow
/// (tests/corruption.rs runs it on damaged files), and it would make each run a thousand times
/// slower. Pictures are limited to 256 x 256.
pub fn decode(data: &[u8]) {
    static MODEL: OnceLock<Option<Model>> = OnceLock::new();
    let Some(model) = MODEL.get_or_init(|| Model::builtin().ok()) else {
        return;
    };
    let mut bytes = data.to_vec();
    // the model id too: a mismatch is checked before anything interesting
    if bytes.len() >= 24 {
        bytes[8..24].copy_from_slice(&model.id);
    }
    fix_checksums(&mut bytes);
    let limits = Limits {
        max_side: 256,
        max_pixels: 256 * 256,
        ..Limits::default()
    };
    let _ = decode_latents_cpu(model, &bytes, &limits);
}

/// Rewrites the CRCs of a `.vaec`-shaped buffer so that they match its contents.
pub fn fix_checksums(bytes: &mut [u8]) {
    if bytes.len() < 50 {
        return;
    }
    let count = u16::from_le_bytes([bytes[44], bytes[45]]) as usize;
    let header_len = 46 + 8 * count + 4;
    if bytes.len() < header_len {
        return;
    }
    let mut at = header_len;
    for i in 0..count {
        let len_at = 46 + 8 * i;
        let len =
            u32::from_le_bytes(bytes[len_at..len_at + 4].try_into().expect("4 bytes")) as usize;
        let end = at.saturating_add(len).min(bytes.len());
        let crc = crc32fast::hash(&bytes[at..end]);
        bytes[len_at + 4..len_at + 8].copy_from_slice(&crc.to_le_bytes());
        at = end;
    }
    let crc = crc32fast::hash(&bytes[..header_len - 4]);
    bytes[header_len - 4..header_len].copy_from_slice(&crc.to_le_bytes());
    // keep the declared header length consistent with the count
    if let Ok(h) = u16::try_from(header_len) {
        bytes[6..8].copy_from_slice(&h.to_le_bytes());
        let crc = crc32fast::hash(&bytes[..header_len - 4]);
        bytes[header_len - 4..header_len].copy_from_slice(&crc.to_le_bytes());
    }
}
