//! Damaged files never panic and never decode: every truncation of real files, single-bit flips
//! in every header bit and in a sample of payload bits.

mod common;

use common::{gpu, Rng};
use vaec_gpu::codec::decode_cpu;
use vaec_gpu::format::Limits;
use vaec_gpu::{Codec, Error, GpuContext, Image, Model};

fn files() -> (Codec, Vec<Vec<u8>>) {
    let ctx = GpuContext::from_device(gpu().device().clone(), gpu().queue().clone()).unwrap();
    let codec = Codec::new(ctx, Model::builtin().unwrap()).unwrap();
    let mut rng = Rng::new(3);
    let files = [(17, 13, 1.0), (64, 40, 4.0), (100, 75, 8.0)]
        .iter()
        .map(|&(w, h, q)| {
            let rgb: Vec<u8> = (0..w * h * 3)
                .map(|i| ((i * 7 + rng.below(40) as usize) % 256) as u8)
                .collect();
            codec
                .encode(&Image::from_rgb8(w, h, &rgb).unwrap(), q)
                .unwrap()
                .bytes
        })
        .collect();
    (codec, files)
}

#[test]
fn every_truncation_is_an_error() {
    let (codec, files) = files();
    for file in &files {
        for cut in 0..file.len() {
            match codec.decode(&file[..cut]) {
                Err(Error::Format(_) | Error::Entropy { .. }) => {}
                other => panic!(
                    "prefix of {cut}/{} bytes: {:?}",
                    file.len(),
                    other.map(|i| (i.width, i.height))
                ),
            }
        }
        assert!(codec.decode(file).is_ok());
    }
}

#[test]
fn every_header_bit_flip_and_sampled_payload_flips_are_errors() {
    let (codec, files) = files();
    let model = codec.model();
    let mut rng = Rng::new(9);
    for file in &files {
        let header_len = u16::from_le_bytes([file[6], file[7]]) as usize;
        let mut bits: Vec<usize> = (0..header_len * 8).collect();
        bits.extend(
            (0..200).map(|_| {
                header_len * 8 + rng.below(((file.len() - header_len) * 8) as u64) as usize
            }),
        );
        for bit in bits {
            let mut bad = file.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            // the CPU path: no GPU work is wasted, and it is the path fuzzing uses
            match decode_cpu(model, &bad, &Limits::default()) {
                Err(
                    Error::Format(_)
                    | Error::Entropy { .. }
                    | Error::Limit { .. }
                    | Error::ModelMismatch { .. },
                ) => {}
                other => panic!(
                    "bit {bit} of {}: {:?}",
                    file.len(),
                    other.map(|i| (i.width, i.height))
                ),
            }
        }
    }
}

/// `file` with `extra` bytes appended to its substream `index`, lengths and checksums fixed up.
fn with_appended(file: &[u8], index: usize, extra: &[u8]) -> Vec<u8> {
    let count = u16::from_le_bytes([file[44], file[45]]) as usize;
    let header_len = 46 + 8 * count + 4;
    let lengths: Vec<usize> = (0..count)
        .map(|i| u32::from_le_bytes(file[46 + 8 * i..50 + 8 * i].try_into().unwrap()) as usize)
        .collect();
    let mut out = file[..header_len].to_vec();
    let len_at = 46 + 8 * index;
    out[len_at..len_at + 4].copy_from_slice(&((lengths[index] + extra.len()) as u32).to_le_bytes());
    let mut at = header_len;
    for (i, len) in lengths.iter().enumerate() {
        out.extend_from_slice(&file[at..at + len]);
        if i == index {
            out.extend_from_slice(extra);
        }
        at += len;
    }
    vaec_gpu::fuzzing::fix_checksums(&mut out);
    out
}

#[test]
fn bytes_appended_to_a_substream_are_an_error() {
    let (codec, files) = files();
    let model = codec.model();
    let mut rng = Rng::new(11);
    for file in &files {
        let count = u16::from_le_bytes([file[44], file[45]]) as usize;
        for index in 0..count {
            for extra in [4, 1000] {
                let junk: Vec<u8> = (0..extra).map(|_| rng.below(256) as u8).collect();
                let bad = with_appended(file, index, &junk);
                match decode_cpu(model, &bad, &Limits::default()) {
                    Err(Error::Entropy { stream, .. }) => assert_eq!(stream, index),
                    other => panic!(
                        "substream {index} + {extra} bytes: {:?}",
                        other.map(|i| (i.width, i.height))
                    ),
                }
            }
        }
    }
}

#[test]
fn a_side_section_decodes_the_same_pixels_and_every_damage_to_it_is_an_error() {
    use vaec_gpu::format::{self, encode_alpha, Metadata, Side};
    let (codec, files) = files();
    let (file, limits) = (&files[1], Limits::default());
    let alpha: Vec<u8> = (0..64 * 40)
        .map(|i| if i % 64 < 20 { 0 } else { 255 })
        .collect();
    let side = Side {
        alpha: Some(encode_alpha(&alpha)),
        metadata: Metadata {
            icc: Some(vec![7; 50]),
            exif: None,
            xmp: Some(b"<x/>".to_vec()),
        },
    };
    let with_side = format::rewrap(file, &limits, |_| {}, &side).unwrap();
    assert_eq!(with_side.len(), file.len() + side.encoded_len());
    assert_eq!(format::parse(&with_side, &limits).unwrap().side, side);
    assert_eq!(
        codec.decode(&with_side).unwrap(),
        codec.decode(file).unwrap()
    );
    for at in file.len()..with_side.len() {
        let mut damaged = with_side.clone();
        damaged[at] ^= 0x10;
        assert!(format::parse(&damaged, &limits).is_err(), "byte {at}");
        assert!(
            format::parse(&with_side[..at], &limits).is_err(),
            "cut at {at}"
        );
    }
    let mut longer = with_side.clone();
    longer.push(0);
    assert!(format::parse(&longer, &limits).is_err());
}
