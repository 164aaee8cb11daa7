"""Build the synthetic English speech corpus as Kaldi data directories.

Usage::

    python -m synth_corpus.make --out_dir DIR --train_hours 0.5 \\
        --dev_utts 200 --test_utts 300 --seed 0 [--nj 4]

writes ``DIR/data/{train,dev,test}/{wav.scp,text,utt2spk,spk2utt,utt2dur}``
and ``DIR/wav/<split>/<speaker>/<utt>.wav`` (16 kHz, 16-bit, mono).

* Train utterances are generated until their total duration reaches
  ``--train_hours``; dev and test have a fixed number of utterances. Train
  sentences never repeat a dev or test sentence.
* Speakers follow :mod:`synth_corpus.speakers`: dev and test use
  voice variants never used in training. Each speaker says
  ``--utts_per_spk`` consecutive utterances.
* Augmentation: every split gets light additive noise (``--snr_range``);
  train also gets speed perturbation (``--speed_range``).
* The output is a deterministic function of the parameters, whatever
  ``--nj``: utterances are synthesised in fixed blocks, each in a freshly
  forked process (eSpeak keeps state between utterances).
* Resumable and careful: a finished split has a ``.done`` marker holding a
  hash of its parameters; re-running with the same parameters skips it, with
  different ones refuses unless ``--overwrite``. An interrupted split keeps
  an ``.in_progress`` marker, and a re-run with the same parameters reuses the
  wav files already written.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import logging
import multiprocessing
import multiprocessing.connection
import shutil
import sys
import time
import traceback
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import count, islice
from pathlib import Path

import numpy as np
import soundfile

from synth_corpus.kaldi import (DataDirEntry, utterance_id,
                                            write_data_dir, write_wav)
from synth_corpus.speakers import SPLITS, SpeakerConfig, iter_speakers
from synth_corpus.synth import (SAMPLE_RATE, Augmentation,
                                            draw_augmentation, render, to_int16)
from synth_corpus.sentences import iter_sentences

logger = logging.getLogger("synth_corpus.make")

#: Bump when a change makes old corpora differ from what this code builds.
FORMAT_VERSION = 1
#: Utterances synthesised per worker process (fixed: part of reproducibility).
BLOCK_SIZE = 16
DONE_MARKER = ".done"
PROGRESS_MARKER = ".in_progress"


# --------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class UttSpec:
    """Everything needed to synthesise one utterance."""

    utt_id: str
    text: str
    speaker: SpeakerConfig
    augmentation: Augmentation
    wav_path: Path


def derive_seed(*parts: object) -> int:
    """A 63-bit seed derived from any printable parts (stable across runs)."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def split_sentences(split: str, seed: int, min_words: int,
                    max_words: int, list_size: int | None = None) -> Iterator[str]:
    """The sentence stream of one split."""
    return iter_sentences(derive_seed(seed, split, "text"), min_words, max_words, list_size)


def plan_split(split: str, args: argparse.Namespace, wav_dir: Path,
               exclude_texts: frozenset[str] = frozenset()) -> Iterator[UttSpec]:
    """Endless deterministic stream of utterance specifications for a split.

    Args:
        split: ``"train"``, ``"dev"`` or ``"test"``.
        args: Parsed command-line arguments.
        wav_dir: Directory of this split's wav files.
        exclude_texts: Sentences to skip (other splits' sentences).
    """
    texts = split_sentences(split, args.seed, args.min_words, args.max_words, args.word_list_size)
    speakers = iter_speakers(split, args.seed)
    speed_range = tuple(args.speed_range) if split == "train" else None
    snr_range = None if args.no_noise else tuple(args.snr_range)
    speaker = None
    for index in count():
        if index % args.utts_per_spk == 0:
            speaker = next(speakers)
        text = next(texts)
        while text in exclude_texts:
            text = next(texts)
        rng = np.random.default_rng(derive_seed(args.seed, split, "aug", index))
        aug = draw_augmentation(rng, speed_range, snr_range)
        utt_id = utterance_id(speaker.speaker_id, index)
        yield UttSpec(utt_id, text, speaker, aug,
                      wav_dir / speaker.speaker_id / f"{utt_id}.wav")


