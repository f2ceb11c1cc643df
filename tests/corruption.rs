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
