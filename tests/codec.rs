//! The codec end to end with every shipped model (the checkerboard context model and the scale
//! hyperprior): round trips, the size estimate, bit-exact decoding across backends and the CPU
//! path, and the index-hash check.

mod common;

use common::gpu;
use vaec_gpu::codec::{decode_cpu, decode_latents_cpu, Codec};
use vaec_gpu::format::Limits;
use vaec_gpu::{Backend, Error, GpuContext, Image, Model};

fn photo(w: usize, h: usize) -> Image {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data_crop.png");
    let img = image::open(path).unwrap().to_rgb8();
    let mut rgb = Vec::new();
    for y in 0..h {
        for x in 0..w {
            rgb.extend_from_slice(&img.get_pixel((x % 64) as u32, (y % 64) as u32).0);
        }
    }
    Image::from_rgb8(w, h, &rgb).unwrap()
}

fn codec() -> Codec {
    codec_for(Model::builtin().unwrap())
}

fn codec_for(model: Model) -> Codec {
    let ctx = GpuContext::from_device(gpu().device().clone(), gpu().queue().clone()).unwrap();
    Codec::new(ctx, model).unwrap()
}

/// A codec for every compiled-in model, with its name.
fn every_model() -> Vec<(&'static str, Codec)> {
    let names = Model::builtin_names();
    assert!(
        names.len() >= 2,
        "a context model and a scale model are shipped"
    );
    names
        .into_iter()
        .map(|name| (name, codec_for(Model::builtin_named(name).unwrap())))
        .collect()
}

#[test]
fn round_trip_at_every_quality_and_odd_sizes() {
    for (name, codec) in every_model() {
        let levels = codec.model().levels();
        let context = codec.model().int_context.is_some();
        for (w, h) in [(1, 1), (3, 5), (64, 64), (100, 75)] {
            let img = photo(w, h);
            for q in 1..=levels {
                let enc = codec.encode(&img, q as f32).unwrap();
                let dec = codec.decode(&enc.bytes).unwrap();
                assert_eq!((dec.width, dec.height), (w, h));
                // the scale model's reconstruction is what the transforms give for round(y); the
                // context model codes round(y - mean) + mean, so it is compared with the original
                let reference = match context {
                    false => codec.reconstruct(&img, q as f32).unwrap(),
                    true => img.clone(),
                };
                let max_diff = dec
                    .rgba
                    .iter()
                    .zip(&reference.rgba)
                    .map(|(a, b)| a.abs_diff(*b))
                    .max()
                    .unwrap();
                if !context {
                    assert!(
                        max_diff <= 1,
                        "{name} {w}x{h} q{q}: decode differs from reconstruct by {max_diff}"
                    );
                }
                let psnr = vaec_gpu::metrics::psnr(&img, &dec);
                let floor = if w * h < 64 { 5.0 } else { 18.0 + q as f64 };
                assert!(psnr > floor, "{name} {w}x{h} q{q}: PSNR {psnr:.1} dB");
            }
        }
    }
}

#[test]
fn fractional_quality_is_between_its_neighbours() {
    let codec = codec();
    let img = photo(128, 96);
    let size = |q: f32| codec.encode(&img, q).unwrap().bytes.len();
    let (a, mid, b) = (size(3.0), size(3.5), size(4.0));
    assert!(a <= mid && mid <= b, "sizes {a} {mid} {b}");
}

#[test]
fn file_size_matches_the_estimate() {
    let codec = codec();
    let img = image::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/data/seeding.png"
    ))
    .unwrap()
    .to_rgb8();
    let img = Image::from_rgb8(img.width() as usize, img.height() as usize, img.as_raw()).unwrap();
    for q in [1.0, 4.0, 8.0] {
        let enc = codec.encode(&img, q).unwrap();
        let parsed = vaec_gpu::format::parse(&enc.bytes, &Limits::default()).unwrap();
        let payload: usize = parsed.streams.iter().map(|s| s.len()).sum();
        let estimate = enc.estimated_bits / 8.0;
        let ratio = payload as f64 / estimate;
        eprintln!(
            "q{q}: {} bytes ({} header), estimate {estimate:.0}, payload/estimate {ratio:.4}",
            enc.bytes.len(),
            parsed.header_bytes
        );
        // rANS spends its estimate plus its final states (8 bytes per lane)
        let lanes: usize = (0..parsed.streams.len())
            .map(vaec_gpu::format::substream_lanes)
            .sum();
        let slack = (8 * lanes) as f64;
        assert!(
            payload as f64 <= estimate * 1.001 + slack && payload as f64 >= estimate * 0.999,
            "q{q}: payload/estimate = {ratio}"
        );
        // and the file adds only the header: 46 bytes, 8 per substream, a 4-byte CRC
        assert_eq!(enc.bytes.len(), parsed.header_bytes + payload);
        assert_eq!(parsed.header_bytes, 46 + 8 * parsed.streams.len() + 4);
    }
}

#[test]
fn decoding_is_bit_exact_across_backends_and_the_cpu_path() {
    for (name, vulkan) in every_model() {
        bit_exact_across_backends(name, &vulkan);
    }
}

