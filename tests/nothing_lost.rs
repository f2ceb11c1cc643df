//! What a hostile review of the photo tool found (issue 23), each case as it was reported: an
//! orientation only in XMP, metadata past the decoders' allocation limits, extended XMP, gray
//! with alpha into BMP, two EXIF segments, EXIF with JPEG's prefix, damaged alpha items, huge
//! metadata items, an ICC profile too large for JPEG, and size targets that count the side
//! section.

mod common;

use std::io::Cursor;
use std::path::Path;

use common::cli::{assert_fails, assert_succeeds, scratch, vaec};
use common::gpu;
use image::{ImageDecoder, ImageEncoder};
use vaec_gpu::format::{self, Limits, Metadata, Side, MAX_METADATA_BYTES};
use vaec_gpu::{Codec, Error, GpuContext, Model, Picture, Target};

fn codec() -> Codec {
    let ctx = GpuContext::from_device(gpu().device().clone(), gpu().queue().clone()).unwrap();
    Codec::new(ctx, Model::builtin().unwrap()).unwrap()
}

/// A 64 x 32 RGB picture, brighter to the right.
fn rgb() -> Vec<u8> {
    (0..64 * 32)
        .flat_map(|i| [(i % 64 * 4) as u8, (i / 64 * 8) as u8, 128])
        .collect()
}

/// A PNG of `rgb()` with extra chunks after IHDR.
fn png_with(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&rgb(), 64, 32, image::ExtendedColorType::Rgb8)
        .unwrap();
    let mut at = 8 + 25;
    for (kind, data) in chunks {
        let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
        chunk.extend_from_slice(&kind[..]);
        chunk.extend_from_slice(data);
        chunk.extend_from_slice(&crc32fast::hash(&chunk[4..]).to_be_bytes());
        let len = chunk.len();
        png.splice(at..at, chunk);
        at += len;
    }
    png
}

fn xmp_chunk(xmp: &str) -> Vec<u8> {
    [&b"XML:com.adobe.xmp\0\0\0\0\0"[..], xmp.as_bytes()].concat()
}

fn decoder(path: &Path) -> Box<dyn ImageDecoder> {
    let reader = image::ImageReader::new(Cursor::new(std::fs::read(path).unwrap()))
        .with_guessed_format()
        .unwrap();
    Box::new(reader.into_decoder().unwrap())
}

/// Encodes `input` and decodes the result to `output` with the command line; the notes printed.
fn round_trip(input: &Path, output: &Path) -> String {
    let coded = input.with_extension("vaec");
    let a = vaec(&[
        "encode",
        input.to_str().unwrap(),
        "-o",
        coded.to_str().unwrap(),
    ]);
    assert_succeeds(&a);
    let b = vaec(&[
        "decode",
        coded.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ]);
    assert_succeeds(&b);
    String::from_utf8_lossy(&a.stderr).to_string() + &String::from_utf8_lossy(&b.stderr)
}

#[test]
fn an_orientation_only_in_xmp_turns_the_picture() {
    let dir = scratch("xmp-orientation");
    let input = dir.join("turned.png");
    let xmp = "<x:xmpmeta><rdf:Description tiff:Orientation=\"6\"/></x:xmpmeta>";
    std::fs::write(&input, png_with(&[(b"iTXt", xmp_chunk(xmp))])).unwrap();
    let output = dir.join("upright.png");
    round_trip(&input, &output);
    let mut d = decoder(&output);
    assert_eq!(d.dimensions(), (32, 64), "turned by the XMP orientation");
    let xmp = String::from_utf8(d.xmp_metadata().unwrap().unwrap()).unwrap();
    assert!(xmp.contains("tiff:Orientation=\"1\""), "{xmp}");
}

#[test]
fn metadata_past_the_png_decoders_limits_is_carried_or_left_out_with_a_note() {
    let dir = scratch("png-limits");
    // a 1.5 MiB ICC profile and 2 MiB of EXIF in a small picture: carried (they were dropped
    // without a word, and the EXIF failed the encode)
    let profile: Vec<u8> = (0..3 << 19).map(|i: u32| (i % 251) as u8).collect();
    let iccp = [
        &b"icc\0\0"[..],
        &miniz_oxide::deflate::compress_to_vec_zlib(&profile, 6),
    ]
    .concat();
    let mut exif = b"MM\0\x2a\0\0\0\x08\0\0\0\0\0\0".to_vec();
    exif.resize(2 << 20, 7);
    let input = dir.join("big.png");
    std::fs::write(
        &input,
        png_with(&[(b"iCCP", iccp), (b"eXIf", exif.clone())]),
    )
    .unwrap();
    let output = dir.join("big.out.png");
    let notes = round_trip(&input, &output);
    assert!(notes.is_empty(), "{notes}");
    let mut d = decoder(&output);
    assert_eq!(
        d.icc_profile().unwrap().map(|p| p.len()),
        Some(profile.len())
    );
    assert_eq!(
        d.exif_metadata().unwrap().map(|e| e.len()),
        Some(exif.len())
    );
    // over the limit: the picture is encoded, each item left out with a note
    let huge = vec![0u8; MAX_METADATA_BYTES as usize + 1];
    let iccp = [
        &b"icc\0\0"[..],
        &miniz_oxide::deflate::compress_to_vec_zlib(&huge, 6),
    ]
    .concat();
    let mut exif = b"MM\0\x2a\0\0\0\x08".to_vec();
    exif.resize(huge.len(), 0);
    let input = dir.join("huge.png");
    std::fs::write(&input, png_with(&[(b"iCCP", iccp), (b"eXIf", exif)])).unwrap();
    let notes = round_trip(&input, &dir.join("huge.out.png"));
    assert!(
        notes.contains("ICC profile") && notes.contains("left out"),
        "{notes}"
    );
    assert!(notes.contains("EXIF (16.0 MiB) is over"), "{notes}");
}

