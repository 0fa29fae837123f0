"""librosa's throughput on the same work as `cosound-ml bench`: load (decode
and resample to 22,050 Hz) and the 56 reference features, best of N rounds.
Prints seconds of audio per second. Run by bench/run.sh."""

import sys
import time

import librosa
import numpy as np


def features(path):
    y, sr = librosa.load(path, sr=22050, mono=True)
    seconds = librosa.get_duration(path=path)
    if y.size < 5 * sr:
        y = np.pad(y, (0, 5 * sr - y.size))
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20)
    np.concatenate(
        [
            mfcc.mean(axis=1),
            mfcc.std(axis=1),
            [librosa.feature.spectral_centroid(y=y, sr=sr).mean()],
            [librosa.feature.spectral_rolloff(y=y, sr=sr, roll_percent=0.85).mean()],
            [librosa.feature.spectral_flatness(y=y).mean()],
            [librosa.feature.zero_crossing_rate(y).mean()],
            librosa.feature.chroma_stft(y=y, sr=sr).mean(axis=1),
        ]
    )
    return seconds


def main():
    rounds, files = int(sys.argv[1]), sys.argv[2:]
    best, audio = float("inf"), 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        audio = sum(features(f) for f in files)
        best = min(best, time.perf_counter() - start)
    print(f"{audio / best:.1f}")


if __name__ == "__main__":
    main()