fn bit_exact_across_backends(name: &str, vulkan: &Codec) {
    let img = photo(100, 75);
    let enc = vulkan.encode(&img, 5.0).unwrap();
    let on_vulkan = vulkan.decode_latents(&enc.bytes).unwrap();
    if vulkan.model().int_context.is_some() {
        assert!(
            on_vulkan.means.iter().any(|m| *m != 0),
            "{name}: a context model predicts means"
        );
    }

    let gl_ctx = GpuContext::new(Some(Backend::Gl)).expect("a GL adapter (Mesa llvmpipe)");
    eprintln!("{name}, second backend: {}", gl_ctx.adapter_description());
    let gl = Codec::new(gl_ctx, Model::builtin_named(name).unwrap()).unwrap();
    let on_gl = gl.decode_latents(&enc.bytes).unwrap();
    let on_cpu = decode_latents_cpu(vulkan.model(), &enc.bytes, &Limits::default()).unwrap();
    assert_eq!(
        on_gl, on_vulkan,
        "{name}: GL and Vulkan decode different symbols, indexes or means"
    );
    assert_eq!(
        on_cpu, on_vulkan,
        "{name}: the CPU path decodes different symbols, indexes or means"
    );

    // pixels: g_s is floating point, so devices may differ by one step of rounding
    let px_vulkan = vulkan.decode(&enc.bytes).unwrap();
    let px_gl = gl.decode(&enc.bytes).unwrap();
    let px_cpu = decode_cpu(vulkan.model(), &enc.bytes, &Limits::default()).unwrap();
    for (device, other) in [("GL", &px_gl), ("CPU", &px_cpu)] {
        let max = px_vulkan
            .rgba
            .iter()
            .zip(&other.rgba)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap();
        assert!(
            max <= 1,
            "{name}: {device} pixels differ from Vulkan's by {max}"
        );
    }
}

#[test]
fn a_decoder_with_different_scale_indexes_or_means_is_caught_by_the_hash() {
    for (name, codec) in every_model() {
        let enc = codec.encode(&photo(64, 64), 4.0).unwrap();
        let mut perturbed = vec![codec.model().clone()];
        // move every threshold by one: some elements land in a neighbouring table
        perturbed[0]
            .int_h_s
            .as_mut()
            .unwrap()
            .thresholds
            .iter_mut()
            .for_each(|t| *t -= 1);
        if let Some(c) = codec.model().int_context.as_ref() {
            // a different mean for every element of channel 0 that is not an anchor
            let mut other = codec.model().clone();
            other.int_context.as_mut().unwrap().fusion[1].bias[1] = c.fusion[1].bias[1] + 1000;
            perturbed.push(other);
        }
        for model in &perturbed {
            match decode_cpu(model, &enc.bytes, &Limits::default()) {
                Err(Error::Format(msg)) => {
                    assert!(msg.contains("scale-index hash mismatch"), "{msg}")
                }
                other => panic!(
                    "{name}: perturbed decoder was not caught: {:?}",
                    other.map(|i| (i.width, i.height))
                ),
            }
        }
    }
}

#[test]
fn a_file_from_another_model_is_refused() {
    let codec = codec();
    let enc = codec.encode(&photo(64, 64), 4.0).unwrap();
    let mut other = codec.model().clone();
    other.id[0] ^= 1;
    match decode_cpu(&other, &enc.bytes, &Limits::default()) {
        Err(Error::ModelMismatch { .. }) => {}
        r => panic!("expected ModelMismatch, got {:?}", r.map(|i| i.width)),
    }
}

#[test]
fn zero_size_images_are_refused() {
    assert!(matches!(Image::from_rgb8(0, 5, &[]), Err(Error::Image(_))));
    assert!(matches!(Image::from_rgb8(5, 0, &[]), Err(Error::Image(_))));
}

#[test]
fn texture_in_and_out_match_the_byte_paths() {
    let codec = codec();
    let img = photo(100, 75);
    let device = codec.context().device();
    let texture = device.create_texture(&wgpu::TextureDescriptor {
        label: None,
        size: wgpu::Extent3d {
            width: 100,
            height: 75,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: wgpu::TextureFormat::Rgba8Unorm,
        usage: wgpu::TextureUsages::COPY_SRC | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    });
    codec.context().queue().write_texture(
        texture.as_image_copy(),
        &img.rgba,
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(400),
            rows_per_image: Some(75),
        },
        texture.size(),
    );
    let from_texture = codec.encode_texture(&texture, 3.0).unwrap();
    let from_bytes = codec.encode(&img, 3.0).unwrap();
    assert_eq!(from_texture.bytes, from_bytes.bytes);

    let decoded = codec.decode_to_texture(&from_bytes.bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (100, 75));
    // a file with alpha: the texture's alpha is the plane, its colour that of decode_picture
    let alpha: Vec<u8> = (0..100 * 75)
        .map(|i| (i % 100 * 2 + i / 100) as u8)
        .collect();
    let rgba: Vec<u8> = img
        .rgba
        .chunks(4)
        .zip(&alpha)
        .flat_map(|(p, &a)| [p[0], p[1], p[2], a])
        .collect();
    let cut = vaec_gpu::Picture::from_samples(100, 75, 4, &rgba).unwrap();
    let file = codec.encode_picture(&cut, 3.0).unwrap().bytes;
    let texture = codec.decode_to_texture(&file).unwrap();
    let texels = codec.context().read_texture(&texture).unwrap();
    assert_eq!(texels, codec.decode_picture(&file).unwrap().samples());
    assert_eq!(texels.chunks(4).map(|p| p[3]).collect::<Vec<_>>(), alpha);
    // read it back through encode_texture's path: re-encoding gives the file of the decoded pixels
    let cpu = codec.decode(&from_bytes.bytes).unwrap();
    assert_eq!(
        codec.encode_texture(&decoded, 3.0).unwrap().bytes,
        codec.encode(&cpu, 3.0).unwrap().bytes
    );
}
