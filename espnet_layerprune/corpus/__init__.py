"""Offline synthetic English speech corpus in Kaldi data-dir format.

Modules:

* :mod:`~espnet_layerprune.corpus.text`: deterministic generator of varied,
  grammatical English sentences (3-20 words, a vocabulary of ~2,500 words,
  numbers spelled out, letters and apostrophes only).
* :mod:`~espnet_layerprune.corpus.speakers`: synthetic speakers (eSpeak NG
  English voices x voice variants x rate/pitch/volume) and their
  train/dev/test split, with dev and test variants unseen in training.
* :mod:`~espnet_layerprune.corpus.synth`: eSpeak NG synthesis via ctypes,
  16 kHz resampling, speed perturbation and additive noise.
* :mod:`~espnet_layerprune.corpus.kaldi`: writing and validating Kaldi data
  directories (``wav.scp``, ``text``, ``utt2spk``, ``spk2utt``, ``utt2dur``).
* :mod:`~espnet_layerprune.corpus.make`: the command line that builds
  ``data/{train,dev,test}``::

      python -m espnet_layerprune.corpus.make --out_dir DIR --train_hours 0.5 \\
          --dev_utts 200 --test_utts 300 --seed 0 --nj 1
"""

from espnet_layerprune.corpus.kaldi import (Utterance, utterance_id,
                                            validate_data_dir, write_data_dir,
                                            write_wav)
from espnet_layerprune.corpus.speakers import (SpeakerConfig, Variant,
                                               english_voices, iter_speakers,
                                               split_speakers, split_variants,
                                               voice_variants)
from espnet_layerprune.corpus.synth import (SAMPLE_RATE, Augmentation,
                                            ESpeakEngine, ESpeakError,
                                            draw_augmentation, get_engine,
                                            render)
from espnet_layerprune.corpus.text import (generate_sentences, iter_sentences,
                                           number_to_words, vocabulary)

__all__ = [
    "SAMPLE_RATE",
    "Augmentation",
    "ESpeakEngine",
    "ESpeakError",
    "SpeakerConfig",
    "Utterance",
    "Variant",
    "draw_augmentation",
    "english_voices",
    "generate_sentences",
    "get_engine",
    "iter_sentences",
    "iter_speakers",
    "number_to_words",
    "render",
    "split_speakers",
    "split_variants",
    "utterance_id",
    "validate_data_dir",
    "vocabulary",
    "voice_variants",
    "write_data_dir",
    "write_wav",
]
