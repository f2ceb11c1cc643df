//! The integer layers (int_conv.wgsl and its subgroup variant) and the integer hyper-synthesis:
//! GPU and CPU agree bit for bit, on random networks and inputs at odd sizes, including inputs far
//! outside the clamping range and signed outputs.

mod common;

use common::{gpus, Rng};
use pollster::block_on;
use vaec_gpu::cpu::{checkerboard_parameters, int_hyper_features, int_hyper_synthesis};
use vaec_gpu::gpu::GpuIntNetworks;
use vaec_gpu::model::{is_anchor, ConvGeometry, IntContext, IntConv, IntHyperSynthesis};

fn random_layer(
    rng: &mut Rng,
    cin: usize,
    cout: usize,
    k: usize,
    s: usize,
    transposed: bool,
    act_max: i32,
) -> IntConv {
    IntConv {
        geometry: ConvGeometry {
            kernel: k,
            stride: s,
            pad: k / 2,
            transposed,
        },
        in_channels: cin,
        out_channels: cout,
        weight: (0..cin * cout * k * k)
            .map(|_| rng.below(2001) as i32 - 1000)
            .collect(),
        bias: (0..cout)
            .map(|_| rng.below(200_001) as i32 - 100_000)
            .collect(),
        shift: (0..cout).map(|_| 6 + rng.below(8) as u32).collect(),
        act_max,
        relu: true,
        groups: 1,
    }
}

fn random_network(rng: &mut Rng, n: usize, m: usize) -> IntHyperSynthesis {
    random_network_with(rng, n, m, (1 << 24) - 1, 1 << 20)
}

/// `last_max`: the last layer's clamp; `threshold_range`: thresholds drawn below it (a small range
/// gives repeated thresholds and outputs equal to a threshold, the edge cases of the lookup).
fn random_network_with(
    rng: &mut Rng,
    n: usize,
    m: usize,
    last_max: i32,
    threshold_range: u64,
) -> IntHyperSynthesis {
    let mut thresholds: Vec<i32> = (0..63).map(|_| rng.below(threshold_range) as i32).collect();
    thresholds.sort();
    IntHyperSynthesis {
        input_frac_bits: 4,
        medians: (0..n).map(|_| rng.below(33) as i32 - 16).collect(),
        layers: vec![
            random_layer(rng, n, n, 5, 2, true, 4095),
            random_layer(rng, n, n, 5, 2, true, 4095),
            random_layer(rng, n, m, 3, 1, false, last_max),
        ],
        thresholds,
    }
}

#[test]
fn gpu_matches_cpu_bit_for_bit() {
    for ctx in gpus() {
        check_against_cpu(ctx);
    }
}

#[test]
fn index_lookup_with_repeated_thresholds_and_exact_hits_matches_cpu() {
    for ctx in gpus() {
        let mut rng = Rng::new(5);
        let net = random_network_with(&mut rng, 6, 9, 40, 48);
        let (h, w) = (7, 5);
        let symbols: Vec<i32> = (0..6 * h * w).map(|_| rng.below(9) as i32 - 4).collect();
        let cpu = int_hyper_synthesis(&net, &symbols, h, w);
        let gpu_indexes = GpuIntNetworks::new(ctx, &net, None)
            .unwrap()
            .run(ctx, &symbols, h, w)
            .unwrap();
        assert_eq!(gpu_indexes, cpu, "subgroups={}", ctx.uses_subgroups());
        let distinct: std::collections::BTreeSet<u8> = cpu.iter().copied().collect();
        assert!(
            distinct.len() > 3,
            "the case should spread over several indexes: {distinct:?}"
        );
    }
}

fn check_against_cpu(ctx: &vaec_gpu::GpuContext) {
    let mut rng = Rng::new(21);
    for (n, m, h, w) in [
        (5, 7, 1, 1),
        (6, 9, 3, 5),
        (9, 6, 17, 13),
        (4, 4, 8, 8),
        (19, 21, 5, 7),
    ] {
        let net = random_network(&mut rng, n, m);
        let symbols: Vec<i32> = (0..n * h * w)
            .map(|_| match rng.below(10) {
                0 => rng.below(1 << 30) as i32 - (1 << 29), // clamped on input
                _ => rng.below(41) as i32 - 20,
            })
            .collect();
        let cpu = int_hyper_synthesis(&net, &symbols, h, w);
        let gpu = GpuIntNetworks::new(ctx, &net, None).unwrap();
        let gpu_indexes = gpu.run(ctx, &symbols, h, w).unwrap();
        // in the least memory: h_s in bands of rows, the lookup in chunks of channels
        let least = gpu.smallest_memory((h, w));
        let hyper = block_on(gpu.hyper(ctx, &symbols, (h, w), None, least)).unwrap();
        let banded = block_on(gpu.parameters(ctx, &hyper, None, (None, 1), least)).unwrap();
        assert_eq!(banded.indexes, cpu, "n={n} m={m} {h}x{w} in {least} bytes");
        assert!(
            matches!(
                block_on(gpu.hyper(ctx, &symbols, (h, w), None, least - 1)),
                Err(vaec_gpu::Error::Limit { .. })
            ) || matches!(
                block_on(gpu.parameters(ctx, &hyper, None, (None, 1), least - 1)),
                Err(vaec_gpu::Error::Limit { .. })
            )
        );
        assert_eq!(cpu.len(), m * h * 4 * w * 4);
        assert_eq!(
            gpu_indexes,
            cpu,
            "n={n} m={m} {h}x{w}, subgroups={}",
            ctx.uses_subgroups()
        );
        let distinct: std::collections::BTreeSet<u8> = cpu.iter().copied().collect();
        eprintln!("{n}->{m} on {h}x{w}: {} distinct indexes", distinct.len());
    }
}

