"""bin.report states RTF against audio seconds at the model's own sampling rate."""

import yaml

from espnet_layerprune.analysis.report import audio_seconds
from espnet_layerprune.bin.report import model_sample_rate


def test_lengths_in_samples_are_read_at_the_models_sampling_rate(tmp_path):
    exp, data = tmp_path / "exp" / "asr_8k", tmp_path / "data"
    (exp / "decode_greedy").mkdir(parents=True)
    data.mkdir()
    (exp / "config.yaml").write_text(yaml.safe_dump({"frontend": "default", "frontend_conf": {"fs": "8k"}}))
    (data / "utt2num_samples").write_text("u1 8000\nu2 16000\n")
    assert model_sample_rate([exp]) == 8000 and model_sample_rate([exp / "decode_greedy"]) == 8000
    assert audio_seconds(data, model_sample_rate([exp])) == 3.0
    (exp / "config.yaml").write_text(yaml.safe_dump({"frontend": "default"}))
    assert model_sample_rate([exp]) == 16000  # ESPnet's default front end
    assert model_sample_rate([tmp_path / "elsewhere"]) is None and audio_seconds(data, None) is None
