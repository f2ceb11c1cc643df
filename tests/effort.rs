//! Encoder effort end to end: effort 0 writes the bytes it wrote before the search existed;
//! above 0 the search lowers the coded loss, and the files decode on Vulkan, GL and the CPU path
//! like any other; rate control and the memory budget hold at every effort.

mod common;

use common::gpu;
use sha2::Digest;
use vaec_gpu::codec::{
    decode_cpu, decode_latents_cpu, lambda_for_quality, Codec, CodecOptions, Target,
};
use vaec_gpu::format::Limits;
use vaec_gpu::{metrics, Backend, GpuContext, Image, Model};

fn picture(path: &str, (x0, y0): (u32, u32), (w, h): (usize, usize)) -> Image {
    let img = image::open(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
        .to_rgb8();
    let mut rgb = Vec::new();
    for y in 0..h as u32 {
        for x in 0..w as u32 {
            rgb.extend_from_slice(&img.get_pixel(x0 + x, y0 + y).0);
        }
    }
    Image::from_rgb8(w, h, &rgb).unwrap()
}

fn codec(model: &str, effort: u8) -> Codec {
    let ctx = GpuContext::from_device(gpu().device().clone(), gpu().queue().clone()).unwrap();
    let options = CodecOptions {
        effort,
        ..CodecOptions::default()
    };
    Codec::with_options(ctx, Model::builtin_named(model).unwrap(), options).unwrap()
}

/// The search's objective on the real file: lambda 255^2 MSE (8-bit decode) + bits per pixel.
fn coded_loss(image: &Image, bytes: &[u8], decoded: &Image, quality: f32) -> f64 {
    let pixels = (image.width * image.height) as f64;
    let mse = 255.0f64.powi(2) / 10f64.powf(metrics::psnr(image, decoded) / 10.0);
    f64::from(lambda_for_quality(quality)) * mse + bytes.len() as f64 * 8.0 / pixels
}

#[test]
fn effort_0_writes_the_bytes_of_the_encoder_before_the_search() {
    // SHA-256 of tests/data_crop.png encoded by the release before the search (e080582) on
    // lavapipe; the encoder's float g_a makes these bytes the lavapipe's (other GPUs may round
    // an element differently)
    let golden = [
        (
            "context",
            1.0,
            "d10c81f48250aeb48c05a77288c2180a6cb68425828a1cdf2e05de721e9861fd",
        ),
        (
            "context",
            5.5,
            "3622ca15084195b066c3f152ead0edd43e288e0bef5dd433ec099e1b2025033a",
        ),
        (
            "context",
            10.0,
            "7ccae6764159f936a1dbfabc944fcd39aaaeb56c5b5299c9f02aaf46698febd4",
        ),
        (
            "hyperprior",
            1.0,
            "61eb5c050c46a5c64220e7db789288f8e549e9991d57e2811555573d19172e4a",
        ),
        (
            "hyperprior",
            5.5,
            "c655326aa3bb5682991ff10d10cff36877f211a3add52d9b31ae5df4c7c8f8f7",
        ),
        (
            "hyperprior",
            10.0,
            "075c97c628d8e6aac5ba0b0ee5c31b91cb6e661b7ac201b671aebb1e2c6c5682",
        ),
    ];
    let crop = picture("tests/data_crop.png", (0, 0), (64, 64));
    for (model, quality, want) in golden {
        let bytes = codec(model, 0).encode(&crop, quality).unwrap().bytes;
        let got: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(got, want, "{model} at quality {quality}");
    }
}

#[test]
fn the_search_lowers_the_coded_loss_and_its_files_decode_everywhere() {
    let photo = picture("examples/data/seeding.png", (100, 60), (128, 96));
    for model in ["context", "hyperprior"] {
        let plain = codec(model, 0);
        let searched = codec(model, 1);
        for quality in [2.0, 7.0] {
            let before = plain.encode(&photo, quality).unwrap().bytes;
            let after = searched.encode(&photo, quality).unwrap().bytes;
            let decoded_before = plain.decode(&before).unwrap();
            let decoded_after = plain.decode(&after).unwrap();
            let (loss_before, loss_after) = (
                coded_loss(&photo, &before, &decoded_before, quality),
                coded_loss(&photo, &after, &decoded_after, quality),
            );
            eprintln!(
                "{model} q{quality}: {} -> {} bytes, {:.2} -> {:.2} dB, loss {loss_before:.4} -> {loss_after:.4}",
                before.len(),
                after.len(),
                metrics::psnr(&photo, &decoded_before),
                metrics::psnr(&photo, &decoded_after)
            );
            assert!(
                loss_after < 0.99 * loss_before,
                "{model} q{quality}: the search did not lower the loss ({loss_before} -> {loss_after})"
            );
            // an ordinary file: the CPU decoder reads it, within a level of the GPU
            let model_weights = Model::builtin_named(model).unwrap();
            let on_cpu = decode_cpu(&model_weights, &after, &Limits::default()).unwrap();
            let worst = on_cpu
                .rgba
                .iter()
                .zip(&decoded_after.rgba)
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap();
            assert!(
                worst <= 1,
                "{model} q{quality}: CPU and GPU differ by {worst}"
            );
            let on_gl = gl_codec(model).decode_latents(&after).unwrap();
            let on_cpu = decode_latents_cpu(&model_weights, &after, &Limits::default()).unwrap();
            assert_eq!(on_gl, plain.decode_latents(&after).unwrap(), "{model}: GL");
            assert_eq!(on_cpu, on_gl, "{model}: the CPU path");
        }
    }
}

/// A codec on the GL backend (Mesa's llvmpipe).
fn gl_codec(model: &str) -> Codec {
    let ctx = GpuContext::new(Some(Backend::Gl)).expect("a GL adapter (Mesa llvmpipe)");
    Codec::new(ctx, Model::builtin_named(model).unwrap()).unwrap()
}

#[test]
fn size_targets_hold_at_every_effort() {
    let photo = picture("examples/data/seeding.png", (200, 100), (96, 64));
    let searched = codec("context", 1);
    for bytes in [400u64, 1500] {
        let got = searched
            .encode_to_target(&photo, Target::Bytes(bytes))
            .unwrap();
        assert!(
            got.encoded.bytes.len() as u64 <= bytes,
            "{} bytes for a target of {bytes}",
            got.encoded.bytes.len()
        );
    }
}

#[test]
fn a_picture_whose_search_does_not_fit_the_budget_is_searched_in_tiles() {
    let photo = picture("examples/data/seeding.png", (0, 0), (480, 320));
    let plain = codec("context", 0);
    // a tenth under the whole search's memory: four tiles of 16 x 16 latents and their halos
    let whole = plain.untiled_search_budget(photo.width, photo.height);
    let budget = whole - whole / 10;
    assert!(budget < whole, "the budget must force tiles");
    let ctx = GpuContext::from_device(gpu().device().clone(), gpu().queue().clone()).unwrap();
    let options = CodecOptions {
        effort: 1,
        memory_budget: budget,
        ..CodecOptions::default()
    };
    let tiled = Codec::with_options(ctx, Model::builtin().unwrap(), options).unwrap();
    let quality = 5.0;
    let before = plain.encode(&photo, quality).unwrap().bytes;
    let after = tiled.encode(&photo, quality).unwrap().bytes;
    let (decoded_before, decoded_after) = (
        plain.decode(&before).unwrap(),
        plain.decode(&after).unwrap(),
    );
    let loss_before = coded_loss(&photo, &before, &decoded_before, quality);
    let loss_after = coded_loss(&photo, &after, &decoded_after, quality);
    eprintln!(
        "tiled search within {budget} of {whole} bytes: loss {loss_before:.4} -> {loss_after:.4}"
    );
    assert!(
        loss_after < 0.99 * loss_before,
        "{loss_before} -> {loss_after}"
    );
    assert!(
        tiled.context().peak_memory() <= budget,
        "peak {} over {budget}",
        tiled.context().peak_memory()
    );
}
