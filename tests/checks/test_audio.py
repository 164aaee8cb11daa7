"""Audio checks on real files: the shortest usable audio, sampling rates, wav.scp entries by problem."""

import numpy as np
import soundfile

from espnet_layerprune.checks.audio import min_samples, parse_fs, scan_wav_scp


def test_min_samples_follows_the_stft_and_the_subsampling():
    conf = {"n_fft": 400, "hop_length": 160}
    assert min_samples(conf, "conv2d") == 6 * 160  # 7 frames
    assert min_samples(conf, "conv2d6") > min_samples(conf, "conv2d")
    assert min_samples(conf, None) == 201  # reflection padding needs more than n_fft // 2


def test_sampling_rates_in_espnet_spelling():
    assert parse_fs("16k") == 16000 and parse_fs(8000) == 8000 and parse_fs(None) == 16000


def test_wav_scp_problems_are_sorted_by_kind(tmp_path):
    def wav(name, samples, rate=16000):
        path = tmp_path / f"{name}.wav"
        soundfile.write(path, np.zeros(samples, dtype=np.float32), rate)
        return path

    (tmp_path / "junk.wav").write_bytes(b"not audio")
    scp = tmp_path / "wav.scp"
    scp.write_text("\n".join([
        f"a {wav('a', 16000)}", f"b {wav('b', 0)}", f"c {wav('c', 8000, 8000)}",
        f"d {wav('d', 50)}", f"e {tmp_path / 'junk.wav'}", "f sox x.wav -t wav - |",
    ]) + "\n")
    found = scan_wav_scp(scp, fs=16000, min_len=100)
    assert [len(found[k]) for k in ("empty", "rate", "short", "unreadable")] == [1, 1, 1, 1]
    assert found["empty"][0].startswith("b ") and found["rate"][0] == "c (8000 Hz)"
    assert found["short"][0] == "d (50 samples)" and found["unreadable"][0].startswith("e ")
