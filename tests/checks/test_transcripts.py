"""Transcript checks: characters the token list lacks, counted with their utterances."""

from espnet_layerprune.checks.transcripts import unknown_tokens


def test_unknown_characters_are_counted_with_their_utterances(tmp_path):
    text = tmp_path / "text"
    text.write_text("u1 abc\nu2 abz\nu3 zz\n")
    counts, utts = unknown_tokens(text, ["<blank>", "<unk>", "a", "b", "c", "<sos/eos>"])
    assert counts["z"] == 3 and utts == ["u2", "u3"]
