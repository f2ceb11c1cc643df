//! Files written by release 0.1.0 (whose weight files were float32 and whole; the shipped ones
//! are packed: float16 convolutions, the context model's shared transforms stored once) still
//! find their model by the identity in their header and decode, on the GPU and on the CPU, to
//! within one level of what 0.1.0 decoded.

use std::path::Path;

use vaec_gpu::codec::decode_cpu;
use vaec_gpu::format::{self, Limits};
use vaec_gpu::{Codec, GpuContext, Image, Model};

fn load_png(path: &Path) -> Image {
    let img = image::open(path).unwrap().to_rgba8();
    Image {
        width: img.width() as usize,
        height: img.height() as usize,
        rgba: img.into_raw(),
    }
}

fn largest_difference(a: &Image, b: &Image) -> u8 {
    assert_eq!((a.width, a.height), (b.width, b.height));
    a.rgba
        .iter()
        .zip(&b.rgba)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}

#[test]
fn files_of_release_0_1_0_decode_as_they_did() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    for name in ["context", "hyperprior"] {
        let bytes = std::fs::read(data.join(format!("release-0.1.0-{name}.vaec"))).unwrap();
        let then = load_png(&data.join(format!("release-0.1.0-{name}.png")));
        let limits = Limits::default();
        let header = format::parse(&bytes, &limits).unwrap().header;
        let model = Model::builtin_with_id(&header.model_id)
            .unwrap_or_else(|| panic!("{name}: no compiled-in model has the file's identity"))
            .unwrap();
        assert_eq!(model.id, Model::builtin_named(name).unwrap().id, "{name}");
        let ctx = GpuContext::new(None).unwrap();
        let gpu = Codec::new(ctx, model.clone())
            .unwrap()
            .decode(&bytes)
            .unwrap();
        assert!(largest_difference(&gpu, &then) <= 1, "{name} on the GPU");
        let cpu = decode_cpu(&model, &bytes, &limits).unwrap();
        assert!(largest_difference(&cpu, &then) <= 1, "{name} on the CPU");
    }
}
