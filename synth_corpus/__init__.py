"""synth_corpus: an offline synthetic English speech corpus in Kaldi data-dir format.

The data of the ``egs2/synth_en`` recipe, kept apart from the plugin: importing it
neither loads torch nor registers anything into ESPnet.

Modules:

* :mod:`.words`, :mod:`.morphology`, :mod:`.numbers`: the vocabulary (word lists by
  category), inflections and articles, spelled-out numbers;
* :mod:`.sentences`: deterministic generator of varied, grammatical sentences;
* :mod:`.speakers`: synthetic speakers (eSpeak NG English voices x voice variants x
  rate/pitch/volume) and their train/dev/test split, dev and test variants unseen
  in training;
* :mod:`.synth`: eSpeak NG synthesis via ctypes, 16 kHz resampling, speed
  perturbation and additive noise;
* :mod:`.kaldi`: writing and validating Kaldi data directories;
* :mod:`.make`: the command line that builds ``data/{train,dev,test}``::

      python -m synth_corpus.make --out_dir DIR --train_hours 0.5 \\
          --dev_utts 200 --test_utts 300 --seed 0 --nj 1
"""
