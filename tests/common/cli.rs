//! Helpers for tests that run the vaec-gpu command line.

use std::path::PathBuf;
use std::process::{Command, Output};

pub fn vaec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vaec-gpu"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap()
}

pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vaec-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn assert_succeeds(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn assert_fails(out: &Output, needle: &str) {
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
pub fn header_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(b"VAEC");
    b.extend_from_slice(&[vaec_gpu::format::VERSION_SCALE, 0]);
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
