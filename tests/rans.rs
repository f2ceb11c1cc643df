//! Round trips of the rANS coder on random tables and symbol streams, escapes and empty streams.

mod common;

use common::Rng;
use vaec_gpu::entropy::{
    decode_symbols, encode_symbols, estimate_bits, CdfTables, EntropyError, MAX_LANES,
};

/// A random valid CDF of `n` symbols plus the escape symbol.
fn random_cdf(rng: &mut Rng, n: usize) -> Vec<u32> {
    let total = 1u32 << 16;
    let weights: Vec<u64> = (0..=n).map(|_| 1 + rng.below(1000)).collect();
    let sum: u64 = weights.iter().sum();
    let spare = total as u64 - (n as u64 + 1);
    let mut cdf = vec![0u32];
    let mut acc = 0u64;
    for (i, w) in weights.iter().enumerate() {
        acc += w;
        let v = (i as u64 + 1) + spare * acc / sum;
        cdf.push(v as u32);
    }
    *cdf.last_mut().unwrap() = total;
    cdf
}

fn random_tables(rng: &mut Rng, count: usize) -> CdfTables {
    let mut cdfs = Vec::new();
    let mut offsets = Vec::new();
    for _ in 0..count {
        let n = 1 + rng.below(40) as usize;
        cdfs.push(random_cdf(rng, n));
        offsets.push(-(rng.below(n as u64 + 1) as i32));
    }
    CdfTables::new(cdfs, offsets)
}

#[test]
fn round_trip_random_streams_with_escapes() {
    let mut rng = Rng::new(1);
    for round in 0..50 {
        let tables = random_tables(&mut rng, 1 + round % 8);
        let len = rng.below(5000) as usize;
        let indexes: Vec<u8> = (0..len)
            .map(|_| rng.below(tables.len() as u64) as u8)
            .collect();
        let symbols: Vec<i32> = (0..len)
            .map(|_| match rng.below(20) {
                0 => rng.below(1 << 20) as i32 - (1 << 19), // far outside: escapes
                1 => i32::MAX - rng.below(3) as i32,
                2 => i32::MIN + rng.below(3) as i32 + 1,
                _ => rng.below(60) as i32 - 30,
            })
            .collect();
        let lanes = 1 << (round % 3);
        let bytes = encode_symbols(&symbols, &indexes, &tables, lanes).unwrap();
        let decoded = decode_symbols(&bytes, &indexes, &tables, lanes).unwrap();
        assert_eq!(decoded, symbols, "round {round}, {lanes} lanes");
        let estimate = estimate_bits(&symbols, &indexes, &tables).unwrap();
        assert!((bytes.len() * 8) as f64 >= estimate - 64.0);
    }
}

#[test]
fn empty_stream_round_trips() {
    let mut rng = Rng::new(2);
    let tables = random_tables(&mut rng, 3);
    for lanes in [1, 2, MAX_LANES] {
        let bytes = encode_symbols(&[], &[], &tables, lanes).unwrap();
        assert_eq!(
            decode_symbols(&bytes, &[], &tables, lanes).unwrap(),
            Vec::<i32>::new()
        );
        // even an empty stream carries its final states
        assert_eq!(
            decode_symbols(&[], &[], &tables, lanes),
            Err(EntropyError::Truncated)
        );
    }
}

#[test]
fn size_is_close_to_the_estimate() {
    let mut rng = Rng::new(3);
    let tables = random_tables(&mut rng, 4);
    let n = 100_000;
    let indexes: Vec<u8> = (0..n).map(|_| rng.below(4) as u8).collect();
    let symbols: Vec<i32> = (0..n).map(|_| rng.below(12) as i32 - 6).collect();
    let estimate = estimate_bits(&symbols, &indexes, &tables).unwrap() / 8.0;
    for lanes in [1, 2, MAX_LANES] {
        let bytes = encode_symbols(&symbols, &indexes, &tables, lanes).unwrap();
        let ratio = bytes.len() as f64 / estimate;
        assert!(
            (0.999..1.001).contains(&ratio),
            "{lanes} lanes: size / estimate = {ratio}"
        );
    }
}

#[test]
fn every_truncation_is_an_error() {
    let mut rng = Rng::new(4);
    let tables = random_tables(&mut rng, 2);
    let indexes: Vec<u8> = (0..300).map(|_| rng.below(2) as u8).collect();
    let symbols: Vec<i32> = (0..300).map(|_| rng.below(50) as i32 - 25).collect();
    let bytes = encode_symbols(&symbols, &indexes, &tables, MAX_LANES).unwrap();
    for cut in 0..bytes.len() {
        let decoded = decode_symbols(&bytes[..cut], &indexes, &tables, MAX_LANES);
        assert!(decoded.is_err(), "a stream cut to {cut} bytes decoded");
    }
    assert_eq!(
        decode_symbols(&bytes[..3], &indexes, &tables, MAX_LANES),
        Err(EntropyError::Truncated)
    );
}

#[test]
fn garbage_never_panics() {
    let mut rng = Rng::new(5);
    let tables = random_tables(&mut rng, 3);
    for _ in 0..500 {
        let len = rng.below(200) as usize;
        let data: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
        let indexes: Vec<u8> = (0..rng.below(400)).map(|_| rng.below(3) as u8).collect();
        let _ = decode_symbols(&data, &indexes, &tables, 1 << (len % 3));
    }
    // a table index beyond the tables is an error, not a panic
    assert!(matches!(
        encode_symbols(&[0], &[9], &tables, 1),
        Err(EntropyError::BadIndex { index: 9, count: 3 })
    ));
}

#[test]
fn appended_bytes_and_wrong_final_states_are_errors() {
    let mut rng = Rng::new(6);
    let tables = random_tables(&mut rng, 3);
    let indexes: Vec<u8> = (0..500).map(|_| rng.below(3) as u8).collect();
    let symbols: Vec<i32> = (0..500).map(|_| rng.below(20) as i32 - 10).collect();
    for lanes in [1, 2, MAX_LANES] {
        let bytes = encode_symbols(&symbols, &indexes, &tables, lanes).unwrap();
        for extra in [4, 1000] {
            let mut longer = bytes.clone();
            longer.extend((0..extra).map(|_| rng.below(256) as u8));
            assert_eq!(
                decode_symbols(&longer, &indexes, &tables, lanes),
                Err(EntropyError::Corrupt("bytes after the end of the stream")),
                "{lanes} lanes, {extra} bytes appended"
            );
        }
        // a stream of random words decodes to something, but does not end where a real one does
        for _ in 0..50 {
            let noise: Vec<u8> = (0..bytes.len()).map(|_| rng.below(256) as u8).collect();
            assert!(
                decode_symbols(&noise, &indexes, &tables, lanes).is_err(),
                "{lanes} lanes: noise decoded"
            );
        }
    }
}
