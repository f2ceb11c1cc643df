//! Kernel benchmarks: each GPU kernel family at a size of the real model (N = 64 channels on a
//! 768x512 Kodak picture), reported by criterion as elements per second where an element is one
//! floating-point operation (2 per multiply-add): read "Gelem/s" as GFLOP/s. Also the rANS coder in
//! symbols per second. The adapter is printed first.
//!
//!     cargo bench --bench kernels

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vaec_gpu::entropy::{decode_symbols, encode_symbols, CdfTables};
use vaec_gpu::format::Y_LANES;
use vaec_gpu::gpu::{GpuIntNetworks, GpuLayer};
use vaec_gpu::model::{Conv, ConvGeometry, Gdn, Layer};
use vaec_gpu::{GpuContext, Model, Tensor};

fn conv(cin: usize, cout: usize, geometry: ConvGeometry) -> Conv {
    let k = geometry.kernel;
    let weight = (0..cin * cout * k * k)
        .map(|i| ((i % 17) as f32 - 8.0) * 0.01)
        .collect();
    Conv::new(geometry, cin, cout, weight, vec![0.01; cout])
}

fn bench_gpu(c: &mut Criterion) {
    let ctx = GpuContext::new(None).expect("a GPU adapter");
    eprintln!("adapter: {}", ctx.adapter_description());
    let mut group = c.benchmark_group("gpu");
    group.sample_size(10);
    // g_a's second layer on Kodak: 64 -> 64 channels, 384x256 -> 192x128
    let cases = [
        (
            "conv5x5s2 64->64 384x256",
            conv(64, 64, ConvGeometry::conv(5, 2)),
            256,
            384,
        ),
        (
            "conv_transpose5x5s2 64->64 192x128",
            conv(64, 64, ConvGeometry::deconv(5, 2)),
            128,
            192,
        ),
        (
            "conv5x5s2 3->64 768x512",
            conv(3, 64, ConvGeometry::conv(5, 2)),
            512,
            768,
        ),
    ];
    for (name, layer, h, w) in cases {
        let gpu_layer = GpuLayer::new(&ctx, &Layer::Conv(layer.clone())).unwrap();
        let input = ctx
            .upload_tensor(&Tensor::from_data(
                layer.in_channels,
                h,
                w,
                vec![0.5; layer.in_channels * h * w],
            ))
            .unwrap();
        let (oh, ow) = layer.output_size(h, w);
        group.throughput(Throughput::Elements(2 * layer.macs(oh, ow)));
        group.bench_function(name, |b| {
            b.iter(|| {
                let out = gpu_layer.run(&ctx, &input).unwrap();
                ctx.wait().unwrap();
                black_box(out);
            })
        });
    }
    let (ch, h, w) = (64, 256, 384);
    let gdn = Gdn {
        channels: ch,
        beta: vec![1.0; ch],
        gamma: vec![0.01; ch * ch],
        inverse: false,
    };
    let gpu_gdn = GpuLayer::new(&ctx, &Layer::Gdn(gdn)).unwrap();
    let input = ctx
        .upload_tensor(&Tensor::from_data(ch, h, w, vec![0.5; ch * h * w]))
        .unwrap();
    group.throughput(Throughput::Elements(2 * (ch * ch * h * w) as u64));
    group.bench_function("gdn 64 384x256", |b| {
        b.iter(|| {
            let out = gpu_gdn.run(&ctx, &input).unwrap();
            ctx.wait().unwrap();
            black_box(out);
        })
    });
    // the integer h_s of the shipped model on a Kodak-sized z (64 x 8 x 12)
    let model = Model::builtin().unwrap();
    if let Some(int) = &model.int_h_s {
        let gpu_int = GpuIntNetworks::new(&ctx, int, model.int_context.as_ref()).unwrap();
        let z = vec![0i32; model.n * 8 * 12];
        let (mut h, mut w, mut macs) = (8, 12, 0);
        for l in &int.layers {
            (h, w) = l.output_size(h, w);
            macs += l.macs(h, w);
        }
        group.throughput(Throughput::Elements(2 * macs));
        group.bench_function("integer h_s (int ops) 8x12 -> 32x48", |b| {
            b.iter(|| black_box(gpu_int.run(&ctx, &z, 8, 12).unwrap()))
        });
    }
    group.finish();
}

fn bench_rans(c: &mut Criterion) {
    let model = Model::builtin().unwrap();
    let g = model.gaussian.as_ref().expect("entropy tables");
    let tables = CdfTables::new(g.cdfs.clone(), g.offsets.clone());
    let n = 1 << 20;
    let mut state = 1u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    let indexes: Vec<u8> = (0..n).map(|_| (next() % 24) as u8).collect();
    let symbols: Vec<i32> = indexes
        .iter()
        .map(|&i| (next() % (2 * i as u32 / 3 + 1)) as i32 - i as i32 / 3)
        .collect();
    let bytes = encode_symbols(&symbols, &indexes, &tables, Y_LANES).unwrap();
    let mut group = c.benchmark_group("rans");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("encode 1M symbols", |b| {
        b.iter(|| black_box(encode_symbols(&symbols, &indexes, &tables, Y_LANES).unwrap()))
    });
    group.bench_function("decode 1M symbols", |b| {
        b.iter(|| black_box(decode_symbols(&bytes, &indexes, &tables, Y_LANES).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, bench_gpu, bench_rans);
criterion_main!(benches);
