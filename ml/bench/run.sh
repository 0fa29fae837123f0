#!/usr/bin/env bash
# Feature-extraction throughput, Rust vs librosa, on the same clips in the
# same run (single thread each): decode + resample to 22,050 Hz + the 56
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
rust_out=$("$CARGO_TARGET_DIR/release/cosound-ml" bench --rounds 3 "${files[@]}")
rust=$(head -n 1 <<<"$rust_out")
value() { awk -v k="$1" '$1 == k { print $2 }' <<<"$rust_out"; }
python=$(OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1 \
  "$venv/bin/python" "$here/librosa_bench.py" 3 "${files[@]}")
librosa_version=$("$venv/bin/python" -c 'import librosa; print(librosa.__version__)')

echo "${#files[@]} clips from $audio; seconds of audio analysed per second (best of 3)"
printf '| %-22s | %12s | %8s |\n' "implementation" "audio s / s" "speed-up"
printf '|%s|%s|%s|\n' "------------------------" "--------------" "----------"
printf '| %-22s | %12s | %8s |\n' "librosa $librosa_version" "$python" "1.0x"
printf '| %-22s | %12s | %7.1fx |\n' "cosound-ml (Rust)" "$rust" "$(awk -v r="$rust" -v p="$python" 'BEGIN { print r / p }')"

echo
echo "default model on a $(value clip_seconds) s clip of these files joined ($(value windows) windows of $(value window_seconds) s every $(value window_hop_seconds) s), from samples, ms (best of 15, steps taking turns)"
printf '| %-50s | %8s |\n' "step" "ms"
printf '|%s|%s|\n' "----------------------------------------------------" "----------"
printf '| %-50s | %8s |\n' "window features, each window's frames on its own" "$(value features_windows_alone_ms)"
printf '| %-50s | %8s |\n' "window features, frames shared by the windows" "$(value features_windows_shared_ms)"
printf '| %-50s | %8s |\n' "embedding (shared frames, scores)" "$(value embedding_ms)"
