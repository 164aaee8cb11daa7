"""Tests of speakers, eSpeak synthesis, Kaldi data dirs and the corpus CLI."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from synth_corpus import make
from synth_corpus.kaldi import read_kaldi_file, validate_data_dir
from synth_corpus.speakers import (SpeakerConfig, english_voices,
                                               split_speakers, split_variants,
                                               voice_variants)
from synth_corpus.synth import (SAMPLE_RATE, Augmentation, add_noise,
                                            render, speed_perturb, trim_silence)
from synth_corpus.sentences import generate_sentences

SPLITS = ("train", "dev", "test")
BASE_ARGS = ["--train_hours", "0.004", "--dev_utts", "5", "--test_utts", "6",
             "--seed", "3", "--utts_per_spk", "2", "--log_level", "INFO"]


# -- speakers ----------------------------------------------------------------


def test_english_voices_and_variants_discovered():
    voices = english_voices()
    assert {"en", "en-us", "en-gb-x-rp", "en-gb-scotland", "en-029"} <= set(voices)
    assert all(v.startswith("en") for v in voices)
    names = {v.name for v in voice_variants()}
    assert {"m1", "m3", "f1", "f5", "klatt"} <= names
    assert "whisper" not in names and "fast" not in names
    assert all(re.fullmatch(r"[A-Za-z0-9]+", n) for n in names)


def test_variant_split_disjoint_and_deterministic():
    variants = voice_variants()
    split = split_variants(variants, seed=0)
    assert split == split_variants(list(reversed(variants)), seed=0)
    assert split != split_variants(variants, seed=1)
    train, dev, test = (set(split[s]) for s in SPLITS)
    assert not (train & dev) and not (train & test) and not (dev & test)
    assert train | dev | test == {v.name for v in variants}
    assert len(train) > len(dev) > 0 and len(test) > 0


def test_speaker_split_disjoint_with_unseen_test_variants():
    speakers = split_speakers({"train": 200, "dev": 30, "test": 30}, seed=0)
    ids = {s: {spk.speaker_id for spk in speakers[s]} for s in SPLITS}
    assert all(len(ids[s]) == len(speakers[s]) for s in SPLITS)  # distinct
    assert not (ids["train"] & ids["dev"]) and not (ids["train"] & ids["test"])
    assert not (ids["dev"] & ids["test"])
    train_variants = {spk.variant for spk in speakers["train"]}
    assert not train_variants & {spk.variant for spk in speakers["test"]}
    assert not train_variants & {spk.variant for spk in speakers["dev"]}
    assert speakers == split_speakers({"train": 200, "dev": 30, "test": 30}, seed=0)
    # prosody is drawn per speaker
    assert len({spk.rate for spk in speakers["train"]}) > 20
    assert len({spk.pitch for spk in speakers["train"]}) > 20
    # ids round-trip and no id is a prefix of another (Kaldi sort order)
    all_ids = sorted(set().union(*ids.values()))
    for spk_id in all_ids:
        assert SpeakerConfig.from_speaker_id(spk_id).speaker_id == spk_id
    for a, b in zip(all_ids, all_ids[1:]):
        assert not b.startswith(a)


# -- signal processing and synthesis -------------------------------------------


def test_signal_helpers():
    rng = np.random.default_rng(0)
    x = np.zeros(16000, dtype=np.float32)
    x[4000:12000] = 0.5 * np.sin(np.arange(8000) / 5)
    trimmed = trim_silence(x, 16000, margin_s=0.0)
    assert 7900 <= trimmed.size <= 8200
    assert speed_perturb(x, 1.1).size == pytest.approx(x.size / 1.1, abs=2)
    assert speed_perturb(x, 0.9).size == pytest.approx(x.size / 0.9, abs=2)
    noisy = add_noise(x, 20.0, rng, "pink", reference=x[4000:12000])
    noise = noisy - x
    snr = 10 * np.log10(np.mean(x[4000:12000] ** 2) / np.mean(noise**2))
    assert snr == pytest.approx(20.0, abs=0.5)


def test_render_duration_grows_with_words_and_speed():
    speaker = SpeakerConfig("en-us", "m3", 170, 50, 80)
    texts = generate_sentences(20, seed=5)
    aug = Augmentation(lead_s=0.1, trail_s=0.1, snr_db=None)
    durations, words = [], []
    for text in texts:
        audio = render(text, speaker, aug)
        assert audio.dtype == np.float32 and np.max(np.abs(audio)) > 0.05
        durations.append(audio.size / SAMPLE_RATE)
        words.append(len(text.split()))
    assert np.corrcoef(words, durations)[0, 1] > 0.8
    faster = render(texts[0], speaker, Augmentation(speed=1.1, snr_db=None))
    slower = render(texts[0], speaker, Augmentation(speed=0.9, snr_db=None))
    assert slower.size > faster.size * 1.15


# -- corpus building (Kaldi data dirs) -----------------------------------------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    make.main(["--out_dir", str(out), "--nj", "2", *BASE_ARGS])
    return out


def test_data_dirs_complete_sorted_and_consistent(corpus):
    for split in SPLITS:
        data_dir = corpus / "data" / split
        n = validate_data_dir(data_dir, check_audio=True, sample_rate=SAMPLE_RATE)
        expected = {"dev": 5, "test": 6}.get(split)
        assert n == expected if expected else n >= 2
        keys = {}
        for name in ("wav.scp", "text", "utt2spk", "utt2dur"):
            pairs = read_kaldi_file(data_dir / name)
            keys[name] = [k for k, _ in pairs]
            assert keys[name] == sorted(keys[name])
        assert keys["wav.scp"] == keys["text"] == keys["utt2spk"] == keys["utt2dur"]
        spk2utt = dict(read_kaldi_file(data_dir / "spk2utt"))
        assert list(spk2utt) == sorted(spk2utt)
        for utt, spk in read_kaldi_file(data_dir / "utt2spk"):
            assert utt.startswith(spk + "-") and utt in spk2utt[spk].split()
        for utt, text in read_kaldi_file(data_dir / "text"):
            assert re.fullmatch(r"[a-z']+( [a-z']+)*", text)
            assert 3 <= len(text.split()) <= 20


def test_wavs_are_16k_16bit_mono_nonsilent(corpus):
    for split in SPLITS:
        for utt, path in read_kaldi_file(corpus / "data" / split / "wav.scp"):
            path = Path(path)
            assert path.is_absolute() and path.is_relative_to(corpus / "wav" / split)
            info = soundfile.info(str(path))
            assert (info.samplerate, info.channels, info.subtype) == (
                16000, 1, "PCM_16")
            audio, _ = soundfile.read(str(path), dtype="float32")
            assert 0.5 < audio.size / 16000 < 15
            assert np.sqrt(np.mean(audio**2)) > 0.01 and np.max(np.abs(audio)) > 0.1


def test_train_size_and_split_speakers(corpus):
    pairs = read_kaldi_file(corpus / "data/train/utt2dur")
    by_index = sorted(pairs, key=lambda kv: int(kv[0].rsplit("-", 1)[1]))
    assert [int(k.rsplit("-", 1)[1]) for k, _ in by_index] == list(range(len(pairs)))
    durations = [float(d) for _, d in by_index]
    # generation stops at the first utterance that reaches --train_hours
    assert sum(durations) >= 0.004 * 3600 > sum(durations[:-1])
    variants = {}
    for split in SPLITS:
        speakers = {s for _, s in read_kaldi_file(corpus / "data" / split / "utt2spk")}
        variants[split] = {SpeakerConfig.from_speaker_id(s).variant for s in speakers}
    assert not variants["train"] & variants["test"]
    assert not variants["train"] & variants["dev"]
    train_texts = {t for _, t in read_kaldi_file(corpus / "data/train/text")}
    for split in ("dev", "test"):
        held_out = {t for _, t in read_kaldi_file(corpus / "data" / split / "text")}
        assert not train_texts & held_out


def test_rerun_skips_refuses_and_overwrites(corpus, tmp_path, caplog, capsys):
    out = tmp_path / "copy"
    shutil.copytree(corpus, out)
    # the copy's wav.scp points at the original wavs: re-point it
    for split in SPLITS:
        scp = out / "data" / split / "wav.scp"
        scp.write_text(scp.read_text().replace(str(corpus), str(out)))
    done = out / "data" / "dev" / ".done"
    stamp = done.stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="synth_corpus.make"):
        make.main(["--out_dir", str(out), *BASE_ARGS])  # nj differs: still same
    assert done.stat().st_mtime_ns == stamp
    assert sum("skipping" in r.getMessage() for r in caplog.records) == 3

    changed = [*BASE_ARGS, "--train_hours", "0.005"]
    with pytest.raises(SystemExit) as err:
        make.main(["--out_dir", str(out), *changed])
    assert "--overwrite" in str(err.value) and "train_hours" in str(err.value)
    assert json.loads((out / "data/train/.done").read_text())["params"][
        "train_hours"] == 0.004

    make.main(["--out_dir", str(out), *changed, "--overwrite"])
    assert json.loads((out / "data/train/.done").read_text())["params"][
        "train_hours"] == 0.005
    assert done.stat().st_mtime_ns == stamp  # dev untouched
    validate_data_dir(out / "data" / "train", check_audio=True)


def test_interrupted_split_resumes(corpus, tmp_path):
    out = tmp_path / "resume"
    shutil.copytree(corpus, out)
    data_dir = out / "data" / "test"
    wavs = sorted((out / "wav" / "test").rglob("*.wav"))
    reference = {p.name: p.read_bytes() for p in wavs}
    (data_dir / ".done").rename(data_dir / ".in_progress")  # simulate a crash
    (data_dir / "wav.scp").unlink()
    wavs[0].unlink()
    kept_stamp = wavs[-1].stat().st_mtime_ns
    make.main(["--out_dir", str(out), *BASE_ARGS])
    assert (data_dir / ".done").is_file() and not (data_dir / ".in_progress").exists()
    assert validate_data_dir(data_dir, check_audio=True) == 6
    # the missing wav is re-synthesised bit-exactly, the others are reused
    assert {p.name: p.read_bytes() for p in wavs} == reference
    assert wavs[-1].stat().st_mtime_ns == kept_stamp


def test_foreign_directory_is_not_overwritten(tmp_path):
    (tmp_path / "data" / "dev").mkdir(parents=True)
    (tmp_path / "data" / "dev" / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit) as err:
        make.main(["--out_dir", str(tmp_path), *BASE_ARGS])
    assert "not written by this tool" in str(err.value)
    assert (tmp_path / "data" / "dev" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("bad, message", [
    (["--train_hours", "0"], "--train_hours must be in (0, 10000]"),
    (["--dev_utts", "0"], "--dev_utts must be in [1, 1000000]"),
    (["--nj", "0"], "--nj must be in [1, 256]"),
    (["--min_words", "9", "--max_words", "4"], "--max_words must be in"),
])
def test_invalid_arguments(tmp_path, capsys, bad, message):
    with pytest.raises(SystemExit) as err:
        make.main(["--out_dir", str(tmp_path), *BASE_ARGS, *bad])
    assert err.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "data").exists()