def split_params(split: str, args: argparse.Namespace) -> dict:
    """The parameters a split's content depends on (not ``--nj``)."""
    params = {
        "format_version": FORMAT_VERSION,
        "split": split,
        "seed": args.seed,
        "min_words": args.min_words,
        "max_words": args.max_words,
        "utts_per_spk": args.utts_per_spk,
        "snr_range": None if args.no_noise else list(args.snr_range),
        "sample_rate": SAMPLE_RATE,
    }
    if args.word_list_size is not None:  # absent for the full vocabulary: older corpora stay valid
        params["word_list_size"] = args.word_list_size
    if split == "train":
        params.update(train_hours=args.train_hours,
                      speed_range=list(args.speed_range),
                      # train sentences exclude the dev and test sentences
                      dev_utts=args.dev_utts, test_utts=args.test_utts)
    else:
        params["num_utts"] = getattr(args, f"{split}_utts")
    return params


def params_hash(params: dict) -> str:
    """Short stable hash of a parameter dictionary."""
    blob = json.dumps(params, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


# --------------------------------------------------------------------------
# Synthesis in forked worker processes
# --------------------------------------------------------------------------


def _existing_frames(path: Path) -> int | None:
    """Length of an already written, readable 16 kHz wav file, else None."""
    if not path.is_file():
        return None
    try:
        info = soundfile.info(str(path))
    except RuntimeError:
        return None
    if info.samplerate != SAMPLE_RATE or info.frames == 0:
        return None
    return int(info.frames)


def _synthesize_block(specs: Sequence[UttSpec],
                      resume: bool = False) -> list[tuple[str, int]]:
    """Synthesise and write a block; with ``resume``, keep existing wavs.

    Existing wavs are still synthesised (and discarded) so that eSpeak's
    internal state for the following utterances is what it was originally.
    """
    results = []
    for spec in specs:
        audio = to_int16(render(spec.text, spec.speaker, spec.augmentation))
        frames = _existing_frames(spec.wav_path) if resume else None
        if frames is None:
            write_wav(spec.wav_path, audio, SAMPLE_RATE)
            frames = int(audio.size)
        results.append((spec.utt_id, frames))
    return results


def _block_worker(specs: Sequence[UttSpec], resume: bool,
                  conn: multiprocessing.connection.Connection) -> None:
    try:
        conn.send(("ok", _synthesize_block(specs, resume)))
    except BaseException:  # report everything to the parent
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


def _existing_block(specs: Sequence[UttSpec]) -> list[tuple[str, int]] | None:
    """Sample counts of a block whose wavs all exist already (resume), else None."""
    results = []
    for spec in specs:
        frames = _existing_frames(spec.wav_path)
        if frames is None:
            return None
        results.append((spec.utt_id, frames))
    return results


def run_blocks(blocks: Iterator[list[UttSpec]], nj: int, resume: bool = False
               ) -> Iterator[list[tuple[str, int]]]:
    """Synthesise blocks of utterances with ``nj`` processes, yielding in order.

    Each block runs in a new process forked from this one, so that eSpeak
    starts from the same state for every block and the output does not
    depend on ``nj``. Where ``fork`` is unavailable, blocks run in this
    process (identical up to eSpeak's small sample-level state effects).

    Args:
        blocks: Blocks of utterance specifications (may be endless; stop
            consuming the generator to stop, running workers are killed).
        nj: Number of worker processes.
        resume: Reuse the wav files already on disk (a complete block is
            not synthesised at all; a partial one only writes its missing
            files).

    Yields:
        For each block, in order, ``(utt_id, num_samples)`` per utterance.
    """
    if "fork" not in multiprocessing.get_all_start_methods():
        for block in blocks:
            yield (resume and _existing_block(block)) or _synthesize_block(
                block, resume)
        return
    ctx = multiprocessing.get_context("fork")
    running: dict[int, tuple[multiprocessing.process.BaseProcess,
                             multiprocessing.connection.Connection]] = {}
    finished: dict[int, list[tuple[str, int]]] = {}
    next_index = next_yield = 0
    exhausted = False
    try:
        while True:
            while (not exhausted and len(running) < nj
                   and next_index - next_yield < 4 * nj):
                block = next(blocks, None)
                if block is None:
                    exhausted = True
                    break
                cached = _existing_block(block) if resume else None
                if cached is not None:
                    finished[next_index] = cached
                else:
                    reader, writer = ctx.Pipe(duplex=False)
                    proc = ctx.Process(target=_block_worker,
                                       args=(block, resume, writer), daemon=True)
                    with warnings.catch_warnings():
                        # Importing the package starts idle native (BLAS)
                        # threads; the child only runs eSpeak, scipy's
                        # resampling and soundfile, none of which touch them.
                        warnings.filterwarnings(
                            "ignore", message=".*multi-threaded.*fork",
                            category=DeprecationWarning)
                        proc.start()
                    writer.close()
                    running[next_index] = (proc, reader)
                next_index += 1
            while next_yield in finished:
                yield finished.pop(next_yield)
                next_yield += 1
            if not running:
                if exhausted:
                    return
                continue
            ready = multiprocessing.connection.wait(
                [reader for _, reader in running.values()])
            for index, (proc, reader) in list(running.items()):
                if reader not in ready:
                    continue
                try:
                    status, payload = reader.recv()
                except EOFError:
                    proc.join()
                    status, payload = "error", f"worker exited with {proc.exitcode}"
                proc.join()
                reader.close()
                del running[index]
                if status != "ok":
                    raise RuntimeError(f"synthesis of block {index} failed:\n{payload}")
                finished[index] = payload
    finally:
        for proc, reader in running.values():
            proc.terminate()
            proc.join()
            reader.close()


def _blocks(specs: Iterator[UttSpec]) -> Iterator[list[UttSpec]]:
    while block := list(islice(specs, BLOCK_SIZE)):
        yield block


# --------------------------------------------------------------------------
# Building one split
# --------------------------------------------------------------------------


class ParameterConflict(RuntimeError):
    """An output directory exists with different or unknown content."""


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def split_state(data_dir: Path, wav_dir: Path, params: dict) -> str:
    """What to do with a split: ``"done"``, ``"resume"`` or ``"build"``.

    Raises:
        ParameterConflict: If the split exists with other parameters, or
            with content this tool did not write.
    """
    digest = params_hash(params)
    for marker_name, what in ((DONE_MARKER, "was built"),
                              (PROGRESS_MARKER, "was partly built")):
        marker = _read_json(data_dir / marker_name)
        if marker is None:
            continue
        if marker.get("params_hash") == digest:
            return "done" if marker_name == DONE_MARKER else "resume"
        old = marker.get("params", {})
        diff = ", ".join(f"{k}: {old.get(k)!r} -> {params.get(k)!r}"
                         for k in sorted(set(old) | set(params))
                         if old.get(k) != params.get(k))
        raise ParameterConflict(
            f"{data_dir} {what} with different parameters ({diff or 'unknown'})")
    for path in (data_dir, wav_dir):
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise ParameterConflict(
                f"{path} exists and was not written by this tool")
    return "build"


def _espeak_version() -> str:
    """Version of the eSpeak NG wheel (recorded, not part of the hash)."""
    try:
        return importlib.metadata.version("espeakng-loader")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _write_marker(path: Path, params: dict, **extra: object) -> None:
    record = {"params_hash": params_hash(params), "params": params, **extra}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)