/// A JPEG of `rgb()` with APP1 segments (name and payload) after SOI.
fn jpeg_with(segments: &[Vec<u8>]) -> Vec<u8> {
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95)
        .write_image(&rgb(), 64, 32, image::ExtendedColorType::Rgb8)
        .unwrap();
    let mut at = 2;
    for body in segments {
        let seg = [
            &[0xFF, 0xE1][..],
            &(body.len() as u16 + 2).to_be_bytes(),
            body,
        ]
        .concat();
        let len = seg.len();
        jpeg.splice(at..at, seg);
        at += len;
    }
    jpeg
}

#[test]
fn a_jpeg_keeps_its_first_exif_and_says_extended_xmp_is_not_carried() {
    let dir = scratch("jpeg-segments");
    // orientation 6 in the first EXIF; a second, cut-short one after it
    let exif = |orientation: u8| {
        [
            &b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0"[..],
            &[orientation, 0, 0, 0, 0, 0, 0],
        ]
        .concat()
    };
    let truncated = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x05".to_vec();
    let main_xmp = [
        &b"http://ns.adobe.com/xap/1.0/\0"[..],
        b"<x:xmpmeta><rdf:Description xmpNote:HasExtendedXMP=\"0123456789ABCDEF0123456789ABCDEF\"/></x:xmpmeta>",
    ]
    .concat();
    let extension = [
        &b"http://ns.adobe.com/xmp/extension/\0"[..],
        b"0123456789ABCDEF0123456789ABCDEF",
        &[0, 0, 0, 10, 0, 0, 0, 0],
        b"<x>more</x>",
    ]
    .concat();
    let input = dir.join("phone.jpg");
    std::fs::write(
        &input,
        jpeg_with(&[exif(6), truncated, main_xmp, extension]),
    )
    .unwrap();
    let output = dir.join("phone.png");
    let notes = round_trip(&input, &output);
    assert!(notes.contains("extended XMP"), "{notes}");
    let mut d = decoder(&output);
    assert_eq!(d.dimensions(), (32, 64), "turned by the first EXIF");
    let kept = d.exif_metadata().unwrap().unwrap();
    assert_eq!(kept, exif(1)[6..], "the first EXIF, its orientation reset");
    let xmp = String::from_utf8(d.xmp_metadata().unwrap().unwrap()).unwrap();
    assert!(!xmp.contains("HasExtendedXMP"), "{xmp}");
}

#[test]
fn gray_with_alpha_keeps_its_alpha_in_bmp() {
    let dir = scratch("la-bmp");
    let la: Vec<u8> = (0..64 * 32)
        .flat_map(|i| [(i % 64 * 4) as u8, (i % 3 * 100) as u8])
        .collect();
    let input = dir.join("la.png");
    image::GrayAlphaImage::from_raw(64, 32, la.clone())
        .unwrap()
        .save(&input)
        .unwrap();
    let output = dir.join("la.bmp");
    round_trip(&input, &output);
    let back = image::open(&output).unwrap();
    assert!(back.color().has_alpha(), "{:?}", back.color());
    let alpha: Vec<u8> = back.to_rgba8().pixels().map(|p| p[3]).collect();
    assert_eq!(
        alpha,
        la.iter().skip(1).step_by(2).copied().collect::<Vec<_>>()
    );
}

#[test]
fn exif_given_with_its_jpeg_prefix_is_stored_once_without_it() {
    let codec = codec();
    let block = b"MM\0\x2a\0\0\0\x08\0\0\0\0\0\0".to_vec();
    let mut picture = Picture::from_samples(64, 32, 3, &rgb()).unwrap();
    picture.metadata.exif = Some([&b"Exif\0\0"[..], &block].concat());
    let bytes = codec.encode_picture(&picture, 2.0).unwrap().bytes;
    let parsed = format::parse(&bytes, &Limits::default()).unwrap();
    assert_eq!(parsed.side.metadata.exif, Some(block));
}

