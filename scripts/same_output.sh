#!/usr/bin/env bash
# Shows that a change leaves the codec's output alone: builds BASE (a commit) and the working tree,
# encodes every Kodak picture at qualities 1, 4 and 8, the bundled sample and the test crop the fuzz
# seeds are made from with both, compares the files byte for byte, decodes every file and the fuzz
# seeds with both and compares the pixels, then times both with `vaec-gpu bench` in one run.
#
#     scripts/same_output.sh BASE [KODAK_DIR]        # e.g. scripts/same_output.sh 6d59a1f
#
# PAUSE_PIDS="1234 5678" pauses those processes (a training run, say) while the speed is measured.
set -euo pipefail
base=${1:?usage: scripts/same_output.sh BASE [KODAK_DIR]}
root=$(cd "$(dirname "$0")/.." && pwd)
kodak=${2:-$root/../shared/data/kodak}
work=$(mktemp -d)
trap 'for pid in ${PAUSE_PIDS:-}; do kill -CONT "$pid" 2>/dev/null; done; git -C "$root" worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$work}

echo "== building $base and the working tree (release)"
git -C "$root" worktree add --detach "$work/base" "$base" >/dev/null
# one target folder: the dependencies are built once
(cd "$work/base" && CARGO_TARGET_DIR="$root/target" cargo build --release -q)
cp "$root/target/release/vaec-gpu" "$work/vaec-old"
(cd "$root" && cargo build --release -q)
cp "$root/target/release/vaec-gpu" "$work/vaec-new"

pictures=("$root/examples/data/seeding.png" "$root/tests/data_crop.png" "$kodak"/*.png)
mkdir -p "$work/in"
for p in "${pictures[@]}"; do cp "$p" "$work/in/"; done
differ=0
for bin in old new; do
    for q in 1 4 8; do
        "$work/vaec-$bin" encode "$work/in" -o "$work/$bin/q$q" --quality $q >/dev/null
    done
done
files=0
for q in 1 4 8; do
    for f in "$work/old/q$q"/*.vaec; do
        name=$(basename "$f")
        files=$((files + 1))
        cmp -s "$f" "$work/new/q$q/$name" || { echo "DIFFERENT file: q$q $name"; differ=1; }
    done
done
echo "files: $files compared ($((files / 3)) pictures x 3 qualities)"

echo "== decoding every file and the fuzz seeds with both"
mkdir -p "$work/vaec"
for q in 1 4 8; do
    for f in "$work/old/q$q"/*.vaec; do cp "$f" "$work/vaec/q${q}_$(basename "$f")"; done
done
for f in "$root"/fuzz/seeds/decode/*.vaec; do cp "$f" "$work/vaec/seed_$(basename "$f")"; done
for bin in old new; do
    "$work/vaec-$bin" decode "$work/vaec" -o "$work/png_$bin" >/dev/null
done
decoded=0
for f in "$work/png_old"/*.png; do
    decoded=$((decoded + 1))
    cmp -s "$f" "$work/png_new/$(basename "$f")" || { echo "DIFFERENT pixels: $(basename "$f")"; differ=1; }
done
echo "decoded: $decoded files (PNG bytes compared)"

echo "== speed, one run: $base then the working tree, then again"
for pid in ${PAUSE_PIDS:-}; do kill -STOP "$pid"; done
for round in 1 2 3; do
    for bin in old new; do
        "$work/vaec-$bin" bench "$kodak/kodim23.png" --iterations 3 --json |
            python3 -c "import json, sys; r = json.load(sys.stdin); print('$bin', 'encode %.1f ms, decode %.1f ms' % (1e3 * r['encode_seconds'], 1e3 * r['decode_seconds']), r['adapter'])"
    done
done
for pid in ${PAUSE_PIDS:-}; do kill -CONT "$pid"; done
if [ $differ -ne 0 ]; then
    echo "same_output: the outputs differ"
    exit 1
fi
echo "same_output: identical files and pixels"
