//! Soak test as a benchmark: encode and decode pictures of several sizes a few hundred times each
//! in one process. The GPU buffers the codec holds must come back to the same count after every
//! round, and the process's resident memory (Linux: /proc/self/statm) must not keep growing after
//! a warm-up, at any size (small pictures once leaked 1.9 MB a call where 256x192 did not).
//! Exits non-zero when either grows. The adapter is printed first.
//!
//!     cargo bench --bench soak                 # 300 rounds at each of 16x16, 64x64, 127x33, 512x512
//!     cargo bench --bench soak -- --rounds 50 --sizes 64x64,256x192

use std::time::Instant;

use vaec_gpu::{Codec, GpuContext, Image, Model};

/// Resident memory may wander this much after the warm-up (allocator and driver caches).
const RSS_SLACK_BYTES: u64 = 16 << 20;
const WARM_UP_ROUNDS: usize = 20;

fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn picture(w: usize, h: usize) -> Image {
    let crop = image::open(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data_crop.png"))
        .expect("tests/data_crop.png")
        .to_rgb8();
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let (cw, ch) = (crop.width() as usize, crop.height() as usize);
            rgb.extend_from_slice(&crop.get_pixel((x % cw) as u32, (y % ch) as u32).0);
        }
    }
    Image::from_rgb8(w, h, &rgb).expect("picture")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
    };
    let rounds = value("--rounds").map_or(300, |v| v.parse().expect("--rounds N"));
    let sizes: Vec<(usize, usize)> = value("--sizes")
        .map_or("16x16,64x64,127x33,512x512", |v| v.as_str())
        .split(',')
        .map(|s| {
            let (w, h) = s.split_once('x').expect("--sizes WxH,WxH");
            (w.parse().expect("width"), h.parse().expect("height"))
        })
        .collect();
    let model = Model::builtin().expect("built-in weights");
    let mut failures = Vec::new();
    for (w, h) in sizes {
        // A fresh device per size: lavapipe's leak of uniform buffers (issue 23) showed at 64x64
        // only when 64x64 was the device's first size, so sharing one device would hide it.
        let ctx = GpuContext::new(None).expect("a GPU adapter (install mesa-vulkan-drivers)");
        println!("adapter: {}", ctx.adapter_description());
        let codec = Codec::new(ctx, model.clone()).expect("codec");
        failures.extend(soak(&codec, &picture(w, h), rounds));
    }
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("soak: {f}");
        }
        std::process::exit(1);
    }
    println!("soak: no growth");
}

/// `rounds` encodes and decodes of `img`; what grew, if anything.
fn soak(codec: &Codec, img: &Image, rounds: usize) -> Vec<String> {
    let size = format!("{}x{}", img.width, img.height);
    let gpu_before = codec.context().memory_in_use();
    let mut rss_after_warm_up = None;
    let mut rss_max = 0;
    let mut failures = Vec::new();
    let start = Instant::now();
    for round in 0..rounds {
        let quality = 1.0 + (round % codec.model().levels()) as f32;
        let enc = codec.encode(img, quality).expect("encode");
        let dec = codec.decode(&enc.bytes).expect("decode");
        assert_eq!((dec.width, dec.height), (img.width, img.height));
        let gpu_now = codec.context().memory_in_use();
        if gpu_now != gpu_before {
            failures.push(format!(
                "{size}, round {round}: the codec holds {gpu_now} bytes of GPU buffers, {gpu_before} before"
            ));
            break;
        }
        let rss = resident_bytes().unwrap_or(0);
        if round + 1 == WARM_UP_ROUNDS {
            rss_after_warm_up = Some(rss);
        }
        rss_max = rss_max.max(rss);
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{size}: {rounds} rounds of encode + decode (every quality in turn) in {seconds:.1} s, {:.1} ms per round",
        1e3 * seconds / rounds as f64
    );
    println!(
        "{size}: GPU buffers held by the codec: {gpu_before} bytes before, {} after; peak {} bytes",
        codec.context().memory_in_use(),
        codec.context().peak_memory()
    );
    match (rss_after_warm_up, resident_bytes()) {
        (Some(warm), Some(end)) => {
            println!(
                "{size}: resident memory: {:.1} MiB after {WARM_UP_ROUNDS} rounds, {:.1} MiB at the end, {:.1} MiB at most",
                warm as f64 / 1048576.0,
                end as f64 / 1048576.0,
                rss_max as f64 / 1048576.0
            );
            if rss_max > warm + RSS_SLACK_BYTES {
                failures.push(format!(
                    "{size}: resident memory grew by {:.1} MiB after the warm-up (slack {} MiB)",
                    (rss_max - warm) as f64 / 1048576.0,
                    RSS_SLACK_BYTES >> 20
                ));
            }
        }
        _ => println!(
            "{size}: resident memory: not measured (needs /proc/self/statm and {WARM_UP_ROUNDS}+ rounds)"
        ),
    }
    failures
}
