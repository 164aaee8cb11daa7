"""Input checks at the boundary: audio lists, transcripts, checkpoints, training options.

ESPnet (202611) meets several bad inputs late, deep in torch, or not at all
(measured; see ``docs/robustness.md``):

* an empty wav crashes decoding inside the STFT, without naming the utterance;
* a wav with another sampling rate is decoded as if it were 16 kHz (garbage,
  no message); in training it stops the data loader with "Sampling rates are
  mismatched: 16000 != 8000", again without naming the file;
* audio shorter than the encoder's subsampling window gets an infinite (zeroed)
  CTC loss in training, or crashes it when a whole batch is that short;
* a truncated checkpoint is reported as a *trust* problem ("Refusing to fall
  back to unsafe loading"), an empty one as a bare ``EOFError``, and one with
  flipped bytes loads silently (torch does not verify the archive's CRCs);
* a config that builds a model with tensors the checkpoint lacks loads with
  ``strict=False``: those tensors stay randomly initialised;
* distributed training with layer skipping but ``unused_parameters: false``
  stops at the first skipped layer with DDP's "Expected to have finished
  reduction" error.

One module per kind of input: :mod:`.audio`, :mod:`.transcripts`,
:mod:`.checkpoints`, and :mod:`.training` (what ``espnet_layerprune.bin.asr_train``
runs before ESPnet starts). Every check raises
:class:`~espnet_layerprune.core.errors.InputError` with a message that names the
file, the utterances and what to do. From the shell (:mod:`.__main__`)::

    python -m espnet_layerprune.checks wav_scp data/test/wav.scp --fs 16000 --min_samples 960
    python -m espnet_layerprune.checks text data/dev/text --token_list tokens.txt --token_type char
    python -m espnet_layerprune.checks checkpoint exp/asr/valid.loss.best.pth
"""