class _Progress:
    """Logs a line every 10% of a target, with elapsed time."""

    def __init__(self, split: str, target: float):
        self.split, self.target = split, target
        self.start = time.monotonic()
        self.next_tenth = 1

    def update(self, value: float, n_utts: int, seconds: float) -> None:
        while self.next_tenth <= 10 and value >= self.target * self.next_tenth / 10:
            elapsed = time.monotonic() - self.start
            logger.info("%s: %3d%% (%d utts, %.3f h of audio) after %.1f s, "
                        "%.0fx real time", self.split, self.next_tenth * 10,
                        n_utts, seconds / 3600, elapsed,
                        seconds / max(elapsed, 1e-9))
            self.next_tenth += 1


def build_split(split: str, args: argparse.Namespace, out_dir: Path,
                exclude_texts: frozenset[str], state: str) -> dict:
    """Synthesise one split and write its data directory.

    Returns:
        Statistics: ``{"num_utts": ..., "hours": ...}``.
    """
    data_dir, wav_dir = out_dir / "data" / split, out_dir / "wav" / split
    params = split_params(split, args)
    if state != "resume":
        for path in (data_dir, wav_dir):
            if path.exists():
                shutil.rmtree(path)
    data_dir.mkdir(parents=True, exist_ok=True)
    wav_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / DONE_MARKER).unlink(missing_ok=True)
    _write_marker(data_dir / PROGRESS_MARKER, params)

    specs = plan_split(split, args, wav_dir, exclude_texts)
    if split == "train":
        target_s = args.train_hours * 3600.0
        progress = _Progress(split, target_s)
    else:
        target_n = getattr(args, f"{split}_utts")
        specs = islice(specs, target_n)
        progress = _Progress(split, target_n)
    planned: dict[str, UttSpec] = {}

    def remember(stream: Iterator[UttSpec]) -> Iterator[UttSpec]:
        for spec in stream:
            planned[spec.utt_id] = spec
            yield spec

    kept: list[DataDirEntry] = []
    total_s = 0.0
    results = run_blocks(_blocks(remember(specs)), args.nj, resume=state == "resume")
    try:
        for block in results:
            for utt_id, n_samples in block:
                spec = planned.pop(utt_id)
                duration = n_samples / SAMPLE_RATE
                kept.append(DataDirEntry(utt_id, spec.speaker.speaker_id, spec.text,
                                      spec.wav_path.resolve(), duration))
                total_s += duration
                if split == "train":
                    progress.update(total_s, len(kept), total_s)
                    if total_s >= target_s:
                        break
                else:
                    progress.update(len(kept), len(kept), total_s)
            if split == "train" and total_s >= target_s:
                break
    finally:
        results.close()  # stops the workers still running

    # Remove wavs synthesised past the target (and stale temporary files).
    keep = {u.wav_path for u in kept}
    for path in wav_dir.rglob("*"):
        if path.is_file() and path.resolve() not in keep:
            path.unlink()
    for path in sorted(wav_dir.glob("*"), reverse=True):
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()

    write_data_dir(data_dir, kept)
    stats = {"num_utts": len(kept), "hours": total_s / 3600}
    _write_marker(data_dir / DONE_MARKER, params, **stats,
                  espeakng_loader=_espeak_version())
    (data_dir / PROGRESS_MARKER).unlink(missing_ok=True)
    return stats


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = argparse.ArgumentParser(
        prog="python -m synth_corpus.make",
        description="Synthesise an English speech corpus with eSpeak NG and "
                    "write it as Kaldi data directories "
                    "OUT_DIR/data/{train,dev,test}.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out_dir", required=True, type=Path,
                        help="output directory (gets data/ and wav/)")
    parser.add_argument("--train_hours", type=float, default=0.5,
                        help="hours of train audio to generate, in (0, 10000]")
    parser.add_argument("--dev_utts", type=int, default=200,
                        help="number of dev utterances, in [1, 1000000]")
    parser.add_argument("--test_utts", type=int, default=300,
                        help="number of test utterances, in [1, 1000000]")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of everything random (>= 0)")
    parser.add_argument("--nj", type=int, default=1,
                        help="number of worker processes, in [1, 256]; the "
                             "output does not depend on it")
    parser.add_argument("--utts_per_spk", type=int, default=10,
                        help="consecutive utterances per synthetic speaker (>= 1)")
    parser.add_argument("--min_words", type=int, default=3,
                        help="minimum words per sentence, in [1, 20]")
    parser.add_argument("--max_words", type=int, default=20,
                        help="maximum words per sentence, in "
                             "[max(min_words, 3), 40]")
    parser.add_argument("--word_list_size", type=int, default=None,
                        help="use the first N entries of every word list (names, nouns, verbs, "
                             "...): a smaller domain, each word heard more often; 8 gives about "
                             "560 word types (default: all, about 2,500); >= 2")
    parser.add_argument("--speed_range", type=float, nargs=2, default=[0.9, 1.1],
                        metavar=("LOW", "HIGH"),
                        help="train speed-perturbation factor range, within "
                             "[0.5, 2]; '1 1' disables it")
    parser.add_argument("--snr_range", type=float, nargs=2, default=[20.0, 40.0],
                        metavar=("LOW", "HIGH"),
                        help="SNR range (dB) of the additive noise, within "
                             "[-10, 100]")
    parser.add_argument("--no_noise", action="store_true",
                        help="do not add noise")
    parser.add_argument("--overwrite", action="store_true",
                        help="rebuild splits that exist with other parameters")
    parser.add_argument("--log_level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="logging verbosity")
    return parser


def _validate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    def check(ok: bool, message: str) -> None:
        if not ok:
            parser.error(message)

    check(0 < args.train_hours <= 10000,
          f"--train_hours must be in (0, 10000], got {args.train_hours}")
    for name in ("dev_utts", "test_utts"):
        value = getattr(args, name)
        check(1 <= value <= 1_000_000,
              f"--{name} must be in [1, 1000000], got {value}")
    check(args.seed >= 0, f"--seed must be >= 0, got {args.seed}")
    check(1 <= args.nj <= 256, f"--nj must be in [1, 256], got {args.nj}")
    check(args.utts_per_spk >= 1,
          f"--utts_per_spk must be >= 1, got {args.utts_per_spk}")
    check(1 <= args.min_words <= 20,
          f"--min_words must be in [1, 20], got {args.min_words}")
    check(max(args.min_words, 3) <= args.max_words <= 40,
          f"--max_words must be in [max(--min_words, 3), 40], got {args.max_words}")
    check(args.word_list_size is None or args.word_list_size >= 2,
          f"--word_list_size must be >= 2, got {args.word_list_size}")
    low, high = args.speed_range
    check(0.5 <= low <= high <= 2.0,
          f"--speed_range must satisfy 0.5 <= LOW <= HIGH <= 2, got {low} {high}")
    low, high = args.snr_range
    check(-10 <= low <= high <= 100,
          f"--snr_range must satisfy -10 <= LOW <= HIGH <= 100, got {low} {high}")
    out = str(args.out_dir.resolve())
    check(not any(c.isspace() for c in out),
          f"--out_dir must not contain whitespace (Kaldi wav.scp), got {out!r}")


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point; see the module docstring.

    Raises:
        SystemExit: On invalid arguments (status 2) or when an existing split
            has other parameters and ``--overwrite`` is not given (status 1).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    _validate(parser, args)
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(message)s")
    logger.setLevel(args.log_level)
    start = time.monotonic()
    out_dir = args.out_dir.resolve()

    # Decide for every split before doing any work, so a conflict on the
    # last split does not leave the first ones half rebuilt.
    states = {}
    for split in SPLITS:
        data_dir, wav_dir = out_dir / "data" / split, out_dir / "wav" / split
        try:
            states[split] = split_state(data_dir, wav_dir, split_params(split, args))
        except ParameterConflict as err:
            if not args.overwrite:
                sys.exit(f"error: {err}; pass --overwrite to rebuild it, or "
                         f"use another --out_dir")
            logger.warning("%s; rebuilding it (--overwrite)", err)
            states[split] = "build"

    held_out = frozenset(
        text
        for split in ("dev", "test")
        for text in islice(split_sentences(split, args.seed, args.min_words,
                                           args.max_words, args.word_list_size),
                           getattr(args, f"{split}_utts")))
    stats = {}
    for split in ("dev", "test", "train"):
        data_dir = out_dir / "data" / split
        if states[split] == "done":
            marker = _read_json(data_dir / DONE_MARKER) or {}
            stats[split] = {k: marker.get(k, 0) for k in ("num_utts", "hours")}
            logger.info("%s: already complete in %s, skipping", split, data_dir)
            continue
        logger.info("%s: %s in %s", split,
                    "resuming" if states[split] == "resume" else "building",
                    data_dir)
        exclude = held_out if split == "train" else frozenset()
        stats[split] = build_split(split, args, out_dir, exclude, states[split])
    elapsed = time.monotonic() - start
    summary = ", ".join(f"{split} {stats[split]['num_utts']} utts "
                        f"{stats[split]['hours']:.3f} h" for split in SPLITS)
    logger.info("corpus in %s: %s; %.1f s elapsed", out_dir, summary, elapsed)


if __name__ == "__main__":
    main()
