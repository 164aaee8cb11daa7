#!/usr/bin/env bash
# LibriSpeech-960 supernet (the Xu et al. 2024 LibriSpeech size: d=512, 8 heads, ff 2048, about 74 M
# params), through ESPnet's own asr.sh and data preparation. Needs GPUs, the LibriSpeech corpus and
# ESPnet's recipe directory (see docs/scale_recipes.md for what it costs):
#
#   git clone https://github.com/espnet/espnet   # or: pip download espnet==202611 --no-binary :all:
#   ./run.sh --espnet_recipe /path/to/espnet/egs2/librispeech/asr1 --ngpu 4 \
#       [--train_config conf/train_simple_top_k_conformer.yaml] [--prune_depths "12 6"] [asr.sh options]
set -euo pipefail
recipe=librispeech
default_config=conf/train_supernet_conformer.yaml
corpus_args=(--nbpe 5000 --train_set train_960 --valid_set dev
  --test_sets "test_clean test_other dev_clean dev_other" --bpe_train_text data/train_960/text)
. "$(dirname "$0")/../../TEMPLATE/asr1/supernet_recipe.sh"
supernet_recipe_main "$@"; exit
