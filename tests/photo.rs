//! What a photo carries survives the codec: its orientation, ICC profile, EXIF and XMP (into PNG,
//! JPEG and TIFF), its alpha channel bit for bit, grayscale as grayscale, and the source depth.

mod common;

use std::io::Cursor;
use std::path::Path;

use common::cli::{assert_succeeds, scratch, vaec};
use image::{ImageDecoder, ImageEncoder};

/// An XMP packet that also says the picture is turned (orientation 6).
fn xmp(orientation: u8) -> Vec<u8> {
    format!(
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/\
         22-rdf-syntax-ns#\"><rdf:Description xmlns:tiff=\"http://ns.adobe.com/tiff/1.0/\" \
         tiff:Orientation=\"{orientation}\" tiff:Make=\"vaec-test\"/></rdf:RDF></x:xmpmeta>"
    )
    .into_bytes()
}

/// A big-endian EXIF block: a first directory with Make, Orientation and a pointer to an EXIF
/// directory that holds DateTimeOriginal.
fn exif(orientation: u16) -> Vec<u8> {
    let entry = |tag: u16, kind: u16, count: u32, field: [u8; 4]| {
        [
            &tag.to_be_bytes()[..],
            &kind.to_be_bytes(),
            &count.to_be_bytes(),
            &field,
        ]
        .concat()
    };
    let o = orientation.to_be_bytes();
    [
        &b"MM\0\x2a\0\0\0\x08"[..],
        &[0, 3], // first directory at 8: 3 entries, ends at 8 + 2 + 36 + 4 = 50
        &entry(0x010F, 2, 10, 50u32.to_be_bytes()),
        &entry(0x0112, 3, 1, [o[0], o[1], 0, 0]),
        &entry(0x8769, 4, 1, 60u32.to_be_bytes()),
        &[0; 4],
        b"vaec-test\0", // 50 .. 60
        &[0, 1],        // EXIF directory at 60: 1 entry, ends at 78
        &entry(0x9003, 2, 20, 78u32.to_be_bytes()),
        &[0; 4],
        b"2026:12:02 12:00:00\0",
    ]
    .concat()
}

/// Something shaped like an ICC profile (the codec carries it as bytes).
fn icc() -> Vec<u8> {
    let mut p: Vec<u8> = (0..600u32).map(|i| (i * 7 % 251) as u8).collect();
    p[..4].copy_from_slice(&600u32.to_be_bytes());
    p[36..40].copy_from_slice(b"acsp");
    p
}

/// A 64 x 32 JPEG (stored sideways: orientation 6 shows it 32 x 64) with ICC, EXIF and XMP.
fn phone_jpeg() -> Vec<u8> {
    let rgb: Vec<u8> = (0..64 * 32)
        .flat_map(|i| [(i % 64 * 4) as u8, (i / 64 * 8) as u8, 128])
        .collect();
    let mut jpeg = Vec::new();
    let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95);
    encoder.set_icc_profile(icc()).unwrap();
    encoder.set_exif_metadata(exif(6)).unwrap();
    encoder
        .write_image(&rgb, 64, 32, image::ExtendedColorType::Rgb8)
        .unwrap();
    let body = [&b"http://ns.adobe.com/xap/1.0/\0"[..], &xmp(6)].concat();
    let segment = [
        &[0xFF, 0xE1][..],
        &(body.len() as u16 + 2).to_be_bytes(),
        &body,
    ]
    .concat();
    jpeg.splice(2..2, segment);
    jpeg
}

fn run(args: &[&Path]) -> std::process::Output {
    let args: Vec<&str> = args.iter().map(|p| p.to_str().unwrap()).collect();
    let out = vaec(&args);
    assert_succeeds(&out);
    out
}

fn decoder(path: &Path) -> Box<dyn ImageDecoder> {
    let bytes = std::fs::read(path).unwrap();
    if bytes.starts_with(b"II*\0") {
        // through ImageReader, image 0.25.10's TIFF decoder loses its tags
        return Box::new(image::codecs::tiff::TiffDecoder::new(Cursor::new(bytes)).unwrap());
    }
    let reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .unwrap();
    Box::new(reader.into_decoder().unwrap())
}

