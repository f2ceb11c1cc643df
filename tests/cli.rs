//! The command line on bad input: a one-line error, a non-zero exit, no output file left behind,
//! and no existing file replaced without --force.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn vaec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vaec-gpu"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vaec-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn assert_fails(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected failure, stderr: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err}"
    );
    assert!(
        err.contains(needle),
        "stderr {err:?} does not mention {needle:?}"
    );
}

/// A header with a valid CRC that claims `w` x `h`.
fn header_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(b"VAEC");
    b.extend_from_slice(&[1, 0]);
    b.extend_from_slice(&(46u16 + 16 + 4).to_le_bytes());
    b.extend_from_slice(&[0; 16]);
    b.extend_from_slice(&w.to_le_bytes());
    b.extend_from_slice(&h.to_le_bytes());
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(&1024u16.to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&[0; 16]);
    let crc = crc32fast::hash(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b
}

#[test]
fn bad_vaec_files_fail_with_one_line() {
    let dir = scratch("bad");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "random.vaec",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
            "bad magic",
        ),
        ("empty.vaec", vec![], "bad magic"),
        (
            "png.vaec",
            std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data_crop.png"))
                .unwrap(),
            "bad magic",
        ),
        (
            "huge.vaec",
            header_claiming(100_000, 100_000),
            "width is 100000",
        ),
        ("wide.vaec", header_claiming(30_000, 30_000), "pixel count"),
    ];
    for (name, bytes, needle) in cases {
        let input = dir.join(name);
        std::fs::write(&input, bytes).unwrap();
        let output = dir.join(format!("{name}.png"));
        let out = vaec(&[
            "decode",
            input.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
        ]);
        assert_fails(&out, needle);
        assert!(!output.exists(), "{name}: an output was written");
    }
}

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
    let out = vaec(&["--weights", weights.to_str().unwrap(), "encode", "x.png"]);
    assert_fails(&out, "weight file");
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
