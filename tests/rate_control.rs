//! Rate control: `encode_to_target` lands under a size (within 3%), over a PSNR, and says when a
//! target is out of reach.

mod common;

use common::gpu;
use vaec_gpu::{metrics, Codec, Error, GpuContext, Image, Model, Target};

fn sample() -> Image {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/seeding.png");
    let rgb = image::open(path).unwrap().to_rgb8();
    Image::from_rgb8(rgb.width() as usize, rgb.height() as usize, rgb.as_raw()).unwrap()
}

fn codec() -> Codec {
    let ctx = GpuContext::from_device(gpu().device().clone(), gpu().queue().clone()).unwrap();
    Codec::new(ctx, Model::builtin().unwrap()).unwrap()
}

#[test]
fn size_targets_land_within_three_percent_under() {
    let c = codec();
    let img = sample();
    let bytes_at = |q: f32| c.encode(&img, q).unwrap().bytes.len() as u64;
    // three sizes between the qualities, none of them a size some quality gives exactly
    for target in [
        bytes_at(2.3) + 7,
        (bytes_at(5.0) + bytes_at(5.5)) / 2,
        bytes_at(8.6) + 13,
    ] {
        let t = c.encode_to_target(&img, Target::Bytes(target)).unwrap();
        let got = t.encoded.bytes.len() as u64;
        eprintln!(
            "target {target}: {got} bytes at quality {} in {} tries",
            t.quality, t.tries
        );
        assert!(got <= target, "{got} above the target {target}");
        assert!(
            got as f64 >= 0.97 * target as f64,
            "{got} far below {target}"
        );
        // what the file says is what was coded
        assert_eq!(c.encode(&img, t.quality).unwrap().bytes, t.encoded.bytes);
    }
}

#[test]
fn bpp_and_psnr_targets_and_targets_out_of_reach() {
    let c = codec();
    let img = sample();
    let pixels = (img.width * img.height) as f64;
    let t = c.encode_to_target(&img, Target::BitsPerPixel(0.8)).unwrap();
    let bpp = t.encoded.bytes.len() as f64 * 8.0 / pixels;
    assert!((0.97 * 0.8..=0.8).contains(&bpp), "{bpp} bpp");

    let psnr_at = |q: f32| {
        let e = c.encode(&img, q).unwrap();
        metrics::psnr(&img, &c.decode(&e.bytes).unwrap())
    };
    let goal = (psnr_at(4.0) + psnr_at(4.5)) / 2.0;
    let t = c.encode_to_target(&img, Target::Psnr(goal)).unwrap();
    let got = metrics::psnr(&img, &c.decode(&t.encoded.bytes).unwrap());
    assert!(got >= goal, "{got} dB under the target {goal}");
    assert!(t.quality > 4.0 && t.quality <= 4.5, "quality {}", t.quality);

    assert!(matches!(
        c.encode_to_target(&img, Target::Bytes(10)),
        Err(Error::TargetOutOfReach(_))
    ));
    assert!(matches!(
        c.encode_to_target(&img, Target::Psnr(99.0)),
        Err(Error::TargetOutOfReach(_))
    ));
}
