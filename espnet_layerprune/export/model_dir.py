"""Export a pruned model as a smaller, standalone ESPnet model directory.

The kept layers are decided exactly as decoding decides them
(:func:`espnet_layerprune.models.pruning.prune_model`, with the prune plan next to the
model). The output directory holds:

* ``config.yaml``: the training config with the stock encoder of the kept depth
  (``encoder: transformer``, ``conformer`` or ``e_branchformer`` with ``num_blocks: N``), without the
  options only this package knows (stochastic depth, unit granularity, prune
  masks, supernet settings); ``interctc_layer_idx`` renumbered to the kept
  layers (``model_conf.interctc_weight: 0`` when none is left);
* ``model.pth``: the weights of the kept layers only, renumbered ``0..N-1``;
* the files the config refers to (feature statistics, token list, BPE model),
  copied, with the paths rewritten the way ESPnet's ``pack`` expects them
  (relative to the working directory when the output is below it);
* ``export_info.yaml``: what was kept, from what, the sizes, and the pack command;
* ``README.md``: a short model card (source, kept layers, parameters, the WER/CER
  of decodes of the source at the same layers when ``score.json`` files exist).

Stock ``python -m espnet2.bin.asr_inference`` decodes it without this package.
Only a prunable conformer or E-Branchformer whose kept units are not whole
blocks (data-driven supernets at a unit size) keeps ``encoder: prunable_*``
with fixed ``prune_units``, which needs this package installed to load.
"""

import copy
import inspect
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import yaml

from espnet_layerprune.checks.audio import sample_rate
from espnet_layerprune.core.plan import PrunePlan
from espnet_layerprune.core.units import units_of_layers
from espnet_layerprune.models.pruning import PruneResult, head_for, prune_model

#: Encoder options that only this package's encoders accept, or that only
#: matter for training-time skipping (the export is a plain N-block encoder).
DROPPED_ENCODER_KEYS = (
    "stochastic_depth_rate",
    "stochastic_depth_schedule",
    "stochastic_depth_granularity",
    "layer_drop_rate",
    "unit_granularity",
    "prune_layers",
    "prune_units",
)
#: ``model: layerprune`` options (the export is a stock ``model: espnet``).
DROPPED_MODEL_KEYS = ("supernet", "per_size_ctc")


@dataclass
class ExportResult:
    """What :func:`export_pruned_model` wrote."""

    output_dir: Path
    kept_layers: Tuple[int, ...]
    encoder: str
    source_bytes: int
    model_bytes: int
    files: List[Path] = field(default_factory=list)
    pack_command: str = ""


def check_output_dir(output_dir: Path, sources: Sequence[Path], overwrite: bool) -> None:
    """Refuse a non-empty output dir (without ``overwrite``) or the source's dir."""
    out = output_dir.resolve()
    for src in sources:
        if Path(src).resolve().parent == out:
            raise ValueError(
                f"--output_dir {output_dir} holds the model being exported; choose a new directory"
            )
    if output_dir.exists() and any(output_dir.iterdir()) and not overwrite:
        raise FileExistsError(
            f"--output_dir {output_dir} exists and is not empty; "
            "pass --overwrite true to write into it"
        )


