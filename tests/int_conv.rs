//! The integer layers (int_conv.wgsl and its subgroup variant) and the integer hyper-synthesis:
//! GPU and CPU agree bit for bit, on random networks and inputs at odd sizes, including inputs far
//! outside the clamping range and signed outputs.

mod common;

use common::{gpus, Rng};
use vaec_gpu::cpu::int_hyper_synthesis;
use vaec_gpu::gpu::GpuIntHyperSynthesis;
use vaec_gpu::model::{ConvGeometry, IntConv, IntHyperSynthesis};

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
        let gpu_indexes = GpuIntHyperSynthesis::new(ctx, &net)
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
        let gpu_indexes = GpuIntHyperSynthesis::new(ctx, &net)
            .unwrap()
            .run(ctx, &symbols, h, w)
            .unwrap();
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
