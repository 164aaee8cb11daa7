"""Speech synthesis with eSpeak NG (through ctypes) plus light augmentation.

The shared library and its data come from the ``espeakng_loader`` wheel, so
nothing has to be installed system-wide. eSpeak NG synthesises 22050 Hz
16-bit mono audio; :func:`render` turns it into a 16 kHz float waveform with

1. leading/trailing silence trimmed, then a short random silence padding
   added back (real recordings are rarely cut exactly at the speech);
2. resampling 22050 -> 16000 Hz (``scipy.signal.resample_poly(x, 320, 441)``);
3. optional speed perturbation (resampling by a factor such as 0.9 .. 1.1,
   which changes tempo and pitch together, like Kaldi's ``sox speed``);
4. optional additive white or pink noise at a given SNR.

All random choices are drawn up front into an :class:`Augmentation`, so the
result is a pure function of the text, the speaker and the augmentation.

eSpeak NG keeps global state and is not thread-safe: the library is
initialised once per process (:func:`get_engine`), calls are serialised with a
lock, and parallel generation must use processes, each with its own engine.
Note that eSpeak also keeps some internal state between utterances (e.g. the
phase of its pitch "flutter"), so an utterance's samples can differ slightly
depending on what the same process synthesised before;
:mod:`synth_corpus.make` therefore synthesises fixed blocks of
utterances in fresh processes to be bit-exact reproducible.
"""

from __future__ import annotations

import ctypes
import math
import os
import threading
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.fft
from scipy.signal import firwin, resample_poly

from synth_corpus.speakers import SpeakerConfig

#: Output sample rate of the corpus.
SAMPLE_RATE = 16000

# Values from eSpeak NG's speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1
_EE_OK = 0
_PARAM_RATE = 1
_PARAM_VOLUME = 2
_PARAM_PITCH = 3

_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class ESpeakError(RuntimeError):
    """An eSpeak NG call failed."""


