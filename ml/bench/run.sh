#!/usr/bin/env bash
# Feature-extraction throughput, Rust vs librosa, on the same clips in the
# same run, taking turns (single thread each): decode + resample to 22,050 Hz + the 56
# reference features. librosa goes into a throwaway venv under
# .cosound/ (git-ignored by the repo, never committed). Then the default
# model's cost on a 60 s clip, with the same-run baseline of computing each
# window's frame values on its own.
#
# Usage: ml/bench/run.sh [AUDIO_DIR]   (default: esc50-dev's audio)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
audio="${1:-${COSOUND_SHARED_DATA:-$repo/../shared/data}/esc50-dev/audio}"
[ -d "$audio" ] || { echo "no audio folder at $audio (pass one, or set COSOUND_SHARED_DATA)" >&2; exit 1; }
mapfile -t files < <(find "$audio" -maxdepth 1 -name '*.wav' | sort)
[ "${#files[@]}" -gt 0 ] || { echo "no .wav files in $audio" >&2; exit 1; }

venv="$repo/.cosound/librosa-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import librosa' 2>/dev/null; then
  echo "installing librosa into $venv ..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet librosa
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
cargo build --quiet --release -p cosound-ml --manifest-path "$repo/Cargo.toml"
ml="$CARGO_TARGET_DIR/release/cosound-ml"
librosa() {
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1 \
    "$venv/bin/python" "$here/librosa_bench.py" 3 "${files[@]}"
}
librosa_version=$("$venv/bin/python" -c 'import librosa; print(librosa.__version__)')

# The two take turns: throughput on this machine drifts by tens of percent
# over minutes, and a ratio of figures taken minutes apart would carry that
# drift. Each turn is the best of 3 passes for librosa and of 10 for
# cosound-ml, whose passes are twenty times shorter (so that a moment of
# load cannot hit every one of them).
turns=${COSOUND_BENCH_TURNS:-9}
ratios=()
echo "${#files[@]} clips from $audio; seconds of audio analysed per second (per turn: best of 3 passes for librosa, 10 for cosound-ml)"
printf '| %-6s | %-22s | %-22s | %8s |\n' "turn" "librosa $librosa_version" "cosound-ml (Rust)" "speed-up"
printf '|%s|%s|%s|%s|\n' "--------" "------------------------" "------------------------" "----------"
for turn in $(seq "$turns"); do
  python=$(librosa)
  rust=$("$ml" bench --rounds 10 --throughput-only "${files[@]}")
  ratio=$(awk -v r="$rust" -v p="$python" 'BEGIN { printf "%.1f", r / p }')
  ratios+=("$ratio")
  printf '| %-6s | %22s | %22s | %7sx |\n' "$turn" "$python" "$rust" "$ratio"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
printf '| %-6s | %22s | %22s | %7sx |\n' "median" "" "" "$median"

rust_out=$("$ml" bench --rounds 3 "${files[@]}")
value() { awk -v k="$1" '$1 == k { print $2 }' <<<"$rust_out"; }
echo
echo "default model on a $(value clip_seconds) s clip of these files joined ($(value windows) windows of $(value window_seconds) s every $(value window_hop_seconds) s), from samples, ms (best of 15, steps taking turns)"
printf '| %-50s | %8s |\n' "step" "ms"
printf '|%s|%s|\n' "----------------------------------------------------" "----------"
printf '| %-50s | %8s |\n' "window features, each window's frames on its own" "$(value features_windows_alone_ms)"
printf '| %-50s | %8s |\n' "window features, frames shared by the windows" "$(value features_windows_shared_ms)"
printf '| %-50s | %8s |\n' "embedding (shared frames, scores)" "$(value embedding_ms)"
