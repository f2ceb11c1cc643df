//! Replays every committed fuzz regression input (fuzz/regressions/TARGET/*) and every seed in
//! fuzz/seeds/ through the fuzz target bodies: none may panic.

use std::path::Path;

#[test]
fn fuzz_regressions_replay_without_panics() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    type Target = fn(&[u8]);
    let targets: [(&str, Target); 3] = [
        ("container", vaec_gpu::fuzzing::container),
        ("rans", vaec_gpu::fuzzing::rans),
        ("decode", vaec_gpu::fuzzing::decode),
    ];
    let mut replayed = 0;
    for (name, target) in targets {
        for dir in [
            root.join("regressions").join(name),
            root.join("seeds").join(name),
        ] {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_file() {
                    target(&std::fs::read(&path).unwrap());
                    replayed += 1;
                }
            }
        }
    }
    eprintln!("replayed {replayed} inputs");
    assert!(replayed > 0, "no regression inputs or seeds found");
}