def portable_path(path: Path) -> str:
    """Relative to the working directory when below it (as ESPnet's ``pack``), else absolute."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def remap_interctc(interctc: Sequence[int], kept: Sequence[int]) -> List[int]:
    """New 1-based indices of the kept intermediate-CTC layers below the new top."""
    interctc = set(interctc)
    new = [i + 1 for i, layer in enumerate(kept) if layer in interctc]
    return [i for i in new if i < len(kept)]


def _stock_parameters(encoder_name: str) -> Optional[set]:
    from espnet2.tasks.asr import encoder_choices

    cls = encoder_choices.get_class(encoder_name)
    return set(inspect.signature(cls.__init__).parameters) - {"self"}


def _stock_name(encoder) -> str:
    from espnet_layerprune.encoders.prunable_conformer import PrunableConformerEncoder
    from espnet_layerprune.encoders.prunable_e_branchformer import PrunableEBranchformerEncoder

    if isinstance(encoder, PrunableConformerEncoder):
        return "conformer"
    if isinstance(encoder, PrunableEBranchformerEncoder):
        return "e_branchformer"
    return "transformer"


def _encoder_section(conf: dict, encoder, pruned: PruneResult) -> Tuple[str, dict]:
    """Encoder name and ``encoder_conf`` of the exported model."""
    kept = pruned.kept_layers
    U = encoder.units_per_layer
    whole_blocks = pruned.kept_units == units_of_layers(kept, U)
    stock = _stock_name(encoder)
    enc_conf = {
        k: v for k, v in (conf.get("encoder_conf") or {}).items() if k not in DROPPED_ENCODER_KEYS
    }
    enc_conf["num_blocks"] = len(kept)
    if whole_blocks:
        allowed = _stock_parameters(stock)
        dropped = sorted(k for k in enc_conf if k not in allowed)
        if dropped:
            logging.info("export: options the stock %s encoder lacks are removed: %s",
                         stock, dropped)
        enc_conf = {k: v for k, v in enc_conf.items() if k in allowed}
        return stock, enc_conf
    if stock == "transformer":
        raise NotImplementedError(
            f"the kept units {list(pruned.kept_units)} are not whole transformer blocks "
            "(unit_granularity: sublayer), which the stock transformer encoder cannot "
            "express; export a whole-block depth with --prune_depth or --prune_layers"
        )
    position = {layer: i for i, layer in enumerate(kept)}
    enc_conf["prune_units"] = [
        position[(u - 1) // U + 1] * U + (u - 1) % U + 1 for u in pruned.kept_units
    ]
    logging.warning(
        "export: kept units are not whole blocks; the model keeps encoder: "
        "prunable_%s with fixed prune_units and needs espnet_layerprune to load", stock
    )
    return f"prunable_{stock}", enc_conf


def exported_config(conf: dict, encoder, pruned: PruneResult) -> Tuple[dict, bool]:
    """The exported ``config.yaml`` content, and whether self-conditioning stays."""
    conf = copy.deepcopy(conf)
    name, enc_conf = _encoder_section(conf, encoder, pruned)
    interctc = remap_interctc(encoder.interctc_layer_idx, pruned.kept_layers)
    enc_conf.pop("interctc_layer_idx", None)
    model_conf = {
        k: v for k, v in (conf.get("model_conf") or {}).items() if k not in DROPPED_MODEL_KEYS
    }
    if interctc:
        enc_conf["interctc_layer_idx"] = interctc
    else:
        enc_conf.pop("interctc_use_conditioning", None)
        if model_conf.get("interctc_weight"):
            model_conf["interctc_weight"] = 0.0
    if conf.get("model") == "layerprune":
        conf["model"] = "espnet"
    conf.update(encoder=name, encoder_conf=enc_conf, model_conf=model_conf)
    conditioning = bool(interctc) and bool(enc_conf.get("interctc_use_conditioning"))
    return conf, conditioning


def renumber_kept_blocks(
    state: Dict[str, torch.Tensor], kept_layers: Sequence[int], prefix: str
) -> Dict[str, torch.Tensor]:
    """``state`` without the dropped blocks, kept blocks renumbered ``0..N-1``.

    Args:
        state: A state dict.
        kept_layers: 1-based kept blocks, in order.
        prefix: Where the blocks live, e.g. ``"encoder.encoders."`` in a model's
            state dict or ``"encoders."`` in an encoder's.
    """
    position = {layer - 1: i for i, layer in enumerate(kept_layers)}
    out = {}
    for key, value in state.items():
        if key.startswith(prefix):
            block, rest = key[len(prefix):].split(".", 1)
            if int(block) in position:
                out[f"{prefix}{position[int(block)]}.{rest}"] = value
            continue
        out[key] = value
    return out


def pruned_state_dict(model, pruned: PruneResult, conditioning: bool) -> Dict[str, torch.Tensor]:
    """Weights of the kept blocks (renumbered), the shared parts and the CTC head."""
    out = {}
    kept = renumber_kept_blocks(model.state_dict(), pruned.kept_layers, "encoder.encoders.")
    for key, value in kept.items():
        if key.startswith(("supernet.", "size_ctc.")):
            continue
        if key.startswith("encoder.conditioning_layer.") and not conditioning:
            continue
        out[key] = value.clone()
    head = head_for(model, len(pruned.kept_units))
    if head is not model.ctc:  # a supernet's own head for this size becomes the CTC head
        out.update({f"ctc.{k}": v.clone() for k, v in head.state_dict().items()})
    return out


def copy_referenced_files(conf: dict, output_dir: Path) -> List[Path]:
    """Copy the token list, BPE model and feature statistics; point the config at the copies."""
    slots = [
        (conf, "token_list"),
        (conf, "bpemodel"),
        (conf, "non_linguistic_symbols"),
        (conf.get("normalize_conf") or {}, "stats_file"),
    ]
    copied = []
    for section, key in slots:
        value = section.get(key)
        if not isinstance(value, str):
            continue
        src = Path(value)
        if not src.is_file():
            logging.warning("export: %s %s does not exist; left as it is", key, value)
            continue
        dst = output_dir / src.name
        if dst in copied:
            dst = output_dir / f"{key}_{src.name}"
        shutil.copyfile(src, dst)
        section[key] = portable_path(dst)
        copied.append(dst)
    return copied


def _check_same_outputs(source, exported, seconds: float = 1.5) -> float:
    """Encode the same random audio with both models; return the max difference."""
    gen = torch.Generator().manual_seed(0)
    speech = 0.1 * torch.randn(1, int(sample_rate(source) * seconds), generator=gen)
    lengths = torch.tensor([speech.size(1)])
    with torch.no_grad():
        a, _ = source.encode(speech, lengths)
        b, _ = exported.encode(speech, lengths)
    a, b = (a[0] if isinstance(a, tuple) else a), (b[0] if isinstance(b, tuple) else b)
    if a.shape != b.shape:
        raise RuntimeError(
            f"export check failed: encoder output shapes {tuple(a.shape)} != {tuple(b.shape)}"
        )
    return float((a - b).abs().max())


def known_scores(source_dir: Path, kept_units: Sequence[int]) -> List[dict]:
    """Scores of earlier decodes of the source model that kept the same units:
    directories below ``source_dir`` with ``pruning.yaml`` and ``score.json``."""
    import json

    found = []
    for info_path in sorted(Path(source_dir).rglob("pruning.yaml")):
        score_path = info_path.parent / "score.json"
        if not score_path.is_file():
            continue
        try:
            info = yaml.safe_load(info_path.read_text()) or {}
            score = json.loads(score_path.read_text())
        except (yaml.YAMLError, ValueError):
            continue
        if list(info.get("kept_units") or []) == list(kept_units):
            found.append({"decode": str(info_path.parent.relative_to(source_dir)), **score})
    return found


def model_card(info: dict, params_kept: int, params_total: int, scores: Sequence[dict]) -> str:
    """``README.md`` of an exported model directory."""
    kept = info["pruning"]["kept_layers"]
    lines = [
        f"# Pruned ESPnet ASR model: {len(kept)} of {info['pruning']['num_layers']} encoder layers",
        "",
        f"- source: `{info['source_model']}` (config `{info['source_config']}`)",
        f"- kept encoder layers (1-based, of the source): {', '.join(map(str, kept))}",
        f"- encoder: `{info['encoder']}` with {info['num_blocks']} blocks; encoder parameters "
        f"{params_kept / 1e6:.2f} M of {params_total / 1e6:.2f} M",
        f"- model.pth: {info['model_bytes'] / 1e6:.1f} MB (source {info['source_bytes'] / 1e6:.1f} MB)",
        f"- encoder outputs equal the source's pruned at these layers (max difference "
        f"{info['max_output_difference']:.1e})",
        "- loads with " + ("this package installed (`pip install espnet_layerprune`): the encoder is "
                           f"`{info['encoder']}` with fixed units" if info["needs_espnet_layerprune"]
                           else "stock ESPnet (`python -m espnet2.bin.asr_inference`), no plugin needed"),
        "",
    ]
    if scores:
        lines += ["## Measured (decodes of the source model at the same layers)", "",
                  "| decode | utterances | WER (%) | CER (%) |", "|---|---:|---:|---:|"]
        lines += [f"| {s['decode']} | {s.get('utterances', '-')} | {s.get('wer', float('nan')):.2f} | "
                  f"{s.get('cer', float('nan')):.2f} |" for s in scores]
    else:
        lines += ["No WER is known for these layers (no scored decode of the source model kept them)."]
    lines += ["", "Share it with ESPnet's pack:", "", "```", info["pack_command"], "```", ""]
    return "\n".join(lines)


def export_pruned_model(
    asr_train_config,
    asr_model_file,
    output_dir,
    depth: Optional[int] = None,
    layers: Optional[Sequence[int]] = None,
    size: Optional[int] = None,
    overwrite: bool = False,
    use_prune_plan: bool = True,
) -> ExportResult:
    """Write a standalone ESPnet model directory of the pruned model.

    Args:
        asr_train_config: The model's ``config.yaml``.
        asr_model_file: The model's ``.pth`` file.
        output_dir: New directory (must be empty unless ``overwrite``).
        depth: Keep this many layers (the prune plan next to the model decides
            which, as in decoding).
        layers: Keep exactly these 1-based layers.
        size: Keep this many units (data-driven supernets).
        overwrite: Write into a non-empty ``output_dir``.
        use_prune_plan: Use ``prune_plan.yaml`` next to the model if present.

    Raises:
        ValueError: A depth or layer list that does not fit the model, a plan
            without the depth, or an output directory that holds the source.
        FileExistsError: ``output_dir`` is not empty and ``overwrite`` is false.
        NotImplementedError: Kept units that no encoder config can express.
    """
    from espnet2.tasks.asr import ASRTask

    output_dir = Path(output_dir)
    check_output_dir(output_dir, [asr_train_config, asr_model_file], overwrite)
    with open(asr_train_config) as f:
        conf = yaml.safe_load(f) or {}
    model, _ = ASRTask.build_model_from_file(asr_train_config, asr_model_file, "cpu")
    model.eval()
    plan = PrunePlan.find_for(asr_model_file) if use_prune_plan else None
    if plan is not None and depth is not None:
        logging.info("using prune plan %s", plan.source)
    pruned = prune_model(model, depth=depth, layers=layers, size=size, plan=plan)
    new_conf, conditioning = exported_config(conf, model.encoder, pruned)
    state = pruned_state_dict(model, pruned, conditioning)

    created_dir = not output_dir.exists()
    output_dir.mkdir(parents=True, exist_ok=True)
    config_path, model_path = output_dir / "config.yaml", output_dir / "model.pth"
    files: List[Path] = []
    try:
        files = copy_referenced_files(new_conf, output_dir)
        with open(config_path, "w") as f:
            yaml.safe_dump(new_conf, f, sort_keys=False, allow_unicode=True)
        exported, _ = ASRTask.build_model_from_file(config_path, None, "cpu")
        exported.load_state_dict(state, strict=True)  # ESPnet's own loading is not strict
        exported.eval()
        diff = _check_same_outputs(model, exported)
        if diff > 1e-4:
            raise RuntimeError(f"export check failed: encoder outputs differ by {diff:.3g}")
        torch.save(state, model_path)
    except BaseException:
        for path in [*files, config_path, model_path]:
            path.unlink(missing_ok=True)
        if created_dir and not any(output_dir.iterdir()):
            output_dir.rmdir()
        raise

    pack_args = " ".join(f"--option {portable_path(p)}" for p in files)
    result = ExportResult(
        output_dir=output_dir,
        kept_layers=pruned.kept_layers,
        encoder=new_conf["encoder"],
        source_bytes=Path(asr_model_file).stat().st_size,
        model_bytes=model_path.stat().st_size,
        files=[config_path, model_path, *files],
        pack_command=(
            f"python -m espnet2.bin.pack asr --asr_train_config {portable_path(config_path)} "
            f"--asr_model_file {portable_path(model_path)} {pack_args} "
            f"--outpath {portable_path(output_dir)}.zip"
        ),
    )
    info = {
        "source_config": str(Path(asr_train_config).resolve()),
        "source_model": str(Path(asr_model_file).resolve()),
        "pruning": pruned.to_dict(),
        "encoder": result.encoder,
        "num_blocks": len(pruned.kept_layers),
        "model_bytes": result.model_bytes,
        "source_bytes": result.source_bytes,
        "max_output_difference": diff,
        "needs_espnet_layerprune": result.encoder.startswith("prunable_"),
        "pack_command": result.pack_command,
    }
    with open(output_dir / "export_info.yaml", "w") as f:
        yaml.safe_dump(info, f, sort_keys=False)
    scores = known_scores(Path(asr_model_file).resolve().parent, pruned.kept_units)
    (output_dir / "README.md").write_text(
        model_card(info, pruned.encoder_params_kept, pruned.encoder_params_total, scores))
    logging.info(
        "exported %s: encoder %s with %d blocks (layers %s of %d), model.pth %.2f MB "
        "(source %.2f MB); outputs match within %.1e",
        output_dir, result.encoder, len(pruned.kept_layers), list(pruned.kept_layers),
        pruned.num_layers, result.model_bytes / 1e6, result.source_bytes / 1e6, diff,
    )
    logging.info("share it with: %s", result.pack_command)
    return result