/// In a little-endian TIFF, the value field or the bytes of `tag` in the directory at `dir`.
fn tiff_value(tiff: &[u8], dir: usize, tag: u16) -> Option<Vec<u8>> {
    let u16_at = |at: usize| u16::from_le_bytes([tiff[at], tiff[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes(tiff[at..at + 4].try_into().unwrap());
    (0..u16_at(dir) as usize)
        .map(|i| dir + 2 + 12 * i)
        .find(|&e| u16_at(e) == tag)
        .map(|e| {
            let (kind, count) = (u16_at(e + 2), u32_at(e + 4) as usize);
            let len = count
                * if kind == 3 {
                    2
                } else if kind == 4 {
                    4
                } else {
                    1
                };
            let at = if len <= 4 {
                e + 8
            } else {
                u32_at(e + 8) as usize
            };
            tiff[at..at + len].to_vec()
        })
}

#[test]
fn a_phone_jpeg_decodes_upright_with_its_profile_exif_and_xmp_in_png_jpeg_tiff_and_webp() {
    let dir = scratch("photo");
    let jpeg = dir.join("phone.jpg");
    std::fs::write(&jpeg, phone_jpeg()).unwrap();
    let coded = dir.join("phone.vaec");
    let out = run(&["encode".as_ref(), &jpeg, "-o".as_ref(), &coded]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("note"), "nothing is lost: {stderr}");
    let info = run(&["info".as_ref(), &coded]);
    let info = String::from_utf8_lossy(&info.stdout);
    let carried = format!("ICC profile 600 bytes, EXIF {} bytes, XMP", exif(1).len());
    assert!(info.contains(&carried), "{info}");

    for ext in ["png", "jpg", "tiff", "webp"] {
        let decoded = dir.join(format!("out.{ext}"));
        run(&["decode".as_ref(), &coded, "-o".as_ref(), &decoded]);
        let mut d = decoder(&decoded);
        assert_eq!(d.dimensions(), (32, 64), "{ext}: upright");
        assert_eq!(d.icc_profile().unwrap(), Some(icc()), "{ext}: ICC");
        // the orientation was applied to the pixels: both EXIF and XMP now say 1
        assert_eq!(d.xmp_metadata().unwrap(), Some(xmp(1)), "{ext}: XMP");
        if ext == "tiff" {
            let tiff = std::fs::read(&decoded).unwrap();
            let first = u32::from_le_bytes(tiff[4..8].try_into().unwrap()) as usize;
            assert_eq!(tiff_value(&tiff, first, 0x010F).unwrap(), b"vaec-test\0");
            assert_eq!(tiff_value(&tiff, first, 0x0112).unwrap(), [1, 0]);
            let exif_dir = tiff_value(&tiff, first, 0x8769).unwrap();
            let exif_dir = u32::from_le_bytes(exif_dir.try_into().unwrap()) as usize;
            let date = tiff_value(&tiff, exif_dir, 0x9003).unwrap();
            assert_eq!(date, b"2026:12:02 12:00:00\0");
        } else {
            assert_eq!(d.exif_metadata().unwrap(), Some(exif(1)), "{ext}: EXIF");
        }
        if ext == "tiff" {
            // and a TIFF carries them back in
            let again = dir.join("again.vaec");
            run(&["encode".as_ref(), &decoded, "-o".as_ref(), &again]);
            let info = run(&["info".as_ref(), &again]);
            let info = String::from_utf8_lossy(&info.stdout);
            assert!(
                info.contains("ICC profile 600 bytes") && info.contains("XMP"),
                "{info}"
            );
            // its EXIF too: decoded again into a JPEG, the make and the date are there
            let jpeg = dir.join("again.jpg");
            run(&["decode".as_ref(), &again, "-o".as_ref(), &jpeg]);
            let exif = decoder(&jpeg).exif_metadata().unwrap().expect("EXIF");
            let first = u32::from_le_bytes(exif[4..8].try_into().unwrap()) as usize;
            assert_eq!(tiff_value(&exif, first, 0x010F).unwrap(), b"vaec-test\0");
            let exif_dir = tiff_value(&exif, first, 0x8769).unwrap();
            let exif_dir = u32::from_le_bytes(exif_dir.try_into().unwrap()) as usize;
            let date = tiff_value(&exif, exif_dir, 0x9003).unwrap();
            assert_eq!(date, b"2026:12:02 12:00:00\0");
        }
        let img = image::open(&decoded).unwrap().to_rgb8();
        // upright: the stored top row (dark green) is now the right-hand column
        let (left, right) = (img.get_pixel(0, 32).0, img.get_pixel(31, 32).0);
        assert!(right[1] < left[1], "{ext}: left {left:?} right {right:?}");
    }

    // XMP alone: the WebP file becomes an extended one to hold it
    let only_xmp = dir.join("xmp.jpg");
    let mut xmp_jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut xmp_jpeg)
        .write_image(&[90; 30 * 20 * 3], 30, 20, image::ExtendedColorType::Rgb8)
        .unwrap();
    let body = [&b"http://ns.adobe.com/xap/1.0/\0"[..], &xmp(1)].concat();
    let segment = [
        &[0xFF, 0xE1][..],
        &(body.len() as u16 + 2).to_be_bytes(),
        &body,
    ]
    .concat();
    xmp_jpeg.splice(2..2, segment);
    std::fs::write(&only_xmp, xmp_jpeg).unwrap();
    let (coded_xmp, webp) = (dir.join("xmp.vaec"), dir.join("xmp.webp"));
    run(&["encode".as_ref(), &only_xmp, "-o".as_ref(), &coded_xmp]);
    run(&["decode".as_ref(), &coded_xmp, "-o".as_ref(), &webp]);
    assert_eq!(decoder(&webp).xmp_metadata().unwrap(), Some(xmp(1)));
    assert_eq!(image::open(&webp).unwrap().width(), 30);

    let stripped = dir.join("stripped.vaec");
    run(&[
        "encode".as_ref(),
        &jpeg,
        "--strip".as_ref(),
        "-o".as_ref(),
        &stripped,
    ]);
    let info = run(&["info".as_ref(), &stripped]);
    assert!(String::from_utf8_lossy(&info.stdout).contains("carries     nothing"));
    let png = dir.join("stripped.png");
    run(&["decode".as_ref(), &stripped, "-o".as_ref(), &png]);
    assert_eq!(decoder(&png).icc_profile().unwrap(), None);
    // the header and the substreams are those of a file without metadata
    let (full, bare) = (
        std::fs::read(&coded).unwrap(),
        std::fs::read(&stripped).unwrap(),
    );
    let side = icc().len() + exif(1).len() + xmp(1).len() + 1 + 3 * 12;
    assert_eq!(full.len(), bare.len() + side);
}

/// A 61 x 37 cut-out: a disc with a soft edge, magenta where it is transparent.
fn cut_out() -> image::RgbaImage {
    image::RgbaImage::from_fn(61, 37, |x, y| {
        let d = ((x as f32 - 30.0).powi(2) + (y as f32 - 18.0).powi(2)).sqrt();
        let a = ((16.0 - d) * 64.0).clamp(0.0, 255.0) as u8;
        match a {
            0 => image::Rgba([255, 0, 255, 0]),
            _ => image::Rgba([(x * 4) as u8, (y * 6) as u8, 90, a]),
        }
    })
}

#[test]
fn alpha_survives_bit_for_bit_and_an_opaque_picture_pays_nothing_for_it() {
    let dir = scratch("alpha");
    let (rgba, opaque, rgb) = (dir.join("a.png"), dir.join("o.png"), dir.join("rgb.png"));
    let picture = cut_out();
    picture.save(&rgba).unwrap();
    let mut solid = picture.clone();
    solid.pixels_mut().for_each(|p| p.0[3] = 255);
    solid.save(&opaque).unwrap();
    image::DynamicImage::from(solid)
        .to_rgb8()
        .save(&rgb)
        .unwrap();
    for (input, coded) in [(&rgba, "a.vaec"), (&opaque, "o.vaec"), (&rgb, "rgb.vaec")] {
        run(&["encode".as_ref(), input, "-o".as_ref(), &dir.join(coded)]);
    }
    let bytes = |name: &str| std::fs::read(dir.join(name)).unwrap();
    assert_eq!(
        bytes("o.vaec"),
        bytes("rgb.vaec"),
        "opaque alpha costs nothing"
    );
    let info = run(&["info".as_ref(), &dir.join("a.vaec")]);
    let info = String::from_utf8_lossy(&info.stdout);
    let alpha_bytes: usize = info
        .split("alpha ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        alpha_bytes < 61 * 37 / 4,
        "the mask takes {alpha_bytes} bytes"
    );
    // the magenta nobody sees costs bits unless it is filled (the default)
    let exact = dir.join("exact.vaec");
    run(&[
        "encode".as_ref(),
        &rgba,
        "--exact".as_ref(),
        "-o".as_ref(),
        &exact,
    ]);
    assert!(bytes("a.vaec").len() < bytes("exact.vaec").len());

    for ext in ["png", "tiff", "webp"] {
        let decoded = dir.join(format!("out.{ext}"));
        run(&[
            "decode".as_ref(),
            &dir.join("a.vaec"),
            "-o".as_ref(),
            &decoded,
        ]);
        let back = image::open(&decoded).unwrap();
        assert!(back.color().has_alpha(), "{ext}");
        let alpha = |img: &image::RgbaImage| img.pixels().map(|p| p.0[3]).collect::<Vec<_>>();
        assert_eq!(alpha(&back.to_rgba8()), alpha(&picture), "{ext}: alpha");
    }
    let jpeg = dir.join("out.jpg");
    let out = run(&["decode".as_ref(), &dir.join("a.vaec"), "-o".as_ref(), &jpeg]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the alpha channel is not written into JPEG files"),
        "{stderr}"
    );
}

#[test]
fn grayscale_stays_grayscale_and_a_deep_source_is_recorded() {
    let dir = scratch("gray");
    let gray = image::GrayImage::from_fn(50, 30, |x, y| image::Luma([(x * 5 + y) as u8]));
    let (png, deep) = (dir.join("g.png"), dir.join("deep.png"));
    gray.save(&png).unwrap();
    image::DynamicImage::from(gray.clone())
        .to_luma16()
        .save(&deep)
        .unwrap();
    run(&["encode".as_ref(), &png, "-o".as_ref(), &dir.join("g.vaec")]);
    for ext in ["png", "jpg", "tiff"] {
        let decoded = dir.join(format!("out.{ext}"));
        run(&[
            "decode".as_ref(),
            &dir.join("g.vaec"),
            "-o".as_ref(),
            &decoded,
        ]);
        let back = image::open(&decoded).unwrap();
        assert_eq!(back.color(), image::ColorType::L8, "{ext}");
    }
    let out = run(&[
        "encode".as_ref(),
        &deep,
        "-o".as_ref(),
        &dir.join("deep.vaec"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("16-bit samples are coded at 8 bits"),
        "{stderr}"
    );
    let info = run(&["info".as_ref(), &dir.join("deep.vaec")]);
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.contains("grayscale, 8 bits coded (source 16-bit)"),
        "{info}"
    );
}

#[test]
fn metadata_too_big_for_a_jpeg_segment_is_left_out_with_a_note() {
    use common::gpu;
    let dir = scratch("bigmeta");
    let ctx = vaec_gpu::GpuContext::from_device(gpu().device().clone(), gpu().queue().clone());
    let codec = vaec_gpu::Codec::new(ctx.unwrap(), vaec_gpu::Model::builtin().unwrap()).unwrap();
    let mut picture = vaec_gpu::Picture::from_samples(24, 16, 3, &[70; 24 * 16 * 3]).unwrap();
    let mut big_exif = exif(1);
    big_exif.resize(70_000, 0);
    picture.metadata.exif = Some(big_exif);
    picture.metadata.xmp = Some(vec![b' '; 70_000]);
    let coded = dir.join("big.vaec");
    std::fs::write(&coded, codec.encode_picture(&picture, 3.0).unwrap().bytes).unwrap();
    let jpeg = dir.join("big.jpg");
    let out = run(&["decode".as_ref(), &coded, "-o".as_ref(), &jpeg]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("EXIF over 64 KB") && stderr.contains("XMP over 64 KB"),
        "{stderr}"
    );
    assert_eq!(image::open(&jpeg).unwrap().width(), 24);
    // formats without that limit take them whole
    let png = dir.join("big.png");
    run(&["decode".as_ref(), &coded, "-o".as_ref(), &png]);
    assert_eq!(
        decoder(&png).exif_metadata().unwrap().map(|e| e.len()),
        Some(70_000)
    );
}
