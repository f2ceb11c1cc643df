//! The command line on bad input: a one-line error, a non-zero exit, no output file left behind,
//! and no existing file replaced without --force.

mod common;

use std::path::Path;

use common::cli::{assert_fails, scratch, vaec};

#[test]
fn missing_and_unreadable_inputs_fail_with_one_line() {
    let dir = scratch("missing");
    let out = vaec(&["encode", dir.join("nope.png").to_str().unwrap()]);
    assert_fails(&out, "nope.png");
    let broken = dir.join("broken.png");
    std::fs::write(&broken, b"\x89PNG\r\n\x1a\n not really").unwrap();
    let out = vaec(&["encode", broken.to_str().unwrap()]);
    assert_fails(&out, "broken.png");
    assert!(!dir.join("broken.vaec").exists());
}

#[test]
fn a_wrong_weight_file_names_the_problem() {
    let dir = scratch("weights");
    let weights = dir.join("w.safetensors");
    std::fs::write(&weights, b"not a weight file").unwrap();
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data_crop.png");
    let output = dir.join("out.vaec");
    let out = vaec(&[
        "--weights",
        weights.to_str().unwrap(),
        "encode",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ]);
    assert_fails(&out, "weight file");
    assert!(!output.exists());
}

#[test]
fn round_trip_refuses_to_overwrite_without_force() {
    let dir = scratch("roundtrip");
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data_crop.png");
    let coded = dir.join("crop.vaec");
    let out = vaec(&[
        "encode",
        input.to_str().unwrap(),
        "-o",
        coded.to_str().unwrap(),
        "--psnr",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("bpp") && stdout.contains("PSNR"),
        "{stdout}"
    );
    let before = std::fs::read(&coded).unwrap();

    let out = vaec(&[
        "encode",
        input.to_str().unwrap(),
        "-o",
        coded.to_str().unwrap(),
        "--quality",
        "8",
    ]);
    assert_fails(&out, "--force");
    assert_eq!(
        std::fs::read(&coded).unwrap(),
        before,
        "the existing file changed"
    );

    let decoded = dir.join("crop.png");
    let out = vaec(&[
        "decode",
        coded.to_str().unwrap(),
        "-o",
        decoded.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let img = image::open(&decoded).unwrap();
    assert_eq!((img.width(), img.height()), (64, 64));

    let out = vaec(&["info", coded.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("64x64"));
    // no temporary files left behind
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn batch_mode_reports_bad_files_and_goes_on() {
    let dir = scratch("batch");
    let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data_crop.png");
    let bad = dir.join("bad.png");
    std::fs::write(&bad, b"garbage").unwrap();
    let outdir = dir.join("out");
    let out = vaec(&[
        "encode",
        bad.to_str().unwrap(),
        good.to_str().unwrap(),
        "-o",
        outdir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        outdir.join("data_crop.vaec").exists(),
        "the good file was not encoded"
    );
    assert!(!outdir.join("bad.vaec").exists());
}
