//! `image::open("x.vaec")` after `vaec_gpu::register_image_hooks()`: the same pixels as the codec.

mod common;

use common::gpu;
use image::ImageDecoder;
use vaec_gpu::{Codec, GpuContext, Image, Model, Picture};

#[test]
fn image_open_decodes_vaec_files() {
    let crop = image::open(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data_crop.png"))
        .unwrap()
        .to_rgb8();
    let picture = Image::from_rgb8(64, 64, crop.as_raw()).unwrap();
    let ctx = GpuContext::from_device(gpu().device().clone(), gpu().queue().clone()).unwrap();
    let codec = Codec::new(ctx, Model::builtin().unwrap()).unwrap();
    let file = codec.encode(&picture, 5.0).unwrap().bytes;
    let expected = codec.decode(&file).unwrap().to_rgb8();

    assert!(vaec_gpu::register_image_hooks());
    assert!(!vaec_gpu::register_image_hooks(), "registered once");
    let dir = std::env::temp_dir().join(format!("vaec-hooks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("crop.vaec");
    std::fs::write(&path, &file).unwrap();
    let opened = image::open(&path).unwrap().to_rgb8();
    assert_eq!((opened.width(), opened.height()), (64, 64));
    assert_eq!(
        opened.as_raw(),
        &expected,
        "image::open gave other pixels than Codec::decode"
    );
    // found by its magic bytes too, whatever the name
    let renamed = dir.join("crop.bin");
    std::fs::write(&renamed, &file).unwrap();
    let guessed = image::ImageReader::open(&renamed)
        .unwrap()
        .with_guessed_format()
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!(guessed.to_rgb8().as_raw(), &expected);
    // alpha and an ICC profile come through
    let rgba: Vec<u8> = crop
        .pixels()
        .enumerate()
        .flat_map(|(i, p)| [p[0], p[1], p[2], (i % 64 * 4) as u8])
        .collect();
    let mut with_alpha = Picture::from_samples(64, 64, 4, &rgba).unwrap();
    with_alpha.metadata.icc = Some(vec![9; 40]);
    let cut = dir.join("cut.vaec");
    std::fs::write(&cut, codec.encode_picture(&with_alpha, 5.0).unwrap().bytes).unwrap();
    let opened = image::open(&cut).unwrap();
    assert_eq!(opened.color(), image::ColorType::Rgba8);
    let alpha = |b: &[u8]| b.chunks(4).map(|p| p[3]).collect::<Vec<_>>();
    assert_eq!(alpha(opened.as_bytes()), alpha(&rgba));
    let reader = image::ImageReader::open(&cut).unwrap();
    let mut decoder = reader
        .with_guessed_format()
        .unwrap()
        .into_decoder()
        .unwrap();
    assert_eq!(decoder.icc_profile().unwrap(), Some(vec![9; 40]));
    // a damaged file is an error, not a panic
    let mut bad = file.clone();
    bad.truncate(bad.len() - 3);
    std::fs::write(&path, &bad).unwrap();
    assert!(image::open(&path).is_err());
}
