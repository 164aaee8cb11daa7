"""Reading a data dir as ESPnet's loader does: wav files and asr.sh's .ark dumps."""

import numpy as np
import pytest
import soundfile

from espnet_layerprune.core.data import audio_type, load_utterances


def _wav_dir(tmp_path, n=3):
    rng = np.random.default_rng(0)
    waves = {}
    with open(tmp_path / "wav.scp", "w") as scp, open(tmp_path / "text", "w") as text:
        for i in range(n):
            key = f"utt{i}"
            waves[key] = (0.1 * rng.standard_normal(1600 * (i + 1))).astype(np.float32)
            soundfile.write(tmp_path / f"{key}.wav", waves[key], 16000, subtype="PCM_16")
            scp.write(f"{key} {tmp_path / f'{key}.wav'}\n")
            text.write(f"{key} hello world {i}\n")
    return waves


def test_wav_files_are_read_as_espnet_reads_them(tmp_path):
    waves = _wav_dir(tmp_path)
    utts = load_utterances(tmp_path)
    assert audio_type(tmp_path / "wav.scp") == "sound"
    assert [u.key for u in utts] == ["utt0", "utt1", "utt2"]
    assert utts[1].text == "hello world 1"
    np.testing.assert_allclose(utts[2].speech, waves["utt2"], atol=1 / 32768)
    assert len(load_utterances(tmp_path, max_utts=2)) == 2


def test_flac_ark_dumps_of_asr_sh_are_read(tmp_path):
    """asr.sh --audio_format flac.ark writes flac bytes into a Kaldi ark."""
    from omniio import kaldi as kaldiio  # what ESPnet 202611's pyscripts use

    waves = _wav_dir(tmp_path)
    dump = tmp_path / "dump"
    dump.mkdir()
    # as asr.sh's pyscripts/audio/format_wav_scp.py writes them
    with open(dump / "data_wav.ark", "wb") as fark, open(dump / "wav.scp", "w") as fscp:
        for key, wav in waves.items():
            kaldiio.save_ark(
                fark, {key: ((wav * 32767).astype(np.int16), 16000)}, scp=fscp, append=True,
                write_function="soundfile", write_kwargs={"format": "flac", "subtype": "PCM_16"},
            )
    (dump / "text").write_text((tmp_path / "text").read_text())
    assert audio_type(dump / "wav.scp") == "kaldi_ark"
    utts = load_utterances(dump)
    assert len(utts) == 3 and utts[0].speech.dtype == np.float32
    # the same samples as the wav files (both loaders scale int16 to [-1, 1])
    reference = load_utterances(tmp_path)
    np.testing.assert_allclose(utts[2].speech, reference[2].speech, atol=2 / 32768)


def test_empty_or_incomplete_dirs_are_clear_errors(tmp_path):
    (tmp_path / "wav.scp").write_text("")
    (tmp_path / "text").write_text("")
    with pytest.raises(ValueError, match="is empty: no utterance has both audio"):
        load_utterances(tmp_path)
    (tmp_path / "text").unlink()
    with pytest.raises(FileNotFoundError, match="has no text"):
        load_utterances(tmp_path)
    with pytest.raises(ValueError, match="--max_utts must be >= 1"):
        _wav_dir(tmp_path)
        load_utterances(tmp_path, max_utts=0)
