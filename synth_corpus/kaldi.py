"""Kaldi-style data directories (``wav.scp``, ``text``, ``utt2spk``, ...).

A data directory holds one line per utterance (or speaker) in each file,
sorted by key in C-locale (byte) order, as Kaldi and ESPnet require:

* ``wav.scp``: ``<utt-id> <absolute path of a 16 kHz 16-bit mono wav>``
* ``text``: ``<utt-id> <transcript>``
* ``utt2spk``: ``<utt-id> <speaker-id>``
* ``spk2utt``: ``<speaker-id> <utt-id> <utt-id> ...``
* ``utt2dur``: ``<utt-id> <duration in seconds>``

Utterance ids are the speaker id followed by ``-`` and an index
(:func:`utterance_id`), so sorting by utterance and by speaker agree.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

KALDI_FILES: tuple[str, ...] = ("wav.scp", "text", "utt2spk", "spk2utt",
                                "utt2dur")


@dataclass(frozen=True)
class DataDirEntry:
    """One entry of a data directory.

    Attributes:
        utt_id: Utterance id, ``<speaker_id>-<index>``.
        speaker_id: Speaker id.
        text: Transcript (words separated by single spaces).
        wav_path: Absolute path of the audio file.
        duration: Duration in seconds.
    """

    utt_id: str
    speaker_id: str
    text: str
    wav_path: Path
    duration: float


def utterance_id(speaker_id: str, index: int) -> str:
    """Kaldi utterance id: the speaker id, ``-``, a zero-padded index."""
    return f"{speaker_id}-{index:06d}"


def _sort_key(key: str) -> bytes:
    """C-locale sort order (what ``LC_ALL=C sort`` does)."""
    return key.encode("utf-8")


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int) -> None:
    """Write 16-bit mono PCM audio atomically (temporary file, then rename).

    Args:
        path: Destination ``.wav`` path; parent directories are created.
        samples: 1-D int16 samples (or floats in [-1, 1]).
        sample_rate: Sample rate in Hz.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    soundfile.write(tmp, np.asarray(samples), sample_rate, subtype="PCM_16",
                    format="WAV")
    os.replace(tmp, path)


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for line in lines:
            f.write(line + "\n")
    os.replace(tmp, path)


def write_data_dir(data_dir: str | Path, utterances: Iterable[DataDirEntry]) -> int:
    """Write a Kaldi data directory.

    Args:
        data_dir: Directory to write (created if needed).
        utterances: The utterances, in any order.

    Returns:
        Number of utterances written.

    Raises:
        ValueError: On duplicate utterance ids, ids or paths containing
            whitespace, an utterance id that does not start with its speaker
            id, or a relative wav path.
    """
    data_dir = Path(data_dir)
    utts = sorted(utterances, key=lambda u: _sort_key(u.utt_id))
    for prev, cur in zip(utts, utts[1:]):
        if prev.utt_id == cur.utt_id:
            raise ValueError(f"duplicate utterance id {cur.utt_id}")
    spk2utt: dict[str, list[str]] = {}
    for u in utts:
        for field in (u.utt_id, u.speaker_id, str(u.wav_path)):
            if not field or any(c.isspace() for c in field):
                raise ValueError(f"empty field or whitespace in {field!r}")
        if not u.utt_id.startswith(u.speaker_id + "-"):
            raise ValueError(f"utterance id {u.utt_id} does not start with "
                             f"its speaker id {u.speaker_id}-")
        if not Path(u.wav_path).is_absolute():
            raise ValueError(f"wav path must be absolute: {u.wav_path}")
        spk2utt.setdefault(u.speaker_id, []).append(u.utt_id)
    data_dir.mkdir(parents=True, exist_ok=True)
    _write_lines(data_dir / "wav.scp", (f"{u.utt_id} {u.wav_path}" for u in utts))
    _write_lines(data_dir / "text", (f"{u.utt_id} {u.text}" for u in utts))
    _write_lines(data_dir / "utt2spk", (f"{u.utt_id} {u.speaker_id}" for u in utts))
    _write_lines(data_dir / "utt2dur", (f"{u.utt_id} {u.duration:.4f}" for u in utts))
    _write_lines(data_dir / "spk2utt",
                 (f"{spk} {' '.join(spk2utt[spk])}"
                  for spk in sorted(spk2utt, key=_sort_key)))
    return len(utts)


def read_kaldi_file(path: str | Path) -> list[tuple[str, str]]:
    """Read a Kaldi ``<key> <value>`` file, keeping line order.

    Returns:
        ``(key, rest of the line)`` pairs; the rest may be empty.
    """
    pairs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                key, _, value = line.partition(" ")
                pairs.append((key, value))
    return pairs


def validate_data_dir(data_dir: str | Path, check_audio: bool = False,
                      sample_rate: int | None = None) -> int:
    """Check a data directory the way Kaldi's ``validate_data_dir.sh`` would.

    Checks that all files exist, are sorted in C order with unique keys,
    cover the same utterances, that ``spk2utt`` is the inverse of
    ``utt2spk``, that each utterance id starts with its speaker id, and that
    every wav file exists (and, with ``check_audio``, is 16-bit mono PCM at
    ``sample_rate`` whose length matches ``utt2dur``).

    Returns:
        Number of utterances.

    Raises:
        ValueError: Describing the first problem found.
    """
    data_dir = Path(data_dir)
    tables = {}
    for name in KALDI_FILES:
        path = data_dir / name
        if not path.is_file():
            raise ValueError(f"missing {path}")
        pairs = read_kaldi_file(path)
        keys = [k for k, _ in pairs]
        if keys != sorted(keys, key=_sort_key) or len(set(keys)) != len(keys):
            raise ValueError(f"{path} is not sorted with unique keys")
        tables[name] = dict(pairs)
    utts = list(tables["wav.scp"])
    for name in ("text", "utt2spk", "utt2dur"):
        if list(tables[name]) != utts:
            raise ValueError(f"{name} and wav.scp list different utterances")
    inverse: dict[str, list[str]] = {}
    for utt, spk in tables["utt2spk"].items():
        if not utt.startswith(spk + "-"):
            raise ValueError(f"utterance {utt} does not start with {spk}-")
        inverse.setdefault(spk, []).append(utt)
    spk2utt = {spk: value.split() for spk, value in tables["spk2utt"].items()}
    if spk2utt != inverse:
        raise ValueError("spk2utt is not the inverse of utt2spk")
    for utt, wav in tables["wav.scp"].items():
        path = Path(wav)
        if not path.is_absolute() or not path.is_file():
            raise ValueError(f"{utt}: wav file missing or not absolute: {wav}")
        if check_audio:
            info = soundfile.info(str(path))
            if (info.channels != 1 or info.subtype != "PCM_16"
                    or (sample_rate is not None
                        and info.samplerate != sample_rate)):
                raise ValueError(f"{utt}: {wav} is {info.samplerate} Hz, "
                                 f"{info.channels} channel(s), {info.subtype}")
            expected = float(tables["utt2dur"][utt])
            if abs(info.frames / info.samplerate - expected) > 1e-3:
                raise ValueError(f"{utt}: utt2dur says {expected} s but the "
                                 f"file lasts {info.duration} s")
    return len(utts)
