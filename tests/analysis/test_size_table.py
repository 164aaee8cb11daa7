"""The size table of a trained supernet: what each size keeps, per kind of unit and per block."""

from layerprune_models import SIMPLE, build, train

from espnet_layerprune.analysis.size_table import write_size_table


def test_size_table(tmp_path):
    model = build(SIMPLE)
    train(model, 4)
    path = write_size_table(model, tmp_path / "size_table.md")
    text = path.read_text()
    assert "| size | blocks used | ffn | mhsa | conv | kept units |" in text
    assert "masks frozen at the start of stage 2" in text
    row3 = next(line for line in text.splitlines() if line.startswith("| 3 |"))
    assert sum(int(c) for c in row3.split("|")[3:6]) == 3
    assert sum(line.startswith("| L") for line in text.splitlines()) == 3  # one per block
