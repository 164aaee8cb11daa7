"""The package's folders are layers, and imports only go down (module- and function-level alike).

    bin/                                   command lines: parse, check, call the library
    training/  inference/  analysis/  export/   what is done with a model (side by side)
    registry.py                            the classes ESPnet picks by name
    models/                                the ESPnet models, their input, what they serve
    encoders/  supernet/                   what runs; how it is trained (side by side)
    checks/                                inputs checked at the boundary
    core/                                  errors, files, units, plans, CTC text, data dirs

A folder may import itself and any folder below it, never one beside or above it.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "espnet_layerprune"
RANK = {"core": 0, "checks": 1, "encoders": 2, "supernet": 2, "models": 3, "registry": 4,
        "training": 5, "inference": 5, "analysis": 5, "export": 5, "bin": 6, "launch": 0, "__init__": 7}


def _layer(path: Path) -> str:
    part = path.relative_to(PACKAGE).parts[0]
    return part[: -len(".py")] if part.endswith(".py") else part


def _imported_layers(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("espnet_layerprune"):
            parts = node.module.split(".")[1:] or [alias.name for alias in node.names]
            yield node.lineno, parts[0]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "espnet_layerprune" and len(parts) > 1:
                    yield node.lineno, parts[1]


def test_every_module_belongs_to_a_layer():
    assert {_layer(p) for p in PACKAGE.rglob("*.py")} <= set(RANK)


def test_imports_only_go_down():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        mine = _layer(path)
        wrong += [f"{path.relative_to(PACKAGE)}:{line} ({mine}) imports {target}"
                  for line, target in _imported_layers(path) if target != mine and RANK[target] >= RANK[mine]]
    assert not wrong, "imports beside or above their layer:\n" + "\n".join(wrong)
