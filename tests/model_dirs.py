"""Small untrained ESPnet models written to disk, as a trained model directory would be."""

import sys
from pathlib import Path

import torch
import yaml


def espnet_default_config() -> dict:
    """ESPnet's default ASR training config (what ``--print_config`` shows)."""
    import espnet_layerprune  # noqa: F401  (registers our encoders and model)
    from espnet2.tasks.asr import ASRTask

    # get_default_config() parses sys.argv, which holds pytest's own options here
    argv, sys.argv = sys.argv, sys.argv[:1]
    try:
        return ASRTask.get_default_config()
    finally:
        sys.argv = argv


def random_model_dir(tmp_path: Path, encoder="prunable_transformer", encoder_conf=None,
                     model_conf=None, model="espnet", name="src", decoder=None):
    """A config.yaml and model.pth of a tiny CTC model with random weights (fixed seed);
    with ``decoder`` (e.g. ``"transformer"``), a hybrid CTC/attention model."""
    import espnet_layerprune  # noqa: F401  (registers our encoders and model)
    from espnet2.tasks.asr import ASRTask

    conf = {
        **espnet_default_config(),
        "token_list": ["<blank>", "<unk>", "a", "b", "<space>", "<sos/eos>"],
        "token_type": "char",
        "frontend": "default",
        "frontend_conf": {"n_fft": 256, "hop_length": 128, "n_mels": 20},
        "normalize": None,
        "encoder": encoder,
        "encoder_conf": {"output_size": 16, "attention_heads": 2, "linear_units": 24,
                         "num_blocks": 3, "input_layer": "conv2d", **(encoder_conf or {})},
        "decoder": decoder,
        "decoder_conf": {"attention_heads": 2, "linear_units": 24, "num_blocks": 1} if decoder else {},
        "model": model,
        "model_conf": {"ctc_weight": 0.3 if decoder else 1.0, **(model_conf or {})},
    }
    src = tmp_path / name
    src.mkdir()
    (src / "config.yaml").write_text(yaml.safe_dump(conf))
    torch.manual_seed(0)
    built, _ = ASRTask.build_model_from_file(src / "config.yaml", None, "cpu")
    torch.save(built.state_dict(), src / "model.pth")
    return src / "config.yaml", src / "model.pth"


def per_size_supernet_dir(tmp_path: Path):
    """A conformer ``model: layerprune`` (Simple-Top-k, sizes 4/8/12 of 12 units, per-size CTC heads)
    whose scores rank blocks 3, 1, 2 and whose size heads differ from the shared one, written to
    disk: ``(config.yaml, model.pth, the model)``."""
    from espnet2.tasks.asr import ASRTask

    supernet = {"method": "simple_top_k", "sizes": [4, 8, 12], "stage1_steps": 3, "anneal_step": 4}
    config, path = random_model_dir(
        tmp_path, "prunable_conformer", {"macaron_style": True, "cnn_module_kernel": 5},
        {"per_size_ctc": True, "supernet": supernet}, model="layerprune",
    )
    model, _ = ASRTask.build_model_from_file(config, path, "cpu")
    with torch.no_grad():
        model.supernet.scores.copy_(torch.tensor([0.0] * 4 + [-1.0] * 4 + [1.0] * 4))
        for p in model.size_ctc.parameters():  # heads start as copies of the shared one
            p.add_(torch.randn_like(p))
    torch.save(model.state_dict(), path)
    return config, path, model


def load_exported_model(out: Path):
    """Build an exported model directory with stock ESPnet and load its weights strictly."""
    from espnet2.tasks.asr import ASRTask

    model, _ = ASRTask.build_model_from_file(out / "config.yaml", None, "cpu")
    model.load_state_dict(torch.load(out / "model.pth"), strict=True)
    return model