/// A random integer layer of any geometry and grouping with weights in +-`w_max`.
fn layer_with(
    rng: &mut Rng,
    (cin, cout, groups): (usize, usize, usize),
    geometry: ConvGeometry,
    w_max: u64,
    (act_max, relu): (i32, bool),
) -> IntConv {
    let k = geometry.kernel;
    IntConv {
        geometry,
        in_channels: cin,
        out_channels: cout,
        weight: (0..cin / groups * cout * k * k)
            .map(|_| rng.below(2 * w_max + 1) as i32 - w_max as i32)
            .collect(),
        bias: (0..cout)
            .map(|_| rng.below(20_001) as i32 - 10_000)
            .collect(),
        shift: (0..cout).map(|_| 4 + rng.below(6) as u32).collect(),
        act_max,
        relu,
        groups,
    }
}

/// A random context model for `m` channels of y with `hidden` units per channel, the
/// checkerboard's masked taps zero as the exporter writes them.
fn random_context(rng: &mut Rng, m: usize, hidden: usize) -> IntContext {
    let one = ConvGeometry::conv(1, 1);
    let depthwise = |rng: &mut Rng| {
        let mut conv = layer_with(rng, (m, m, m), ConvGeometry::conv(5, 1), 60, (32767, false));
        for (at, w) in conv.weight.iter_mut().enumerate() {
            if is_anchor((at % 25) / 5, at % 5) {
                *w = 0;
            }
        }
        conv
    };
    let fusion = |rng: &mut Rng| {
        vec![
            layer_with(rng, (3 * m, hidden * m, m), one, 300, (65535, true)),
            layer_with(
                rng,
                (hidden * m, 2 * m, m),
                one,
                300,
                ((1 << 23) - 1, false),
            ),
        ]
    };
    IntContext {
        context: depthwise(rng),
        magnitude: depthwise(rng),
        input_frac_bits: 3,
        fusion: fusion(rng),
        anchor_fusion: fusion(rng),
        mean_frac_bits: 12,
    }
}

/// Both passes of the checkerboard context on the GPU (int_context.wgsl) against the CPU twin:
/// h_s features, the anchors' parameters, the context input from (random) decoded anchors, the
/// others' parameters.
#[test]
fn context_model_matches_cpu_bit_for_bit_in_both_passes() {
    for ctx in gpus() {
        let mut rng = Rng::new(33);
        for (n, m, hidden, h, w) in [(5, 6, 3, 1, 1), (6, 9, 4, 3, 5), (7, 12, 8, 4, 3)] {
            let mut net = random_network_with(&mut rng, n, m, 65535, 1 << 20);
            // thresholds on the signed scale output
            net.thresholds.iter_mut().for_each(|t| *t -= 1 << 19);
            let context = random_context(&mut rng, m, hidden);
            let z: Vec<i32> = (0..n * h * w).map(|_| rng.below(41) as i32 - 20).collect();
            let gpu = GpuIntNetworks::new(ctx, &net, Some(&context)).unwrap();
            let (hyper_cpu, size) = int_hyper_features(&net, &z, h, w);
            let hyper_gpu = block_on(gpu.hyper(ctx, &z, (h, w), None, u64::MAX)).unwrap();
            assert_eq!(hyper_gpu, (hyper_cpu.clone(), size));
            let least = gpu.smallest_memory((h, w));
            let banded = block_on(gpu.hyper(ctx, &z, (h, w), None, least)).unwrap();
            assert_eq!(banded, hyper_gpu, "h_s in bands of rows");
            let t = &net.thresholds;
            let first_cpu = checkerboard_parameters(&context, t, &hyper_cpu, None, size);
            let first_gpu =
                block_on(gpu.parameters(ctx, &hyper_gpu, None, (None, 1), u64::MAX)).unwrap();
            let what = format!(
                "n={n} m={m} hidden={hidden} {h}x{w}, subgroups={}",
                ctx.uses_subgroups()
            );
            assert_eq!(first_gpu, first_cpu, "first pass, {what}");
            let symbols: Vec<i32> = (0..m * size.0 * size.1)
                .map(|_| match rng.below(20) {
                    0 => rng.below(1 << 20) as i32 - (1 << 19), // clamped into the input range
                    _ => rng.below(31) as i32 - 15,
                })
                .collect();
            let input = context.context_input(&symbols, &first_cpu.means, size.0, size.1);
            assert!(
                input.iter().any(|v| *v == IntContext::input_max()),
                "a clamped input"
            );
            let second_cpu = checkerboard_parameters(&context, t, &hyper_cpu, Some(&input), size);
            let second_gpu =
                block_on(gpu.parameters(ctx, &hyper_gpu, Some(&input), (None, 2), least)).unwrap();
            assert_eq!(second_gpu, second_cpu, "second pass, {what}");
            assert_ne!(
                second_cpu, first_cpu,
                "the context changes the parameters, {what}"
            );
            let spread = |v: &[i32]| v.iter().any(|x| *x < 0) && v.iter().any(|x| *x > 0);
            assert!(spread(&second_cpu.means), "means of both signs, {what}");
        }
    }
}