class ESpeakEngine:
    """Thin ctypes wrapper around the synchronous eSpeak NG API.

    Prefer :func:`get_engine`, which creates one engine per process:
    eSpeak NG has global state, so two engines in one process would share
    (and fight over) it.

    Args:
        library_path: Path of ``libespeak-ng.so``; defaults to the one in
            ``espeakng_loader``.
        data_path: Path of ``espeak-ng-data``; defaults to the one in
            ``espeakng_loader``.
        buffer_ms: Length of the synthesis buffer passed to
            ``espeak_Initialize``; longer means fewer callbacks.

    Raises:
        ESpeakError: If the library cannot be initialised.
    """

    def __init__(self, library_path: str | Path | None = None,
                 data_path: str | Path | None = None, buffer_ms: int = 1000):
        import espeakng_loader

        library_path = library_path or espeakng_loader.get_library_path()
        data_path = data_path or espeakng_loader.get_data_path()
        lib = ctypes.CDLL(str(library_path))
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int,
                                          ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int,
                                            ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.argtypes = []
        lib.espeak_Synchronize.restype = ctypes.c_int
        # eSpeak draws breath/noise from its own generator and from libc
        # rand(); both are seeded per utterance for reproducibility.
        self._set_rand_seed = getattr(lib, "espeak_ng_SetRandSeed", None)
        if self._set_rand_seed is not None:
            self._set_rand_seed.argtypes = [ctypes.c_long]
            self._set_rand_seed.restype = ctypes.c_int
        try:
            self._srand = ctypes.CDLL(None).srand
            self._srand.argtypes = [ctypes.c_uint]
            self._srand.restype = None
        except (OSError, AttributeError):  # pragma: no cover - non-POSIX
            self._srand = None
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, buffer_ms,
                                     str(data_path).encode(),
                                     _ESPEAK_INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise ESpeakError(
                f"espeak_Initialize failed (returned {rate}) with data {data_path}")
        self._lib = lib
        self.sample_rate: int = rate
        self._chunks: list[bytes] = []
        # Keep a reference to the callback, or ctypes would free it.
        self._callback = _SYNTH_CALLBACK(self._on_audio)
        lib.espeak_SetSynthCallback(self._callback)
        self._lock = threading.Lock()
        self._current: tuple[str, int, int, int] | None = None

    def _on_audio(self, wav: ctypes.Array, n_samples: int,
                  events: int) -> int:
        if n_samples > 0 and wav:
            self._chunks.append(ctypes.string_at(wav, 2 * n_samples))
        return 0  # continue synthesis

    def _configure(self, voice_name: str, rate: int, pitch: int,
                   amplitude: int) -> None:
        setting = (voice_name, rate, pitch, amplitude)
        if setting == self._current:
            return
        self._current = None
        status = self._lib.espeak_SetVoiceByName(voice_name.encode())
        if status != _EE_OK:
            raise ESpeakError(f"unknown eSpeak voice {voice_name!r} ({status})")
        for param, value in ((_PARAM_RATE, rate), (_PARAM_PITCH, pitch),
                             (_PARAM_VOLUME, amplitude)):
            status = self._lib.espeak_SetParameter(param, value, 0)
            if status != _EE_OK:
                raise ESpeakError(f"espeak_SetParameter({param}, {value}) failed")
        self._current = setting

    def synthesize(self, text: str, voice_name: str = "en-us", rate: int = 175,
                   pitch: int = 50, amplitude: int = 100,
                   seed: int = 0) -> np.ndarray:
        """Synthesise text.

        Args:
            text: Text to speak.
            voice_name: eSpeak voice, optionally with a variant
                (``"en-us+f3"``).
            rate: Speaking rate in words per minute (80 .. 450).
            pitch: Base pitch, 0 .. 100.
            amplitude: Volume, 0 .. 200 (values above ~110 may clip).
            seed: Seed of eSpeak's internal random generators (breath and
                frication noise).

        Returns:
            int16 samples at :attr:`sample_rate` (22050 Hz).

        Raises:
            ESpeakError: If eSpeak rejects the voice, a parameter or the text.
        """
        data = text.encode("utf-8") + b"\0"
        with self._lock:
            self._configure(voice_name, rate, pitch, amplitude)
            self._chunks = []
            if self._set_rand_seed is not None:
                self._set_rand_seed(seed & 0x7FFFFFFF)
            if self._srand is not None:
                self._srand(seed & 0xFFFFFFFF)
            status = self._lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER,
                                            0, _ESPEAK_CHARS_UTF8, None, None)
            if status != _EE_OK:
                raise ESpeakError(f"espeak_Synth failed ({status}) for {text!r}")
            self._lib.espeak_Synchronize()
            audio = b"".join(self._chunks)
            self._chunks = []
        return np.frombuffer(audio, dtype=np.int16).copy()


_ENGINE: ESpeakEngine | None = None
_ENGINE_PID: int | None = None
_ENGINE_LOCK = threading.Lock()


def get_engine() -> ESpeakEngine:
    """The process-wide eSpeak engine, initialised on first use.

    A process forked after initialisation re-initialises the library before
    its first synthesis (its callback state would otherwise belong to the
    parent).
    """
    global _ENGINE, _ENGINE_PID
    with _ENGINE_LOCK:
        if _ENGINE is None or _ENGINE_PID != os.getpid():
            _ENGINE = ESpeakEngine()
            _ENGINE_PID = os.getpid()
        return _ENGINE


# --------------------------------------------------------------------------
# Signal processing
# --------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _lowpass(up: int, down: int) -> np.ndarray:
    """The anti-aliasing filter ``resample_poly`` designs by default, cached."""
    max_rate = max(up, down)
    taps = firwin(2 * 10 * max_rate + 1, 1.0 / max_rate, window=("kaiser", 5.0))
    return taps.astype(np.float32)


