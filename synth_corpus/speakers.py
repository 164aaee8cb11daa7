"""Synthetic speakers: eSpeak NG English voices x voice variants x prosody.

A speaker configuration combines

* an English *voice* (accent) shipped with eSpeak NG, discovered from the
  ``lang/`` tree of the bundled data (``en``, ``en-us``, ``en-gb-x-rp``,
  ``en-gb-scotland``, ``en-029``, ...);
* a *voice variant* (timbre: ``m1`` .. ``m8``, ``f1`` .. ``f5``, ``klatt``,
  ``iven``, ...), discovered from the files under ``voices/!v/``;
* a speaking rate (words per minute), a base pitch (0-100) and an amplitude
  (volume, 0-200), drawn per speaker.

Split policy (train/dev/test):

* The voice *variants* are partitioned into three disjoint groups, stratified
  by the gender declared in each variant file: about 70% train, 15% dev and
  15% test. Dev and test therefore both use timbres never heard in training
  (dev measures the same kind of generalisation that test measures, so it is
  a faithful model-selection set), and dev and test do not share variants
  either.
* The accents (voices) are shared by all splits: there are only a handful of
  them, and holding one out would make the test set mostly an accent test.
* Because the variant groups are disjoint, speaker configurations are
  disjoint across splits by construction.

A few variants are excluded: ``fast`` (an unstable test voice), the
whispering ones (no voicing at all) and any whose file name is not plain
alphanumeric (it could not be part of a Kaldi id). The accent ``en-shaw``
(Shavian alphabet) is excluded too.

Speaker ids look like ``en-us+m3_r170_p045_a080``; the fixed-width numeric
fields guarantee that no speaker id is a prefix of another one, so that
sorting utterance ids (``<speaker id>-<index>``) and speaker ids agree, as
Kaldi requires.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SPLITS: tuple[str, ...] = ("train", "dev", "test")

EXCLUDED_VOICES: frozenset[str] = frozenset({"en-shaw"})
EXCLUDED_VARIANTS: frozenset[str] = frozenset({"fast", "whisper", "whisperf"})

#: Ranges (inclusive) for the per-speaker prosody draws.
RATE_RANGE: tuple[int, int] = (130, 200)
PITCH_RANGE: tuple[int, int] = (25, 75)
AMPLITUDE_RANGE: tuple[int, int] = (60, 100)

_SAFE_NAME = re.compile(r"[A-Za-z0-9]+")


def espeak_data_path() -> Path:
    """Path of the ``espeak-ng-data`` directory bundled with ``espeakng_loader``."""
    import espeakng_loader

    return Path(espeakng_loader.get_data_path())


@dataclass(frozen=True, order=True)
class Variant:
    """A voice variant file under ``voices/!v/``.

    Attributes:
        name: File name, used as the ``+variant`` suffix of a voice name.
        gender: ``"male"``, ``"female"`` or ``"unknown"`` as declared in the
            file.
    """

    name: str
    gender: str


@dataclass(frozen=True, order=True)
class SpeakerConfig:
    """One synthetic speaker.

    Attributes:
        voice: eSpeak NG English voice (accent), e.g. ``"en-us"``.
        variant: Voice variant file name, e.g. ``"m3"``.
        rate: Speaking rate in words per minute.
        pitch: Base pitch, 0-100 (eSpeak's default is 50).
        amplitude: Volume, 0-200 (eSpeak's default is 100).
    """

    voice: str
    variant: str
    rate: int
    pitch: int
    amplitude: int

    @property
    def voice_name(self) -> str:
        """Name for ``espeak_SetVoiceByName``, e.g. ``"en-us+m3"``."""
        return f"{self.voice}+{self.variant}"

    @property
    def speaker_id(self) -> str:
        """Kaldi speaker id, e.g. ``"en-us+m3_r170_p045_a080"``."""
        return (f"{self.voice_name}_r{self.rate:03d}_p{self.pitch:03d}"
                f"_a{self.amplitude:03d}")

    @classmethod
    def from_speaker_id(cls, speaker_id: str) -> SpeakerConfig:
        """Inverse of :attr:`speaker_id`."""
        m = re.fullmatch(r"(.+)\+([A-Za-z0-9]+)_r(\d{3})_p(\d{3})_a(\d{3})",
                         speaker_id)
        if m is None:
            raise ValueError(f"not a speaker id: {speaker_id!r}")
        voice, variant, rate, pitch, amp = m.groups()
        return cls(voice, variant, int(rate), int(pitch), int(amp))


def _voice_language(path: Path) -> str | None:
    """First ``language`` code declared in an eSpeak voice file."""
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "language":
            return parts[1].lower()
    return None


@lru_cache(maxsize=8)
def _english_voices(data_path: str) -> tuple[str, ...]:
    lang_dir = Path(data_path) / "lang"
    voices = set()
    for path in lang_dir.rglob("*"):
        if not path.is_file() or not path.name.lower().startswith("en"):
            continue
        name = path.name.lower()
        language = _voice_language(path)
        if language is None or not language.startswith("en"):
            continue
        if name not in EXCLUDED_VOICES:
            voices.add(name)
    return tuple(sorted(voices))


def english_voices(data_path: str | Path | None = None) -> list[str]:
    """English voices (accents) available in the eSpeak NG data.

    Args:
        data_path: ``espeak-ng-data`` directory; defaults to the bundled one.

    Returns:
        Sorted lower-case voice names usable with ``espeak_SetVoiceByName``,
        e.g. ``["en", "en-029", "en-gb-scotland", ..., "en-us"]``.
    """
    return list(_english_voices(str(data_path or espeak_data_path())))


def _variant_gender(path: Path) -> str:
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].lower() == "gender":
            gender = parts[1].lower()
            return gender if gender in ("male", "female") else "unknown"
    return "unknown"


@lru_cache(maxsize=8)
def _voice_variants(data_path: str) -> tuple[Variant, ...]:
    variant_dir = Path(data_path) / "voices" / "!v"
    variants = []
    for path in sorted(variant_dir.iterdir()):
        if not path.is_file() or path.name in EXCLUDED_VARIANTS:
            continue
        if not _SAFE_NAME.fullmatch(path.name):
            continue
        variants.append(Variant(path.name, _variant_gender(path)))
    return tuple(variants)


def voice_variants(data_path: str | Path | None = None) -> list[Variant]:
    """Voice variants available in the eSpeak NG data (minus the excluded ones).

    Args:
        data_path: ``espeak-ng-data`` directory; defaults to the bundled one.

    Returns:
        Variants sorted by file name.
    """
    return list(_voice_variants(str(data_path or espeak_data_path())))


def split_variants(variants: list[Variant], seed: int = 0,
                   dev_fraction: float = 0.15,
                   test_fraction: float = 0.15) -> dict[str, list[str]]:
    """Partition voice variants into disjoint train/dev/test groups.

    The partition is stratified by gender and deterministic given ``seed``
    and the set of variants (the input order does not matter). Every gender
    group with at least three variants contributes at least one variant to
    dev and to test.

    Args:
        variants: Variants to split.
        seed: Seed of the shuffle.
        dev_fraction: Fraction of each gender group held out for dev.
        test_fraction: Fraction of each gender group held out for test.

    Returns:
        ``{"train": [...], "dev": [...], "test": [...]}``, sorted variant
        names.
    """
    if not (0 <= dev_fraction and 0 <= test_fraction
            and dev_fraction + test_fraction < 1):
        raise ValueError("need fractions >= 0 with dev + test < 1")
    rng = random.Random(f"variants-{seed}")
    groups: dict[str, list[str]] = {}
    for v in sorted(set(variants)):
        groups.setdefault(v.gender, []).append(v.name)
    out: dict[str, list[str]] = {split: [] for split in SPLITS}
    for gender in sorted(groups):
        names = groups[gender]
        rng.shuffle(names)
        n = len(names)
        n_test = round(n * test_fraction)
        n_dev = round(n * dev_fraction)
        if n >= 3:
            n_test = max(1, n_test) if test_fraction > 0 else 0
            n_dev = max(1, n_dev) if dev_fraction > 0 else 0
        out["test"] += names[:n_test]
        out["dev"] += names[n_test:n_test + n_dev]
        out["train"] += names[n_test + n_dev:]
    return {split: sorted(names) for split, names in out.items()}


def iter_speakers(split: str, seed: int = 0,
                  data_path: str | Path | None = None) -> Iterator[SpeakerConfig]:
    """Endless deterministic stream of distinct speakers for one split.

    Voices are drawn uniformly from all English voices, variants uniformly
    from the split's variant group, and rate/pitch/amplitude uniformly from
    :data:`RATE_RANGE`, :data:`PITCH_RANGE` and :data:`AMPLITUDE_RANGE`.

    Args:
        split: ``"train"``, ``"dev"`` or ``"test"``.
        seed: Seed of both the variant split and the draws.
        data_path: ``espeak-ng-data`` directory; defaults to the bundled one.

    Yields:
        Speaker configurations, never the same one twice.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    voices = english_voices(data_path)
    variants = split_variants(voice_variants(data_path), seed)[split]
    if not voices or not variants:
        raise RuntimeError(f"no eSpeak voices/variants available for {split}")
    rng = random.Random(f"speakers-{seed}-{split}")
    seen: set[SpeakerConfig] = set()
    while True:
        spk = SpeakerConfig(
            voice=rng.choice(voices),
            variant=rng.choice(variants),
            rate=rng.randint(*RATE_RANGE),
            pitch=rng.randint(*PITCH_RANGE),
            amplitude=rng.randint(*AMPLITUDE_RANGE),
        )
        if spk not in seen:
            seen.add(spk)
            yield spk


def split_speakers(counts: dict[str, int], seed: int = 0,
                   data_path: str | Path | None = None
                   ) -> dict[str, list[SpeakerConfig]]:
    """Draw disjoint speaker configurations for train, dev and test.

    Args:
        counts: Number of speakers per split, e.g.
            ``{"train": 100, "dev": 10, "test": 10}``.
        seed: Seed; the same seed gives the same speakers.
        data_path: ``espeak-ng-data`` directory; defaults to the bundled one.

    Returns:
        Speakers per split. Test (and dev) speakers only use voice variants
        that no train speaker uses.
    """
    out = {}
    for split, n in counts.items():
        stream = iter_speakers(split, seed, data_path)
        out[split] = [next(stream) for _ in range(n)]
    return out
