"""Reading a data directory the way ESPnet's data loader does.

Layer selection, analysis and calibration read a dev set that asr.sh prepared:
``dump/raw/dev`` with a ``wav.scp`` of wav or flac files, or of ``.ark`` entries
(``--audio_format flac.ark`` / ``wav.ark``), and a ``text``. The audio loader is
ESPnet's own (:data:`espnet2.train.dataset.DATA_TYPES`), picked as asr.sh picks
it, so the samples are exactly those the model saw in training.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import numpy as np

AUDIO_TYPES = ("sound", "kaldi_ark")


@dataclass(frozen=True)
class Utterance:
    """One utterance of a data directory: key, waveform and reference text."""

    key: str
    speech: np.ndarray
    text: str


def scp_entries(path) -> Iterator[Tuple[str, str]]:
    """``(key, value)`` of each line of a Kaldi two-column file, strictly.

    Raises:
        ValueError: A line without a value, naming the file and line.
    """
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            parts = line.strip().split(maxsplit=1)
            if not parts:
                continue
            if len(parts) != 2:
                raise ValueError(f"{path}:{n}: expected '<utterance id> <value>', got {line.strip()!r}")
            yield parts[0], parts[1]


def audio_type(wav_scp) -> str:
    """``kaldi_ark`` when ``wav.scp`` points into ``.ark`` files, else ``sound``."""
    for _, where in scp_entries(wav_scp):
        return "kaldi_ark" if ".ark:" in where else "sound"
    return "sound"


def load_utterances(
    data_dir, max_utts: Optional[int] = None, kind: Optional[str] = None
) -> List[Utterance]:
    """The first ``max_utts`` utterances of a data dir (``wav.scp`` and ``text``).

    Args:
        data_dir: Kaldi-style directory (``data/dev`` or asr.sh's ``dump/raw/dev``).
        max_utts: Keep the first N utterances (default: all).
        kind: ``sound`` or ``kaldi_ark``; default: from ``wav.scp``.

    Raises:
        FileNotFoundError: ``wav.scp`` or ``text`` is missing.
        ValueError: ``max_utts`` < 1, or no utterance has both audio and text.
    """
    from espnet2.fileio.read_text import read_2columns_text
    from espnet2.train.dataset import DATA_TYPES

    data_dir = Path(data_dir)
    for name in ("wav.scp", "text"):
        if not (data_dir / name).is_file():
            raise FileNotFoundError(f"--data {data_dir} has no {name} (a Kaldi data dir is needed)")
    if max_utts is not None and max_utts < 1:
        raise ValueError(f"--max_utts must be >= 1, got {max_utts}")
    kind = kind or audio_type(data_dir / "wav.scp")
    if kind not in AUDIO_TYPES:
        raise ValueError(f"audio type must be one of {AUDIO_TYPES}, got {kind!r}")
    texts = read_2columns_text(data_dir / "text")
    audio = DATA_TYPES[kind]["func"](str(data_dir / "wav.scp"), float_dtype="float32")
    keys = [k for k in texts if k in audio]
    if not keys:
        raise ValueError(
            f"dev set {data_dir} is empty: no utterance has both audio in wav.scp "
            "and a reference in text"
        )
    keys = keys[:max_utts] if max_utts else keys
    return [Utterance(k, np.asarray(audio[k], dtype=np.float32), texts[k]) for k in keys]
