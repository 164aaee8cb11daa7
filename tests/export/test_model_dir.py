"""Export to a stock ESPnet model directory (export/model_dir.py) of small random models of each encoder kind: stock configs, renumbered
weights, interCTC remapping, what needs this package to load, and the model card."""

import pytest
import torch
import yaml
from model_dirs import load_exported_model, per_size_supernet_dir, random_model_dir

import espnet_layerprune  # noqa: F401
from espnet_layerprune.bin import export
from espnet_layerprune.core.plan import PrunePlan


def _random_model_dir(tmp_path, encoder, encoder_conf, model_conf=None, model="espnet"):
    return random_model_dir(tmp_path, encoder, encoder_conf, model_conf, model)


def _export(config, model, out, *extra):
    return export.main(["--asr_train_config", str(config), "--asr_model_file", str(model),
                        "--output_dir", str(out), *extra])


def _load_stock(out):
    return load_exported_model(out)


def test_transformer_export_renumbers_kept_layers_and_interctc(tmp_path):
    config, model = _random_model_dir(
        tmp_path, "prunable_transformer",
        {"interctc_layer_idx": "all", "stochastic_depth_rate": 0.2, "interctc_use_conditioning": True},
        {"interctc_weight": 0.3},
    )
    _export(config, model, tmp_path / "a", "--prune_layers", "1,3")
    conf = yaml.safe_load((tmp_path / "a" / "config.yaml").read_text())
    assert conf["encoder"] == "transformer"
    assert conf["encoder_conf"]["interctc_layer_idx"] == [1]
    assert conf["model_conf"]["interctc_weight"] == 0.3
    assert len(_load_stock(tmp_path / "a").encoder.encoders) == 2
    # Only the top layer would keep an intermediate CTC: none left, weight 0, no conditioning.
    _export(config, model, tmp_path / "b", "--prune_layers", "3")
    conf = yaml.safe_load((tmp_path / "b" / "config.yaml").read_text())
    assert "interctc_layer_idx" not in conf["encoder_conf"]
    assert "interctc_use_conditioning" not in conf["encoder_conf"]
    assert conf["model_conf"]["interctc_weight"] == 0.0
    assert not any("conditioning" in k for k in torch.load(tmp_path / "b" / "model.pth"))


def test_conformer_whole_blocks_export_to_the_stock_conformer(tmp_path):
    config, model = _random_model_dir(
        tmp_path, "prunable_conformer",
        {"macaron_style": True, "cnn_module_kernel": 5, "stochastic_depth_rate": 0.1},
    )
    result = _export(config, model, tmp_path / "c", "--prune_depth", "2")
    assert result.encoder == "conformer" and result.model_bytes < result.source_bytes
    exported = _load_stock(tmp_path / "c")
    assert type(exported.encoder).__name__ == "ConformerEncoder" and len(exported.encoder.encoders) == 2


def test_conformer_unit_masks_keep_prunable_conformer_with_fixed_units(tmp_path):
    config, model = _random_model_dir(tmp_path, "prunable_conformer",
                                      {"macaron_style": True, "cnn_module_kernel": 5})
    PrunePlan(num_layers=3, units_per_layer=4, sizes={4: {"units": [2, 3, 9, 12]}}).save(
        model.parent / "prune_plan.yaml")
    result = _export(config, model, tmp_path / "u", "--prune_size", "4")
    conf = yaml.safe_load((tmp_path / "u" / "config.yaml").read_text())
    assert result.kept_layers == (1, 3)
    assert conf["encoder"] == "prunable_conformer" and conf["encoder_conf"]["num_blocks"] == 2
    assert conf["encoder_conf"]["prune_units"] == [2, 3, 5, 8]
    assert yaml.safe_load((tmp_path / "u" / "export_info.yaml").read_text())["needs_espnet_layerprune"]


def test_half_transformer_blocks_cannot_be_exported(tmp_path):
    config, model = _random_model_dir(tmp_path, "prunable_transformer", {"unit_granularity": "sublayer"})
    PrunePlan(num_layers=3, units_per_layer=2, sizes={3: {"units": [1, 2, 3]}}).save(
        model.parent / "prune_plan.yaml")
    with pytest.raises(SystemExit, match="not whole transformer blocks"):
        _export(config, model, tmp_path / "h", "--prune_size", "3")
    assert not (tmp_path / "h").exists()


def test_supernet_export_is_a_stock_model_with_its_size_head(tmp_path):
    config, model, source = per_size_supernet_dir(tmp_path)
    result = _export(config, model, tmp_path / "d2", "--prune_depth", "2")
    assert result.kept_layers == (1, 3)  # the learned scores decide, as in decoding
    conf = yaml.safe_load((tmp_path / "d2" / "config.yaml").read_text())
    assert conf["model"] == "espnet" and conf["model_conf"] == {"ctc_weight": 1.0}
    exported = _load_stock(tmp_path / "d2")
    assert type(exported.encoder).__name__ == "ConformerEncoder"
    head = source.ctc_for_size(8)
    assert head is not source.ctc and torch.equal(exported.ctc.ctc_lo.weight, head.ctc_lo.weight)


def test_export_writes_a_model_card_with_the_wer_of_matching_decodes(tmp_path):
    config, model = _random_model_dir(tmp_path, "prunable_transformer", {}, {})
    # Two earlier decodes of the source: one kept layers 1,3 (its score belongs on the card), one all three.
    for name, units in (("depth2", [1, 3]), ("depth3", [1, 2, 3])):
        decode = model.parent / "decode" / "test" / name
        decode.mkdir(parents=True)
        (decode / "pruning.yaml").write_text(yaml.safe_dump({"kept_units": units}))
        (decode / "score.json").write_text(f'{{"utterances": 5, "wer": {10 * len(units)}.5, "cer": 3.25}}')
    _export(config, model, tmp_path / "out", "--prune_layers", "1,3")
    card = (tmp_path / "out" / "README.md").read_text()
    assert "kept encoder layers (1-based, of the source): 1, 3" in card
    assert "| decode/test/depth2 | 5 | 20.50 | 3.25 |" in card and "depth3" not in card
    assert "stock ESPnet" in card and "espnet2.bin.pack" in card
    _export(config, model, tmp_path / "out2", "--prune_layers", "2")
    assert "No WER is known" in (tmp_path / "out2" / "README.md").read_text()


def test_e_branchformer_whole_blocks_export_to_the_stock_e_branchformer(tmp_path):
    config, model = _random_model_dir(
        tmp_path, "prunable_e_branchformer",
        {"cgmlp_linear_units": 32, "cgmlp_conv_kernel": 5, "use_ffn": True, "macaron_ffn": True,
         "interctc_layer_idx": "all", "stochastic_depth_rate": 0.1},
        {"interctc_weight": 0.3},
    )
    result = _export(config, model, tmp_path / "e", "--prune_layers", "1,3")
    conf = yaml.safe_load((tmp_path / "e" / "config.yaml").read_text())
    assert result.encoder == "e_branchformer" and conf["encoder_conf"]["num_blocks"] == 2
    assert "stochastic_depth_rate" not in conf["encoder_conf"]
    assert len(_load_stock(tmp_path / "e").encoder.encoders) == 2