def _resample_ratio(x: np.ndarray, ratio: Fraction) -> np.ndarray:
    up, down = ratio.numerator, ratio.denominator
    y = resample_poly(np.asarray(x, dtype=np.float32), up, down,
                      window=_lowpass(up, down))
    return y.astype(np.float32, copy=False)


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Polyphase resampling by the exact rational factor ``sr_out / sr_in``.

    For 22050 -> 16000 Hz this is ``resample_poly(x, 320, 441)``.
    """
    if sr_in == sr_out:
        return np.asarray(x, dtype=np.float32)
    return _resample_ratio(x, Fraction(sr_out, sr_in))


def speed_perturb(x: np.ndarray, factor: float) -> np.ndarray:
    """Play ``x`` ``factor`` times faster (tempo and pitch), keeping the rate.

    The factor is rounded to a multiple of 0.01 so that the polyphase filter
    stays short (``up = 100``, ``down = 100 * factor``).

    Args:
        x: Waveform.
        factor: Speed factor; > 1 makes the audio shorter.

    Returns:
        The waveform, about ``len(x) / factor`` samples long.
    """
    if factor <= 0:
        raise ValueError(f"speed factor must be > 0, got {factor}")
    percent = round(factor * 100)
    if percent == 100:
        return np.asarray(x, dtype=np.float32)
    return _resample_ratio(x, Fraction(100, percent))


def trim_silence(x: np.ndarray, sample_rate: int, threshold: float = 0.02,
                 margin_s: float = 0.02) -> np.ndarray:
    """Cut leading and trailing silence.

    A 10 ms frame is "silent" when its peak is below ``threshold`` times the
    peak of the whole signal. ``margin_s`` of audio is kept on each side of
    the first and last non-silent frames.

    Returns:
        The trimmed waveform (the input itself when it is all silence).
    """
    x = np.asarray(x)
    if x.size == 0:
        return x
    peak = float(np.max(np.abs(x)))
    if peak == 0.0:
        return x
    frame = max(1, sample_rate // 100)
    n_frames = math.ceil(x.size / frame)
    padded = np.zeros(n_frames * frame, dtype=np.float32)
    padded[:x.size] = np.abs(x)
    loud = np.flatnonzero(padded.reshape(n_frames, frame).max(axis=1)
                          >= threshold * peak)
    margin = int(margin_s * sample_rate)
    start = max(0, loud[0] * frame - margin)
    end = min(x.size, (loud[-1] + 1) * frame + margin)
    return x[start:end]


def _noise(n: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance Gaussian noise, white or pink (1/f power spectrum)."""
    if colour not in ("white", "pink"):
        raise ValueError(f"unknown noise colour {colour!r}")
    if colour == "white" or n < 2:
        return rng.standard_normal(n, dtype=np.float32)
    m = scipy.fft.next_fast_len(n, real=True)
    spectrum = scipy.fft.rfft(rng.standard_normal(m, dtype=np.float32))
    scale = np.arange(spectrum.size, dtype=np.float32)
    scale[0] = 1.0
    spectrum /= np.sqrt(scale)
    spectrum[0] = 0.0
    pink = scipy.fft.irfft(spectrum, m)[:n]
    pink /= np.std(pink) + 1e-12
    return pink.astype(np.float32, copy=False)


def add_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator,
              colour: str = "white", reference: np.ndarray | None = None
              ) -> np.ndarray:
    """Add white or pink Gaussian noise at a given signal-to-noise ratio.

    Args:
        x: Waveform (float).
        snr_db: Signal-to-noise ratio in dB.
        rng: Source of the noise samples.
        colour: ``"white"`` or ``"pink"``.
        reference: Signal whose power defines the SNR (e.g. the speech
            without its silence padding); defaults to ``x``.

    Returns:
        ``x`` plus noise.
    """
    ref = x if reference is None else reference
    power = float(np.mean(np.square(ref, dtype=np.float64))) if ref.size else 0.0
    if power == 0.0:
        return np.asarray(x, dtype=np.float32)
    noise_std = math.sqrt(power / 10.0 ** (snr_db / 10.0))
    return (x + noise_std * _noise(x.size, colour, rng)).astype(np.float32)