/// A file of a small picture whose side section is `side`, written as is (not checked).
fn file_with_side(codec: &Codec, side: &Side) -> Vec<u8> {
    let picture = Picture::from_samples(64, 32, 3, &rgb()).unwrap();
    let bytes = codec.encode_picture(&picture, 2.0).unwrap().bytes;
    format::rewrap(&bytes, &Limits::default(), |_| {}, side).unwrap()
}

#[test]
fn a_damaged_alpha_plane_or_a_huge_item_is_refused_by_info_and_decode_before_gpu_work() {
    let codec = codec();
    let dir = scratch("side-checks");
    let alpha: Vec<u8> = (0..64 * 32).map(|i| (i % 7 * 30) as u8).collect();
    let mut coded = format::encode_alpha(&alpha);
    coded.extend_from_slice(b"junk");
    let cases = [
        (
            "junk",
            Side {
                alpha: Some(coded),
                ..Side::default()
            },
            "unexpected bytes",
        ),
        (
            "bomb",
            Side {
                alpha: Some(format::encode_alpha(&vec![255; 1 << 30])),
                ..Side::default()
            },
            "more samples",
        ),
        (
            "icc",
            Side {
                metadata: Metadata {
                    icc: Some(vec![1; MAX_METADATA_BYTES as usize + 1]),
                    ..Metadata::default()
                },
                ..Side::default()
            },
            "ICC profile",
        ),
    ];
    for (name, side, why) in cases {
        let bytes = file_with_side(&codec, &side);
        let err = format::parse(&bytes, &Limits::default()).unwrap_err();
        assert!(err.to_string().contains(why), "{name}: {err}");
        let path = dir.join(format!("{name}.vaec"));
        std::fs::write(&path, &bytes).unwrap();
        assert_fails(&vaec(&["info", path.to_str().unwrap()]), why);
        let png = dir.join(format!("{name}.png"));
        assert_fails(
            &vaec(&[
                "decode",
                path.to_str().unwrap(),
                "-o",
                png.to_str().unwrap(),
            ]),
            why,
        );
    }
    // the encoder refuses such metadata up front, naming the limit
    let mut picture = Picture::from_samples(64, 32, 3, &rgb()).unwrap();
    picture.metadata.xmp = Some(vec![b' '; MAX_METADATA_BYTES as usize + 1]);
    let err = codec.encode_picture(&picture, 2.0).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Limit {
                what: "XMP (bytes)",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn an_icc_profile_too_large_for_jpeg_is_left_out_of_it_with_a_note() {
    let codec = codec();
    let dir = scratch("jpeg-icc");
    let mut picture = Picture::from_samples(64, 32, 3, &rgb()).unwrap();
    picture.metadata.icc = Some(vec![3; MAX_METADATA_BYTES as usize]);
    let coded = dir.join("icc.vaec");
    std::fs::write(&coded, codec.encode_picture(&picture, 2.0).unwrap().bytes).unwrap();
    let jpeg = dir.join("icc.jpg");
    let out = vaec(&[
        "decode",
        coded.to_str().unwrap(),
        "-o",
        jpeg.to_str().unwrap(),
    ]);
    assert_succeeds(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not fit a JPEG"));
    assert_eq!(image::open(&jpeg).unwrap().width(), 64);
}

#[test]
fn a_size_target_below_the_side_section_names_the_whole_files_lowest_size() {
    let codec = codec();
    let mut picture = Picture::from_samples(64, 32, 3, &rgb()).unwrap();
    picture.metadata.xmp = Some(vec![b'x'; 20_000]);
    let side = picture.side().encoded_len() as u64;
    let lowest = codec.encode_picture(&picture, 1.0).unwrap().bytes.len() as u64;
    for target in [lowest - 1, side, 1] {
        match codec.encode_picture_to_target(&picture, Target::Bytes(target)) {
            Err(Error::TargetOutOfReach(why)) => {
                assert!(
                    why.contains(&format!("gives {lowest} bytes")),
                    "{target}: {why}"
                )
            }
            other => panic!("{target}: {:?}", other.map(|t| t.encoded.bytes.len())),
        }
    }
    let met = codec
        .encode_picture_to_target(&picture, Target::Bytes(lowest))
        .unwrap();
    assert_eq!(met.encoded.bytes.len() as u64, lowest);
    for bad in [
        Target::Bytes(0),
        Target::BitsPerPixel(f64::NAN),
        Target::Psnr(f64::INFINITY),
    ] {
        assert!(matches!(
            codec.encode_picture_to_target(&picture, bad),
            Err(Error::InvalidArgument(_))
        ));
    }
}
