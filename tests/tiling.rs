//! Tiled runs under a tiny memory budget give the same file and the same pixels as untiled runs.

mod common;

use common::gpu;
use vaec_gpu::model::Model;
use vaec_gpu::tiling::{plan, Rect};
use vaec_gpu::{Codec, CodecOptions, Error, GpuContext, Image};

fn codec(budget: u64) -> Codec {
    let ctx = GpuContext::from_device(gpu().device().clone(), gpu().queue().clone()).unwrap();
    let options = CodecOptions {
        memory_budget: budget,
        ..CodecOptions::default()
    };
    Codec::with_options(ctx, Model::builtin().unwrap(), options).unwrap()
}

fn picture(w: usize, h: usize) -> Image {
    // the test crop, mirrored into a bigger picture so that it has real structure everywhere
    let img = image::open(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data_crop.png"))
        .unwrap()
        .to_rgb8();
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let (tx, ty) = (x % 128, y % 128);
            let (sx, sy) = (
                if tx < 64 { tx } else { 127 - tx },
                if ty < 64 { ty } else { 127 - ty },
            );
            let p = img.get_pixel(sx as u32, sy as u32).0;
            rgb.extend_from_slice(&[p[0], p[1].wrapping_add((x / 7) as u8), p[2]]);
        }
    }
    Image::from_rgb8(w, h, &rgb).unwrap()
}

#[test]
fn tiny_budget_gives_identical_files_and_pixels() {
    let untiled = codec(u64::MAX / 4);
    let model_bytes = untiled.context().memory_in_use();
    let tiled = codec(model_bytes + (6 << 20));
    let img = picture(1024, 768);
    assert_eq!(untiled.tile_counts(1024, 768).unwrap(), (1, 1));
    let (ta, ts) = tiled.tile_counts(1024, 768).unwrap();
    eprintln!(
        "tiles with a {} MiB budget: g_a {ta}, g_s {ts}",
        (model_bytes + (6 << 20)) >> 20
    );
    assert!(
        ta >= 8 && ts >= 8,
        "budget too large to test tiling: {ta} {ts} tiles"
    );

    let a = untiled.encode(&img, 5.0).unwrap();
    tiled.context().reset_peak_memory();
    let b = tiled.encode(&img, 5.0).unwrap();
    assert_eq!(a.bytes, b.bytes, "tiled encoding differs");
    let pa = untiled.decode(&a.bytes).unwrap();
    let pb = tiled.decode(&a.bytes).unwrap();
    assert!(pa == pb, "tiled decoding differs");
    let peak = tiled.context().peak_memory();
    eprintln!(
        "peak GPU memory tiled: {:.1} MiB",
        peak as f64 / (1 << 20) as f64
    );
    assert!(
        peak <= model_bytes + (6 << 20),
        "peak {peak} above the budget"
    );
}

#[test]
fn the_smallest_budget_works_and_less_is_refused_at_once() {
    let (w, h) = (200, 136);
    let untiled = codec(u64::MAX / 4);
    let img = picture(w, h);
    let reference = untiled.encode(&img, 4.0).unwrap();
    let pixels = untiled.decode(&reference.bytes).unwrap();
    let least = untiled.smallest_memory_budget(w, h, true);
    eprintln!("smallest budget for {w}x{h}: {least} bytes");

    let tight = codec(least);
    tight.context().reset_peak_memory();
    assert_eq!(tight.encode(&img, 4.0).unwrap().bytes, reference.bytes);
    assert!(tight.decode(&reference.bytes).unwrap() == pixels);
    let peak = tight.context().peak_memory();
    assert!(peak <= least, "peak {peak} above the budget {least}");

    let short = codec(least - 1);
    let refused =
        |r: Result<(), Error>| matches!(r, Err(Error::Limit { value, .. }) if value == least);
    assert!(refused(short.encode(&img, 4.0).map(|_| ())));
    let decode_least = untiled.smallest_memory_budget(w, h, false);
    let short = codec(decode_least - 1);
    assert!(matches!(
        short.decode(&reference.bytes),
        Err(Error::Limit { value, .. }) if value == decode_least
    ));
}

#[test]
fn plans_cover_the_receptive_field() {
    let m = Model::random(4, 4, 1, 1);
    // one y pixel in the middle of a 1024-wide picture needs 16*y +- the halo of four 5x5/2 layers
    let p = plan(
        &m.g_a,
        (1024, 1024),
        Rect {
            x: (30, 31),
            y: (0, 1),
        },
    );
    assert!(p.input.x.0 <= 16 * 30 - 30 && p.input.x.1 >= 16 * 30 + 31);
    assert_eq!(p.input.x.0 % 16, 0);
    assert_eq!(p.input.y.0, 0);
    // synthesis: a pixel depends on y around x / 16
    let p = plan(
        &m.g_s,
        (64, 64),
        Rect {
            x: (512, 513),
            y: (0, 1),
        },
    );
    assert!(p.input.x.0 <= 31 && p.input.x.1 >= 33);
}

#[test]
fn out_of_memory_is_retried_with_smaller_tiles_and_gives_the_same_file() {
    let c = codec(u64::MAX / 4);
    let img = picture(200, 136);
    let clean = c.encode(&img, 3.0).unwrap();
    let pixels = c.decode(&clean.bytes).unwrap();
    // two failures: g_a runs a third time, with tiles a quarter of the side
    c.context().inject_out_of_memory(2);
    assert_eq!(c.encode(&img, 3.0).unwrap().bytes, clean.bytes);
    c.context().inject_out_of_memory(2);
    assert_eq!(c.decode(&clean.bytes).unwrap().rgba, pixels.rgba);
}

#[test]
fn out_of_memory_that_persists_is_a_typed_error() {
    let c = codec(u64::MAX / 4);
    let img = picture(64, 48);
    let enc = c.encode(&img, 2.0).unwrap();
    c.context().inject_out_of_memory(usize::MAX);
    assert!(matches!(c.encode(&img, 2.0), Err(Error::GpuOutOfMemory(_))));
    assert!(matches!(
        c.decode(&enc.bytes),
        Err(Error::GpuOutOfMemory(_))
    ));
    c.context().inject_out_of_memory(0);
    assert_eq!(c.encode(&img, 2.0).unwrap().bytes, enc.bytes);
}

#[test]
fn a_lost_device_is_a_typed_error_not_a_hang_or_panic() {
    let ctx = GpuContext::new(None).unwrap();
    let device = ctx.device().clone();
    let c = Codec::new(ctx, Model::builtin().unwrap()).unwrap();
    let img = picture(40, 24);
    let enc = c.encode(&img, 2.0).unwrap();
    device.destroy();
    let encoded = c.encode(&img, 2.0);
    assert!(matches!(encoded, Err(Error::DeviceLost(_))), "{encoded:?}");
    let decoded = c.decode(&enc.bytes);
    assert!(
        matches!(decoded, Err(Error::DeviceLost(_))),
        "{:?}",
        decoded.err()
    );
}