# --------------------------------------------------------------------------
# Utterance rendering
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Augmentation:
    """Per-utterance augmentation, drawn once so rendering is deterministic.

    Attributes:
        speed: Speed-perturbation factor (1.0 = none).
        snr_db: SNR of the additive noise in dB, or ``None`` for no noise.
        noise_colour: ``"white"`` or ``"pink"``.
        lead_s: Silence (then noise) padding before the speech, seconds.
        trail_s: Padding after the speech, seconds.
        noise_seed: Seed of the noise samples and of eSpeak's own random
            generators.
    """

    speed: float = 1.0
    snr_db: float | None = None
    noise_colour: str = "white"
    lead_s: float = 0.1
    trail_s: float = 0.1
    noise_seed: int = 0


def draw_augmentation(rng: np.random.Generator,
                      speed_range: tuple[float, float] | None = (0.9, 1.1),
                      snr_range: tuple[float, float] | None = (20.0, 40.0),
                      pad_range: tuple[float, float] = (0.05, 0.3)
                      ) -> Augmentation:
    """Draw an :class:`Augmentation`.

    Args:
        rng: Random generator (seed it per utterance for reproducibility).
        speed_range: Uniform range of the speed factor (rounded to 0.01), or
            ``None`` for no speed perturbation.
        snr_range: Uniform range of the SNR in dB, or ``None`` for no noise.
        pad_range: Uniform range of each silence padding, in seconds.
    """
    speed = 1.0
    if speed_range is not None:
        speed = round(float(rng.uniform(*speed_range)), 2)
    snr = None if snr_range is None else round(float(rng.uniform(*snr_range)), 1)
    colour = "pink" if rng.random() < 0.5 else "white"
    lead, trail = (round(float(v), 3) for v in rng.uniform(*pad_range, size=2))
    return Augmentation(speed=speed, snr_db=snr, noise_colour=colour,
                        lead_s=lead, trail_s=trail,
                        noise_seed=int(rng.integers(0, 2**31 - 1)))


def render(text: str, speaker: SpeakerConfig,
           augmentation: Augmentation | None = None,
           engine: ESpeakEngine | None = None) -> np.ndarray:
    """Synthesise one utterance as a 16 kHz float32 waveform in [-1, 1].

    Args:
        text: Text to speak.
        speaker: Voice, variant, rate, pitch and amplitude.
        augmentation: Speed, noise and padding; defaults to a short padding
            and no perturbation.
        engine: eSpeak engine; defaults to :func:`get_engine`.

    Returns:
        The waveform at :data:`SAMPLE_RATE`.

    Raises:
        ESpeakError: If synthesis fails or produces no audio.
    """
    aug = augmentation or Augmentation()
    engine = engine or get_engine()
    raw = engine.synthesize(text, speaker.voice_name, speaker.rate,
                            speaker.pitch, speaker.amplitude,
                            seed=aug.noise_seed)
    if raw.size == 0 or not np.any(raw):
        raise ESpeakError(f"eSpeak produced no audio for {text!r} "
                          f"({speaker.speaker_id})")
    speech = trim_silence(raw.astype(np.float32) / 32768.0, engine.sample_rate)
    speech = resample(speech, engine.sample_rate, SAMPLE_RATE)
    speech = speed_perturb(speech, aug.speed)
    lead = np.zeros(int(aug.lead_s * SAMPLE_RATE), dtype=np.float32)
    trail = np.zeros(int(aug.trail_s * SAMPLE_RATE), dtype=np.float32)
    audio = np.concatenate([lead, speech, trail])
    if aug.snr_db is not None:
        rng = np.random.default_rng(aug.noise_seed)
        audio = add_noise(audio, aug.snr_db, rng, aug.noise_colour,
                          reference=speech)
    peak = float(np.max(np.abs(audio)))
    if peak > 0.98:  # resampling overshoot or loud voices: avoid clipping
        audio *= 0.98 / peak
    return audio


def to_int16(x: np.ndarray) -> np.ndarray:
    """Convert a float waveform in [-1, 1] to int16 PCM (with clipping)."""
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)
