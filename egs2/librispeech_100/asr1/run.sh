#!/usr/bin/env bash
# LibriSpeech-100 supernet (the Xu et al. 2024 setup scaled to train-clean-100: d=256, ESPnet's
# librispeech_100 conformer size), through ESPnet's own asr.sh and data preparation. Needs a GPU, the
# LibriSpeech corpus and ESPnet's recipe directory (see docs/scale_recipes.md for what it costs):
#
#   git clone https://github.com/espnet/espnet   # or: pip download espnet==202611 --no-binary :all:
#   ./run.sh --espnet_recipe /path/to/espnet/egs2/librispeech_100/asr1 \
#       [--train_config conf/train_simple_top_k_conformer.yaml] [--prune_depths "12 6"] [asr.sh options]
set -euo pipefail
recipe=librispeech_100
default_config=conf/train_supernet_conformer.yaml
corpus_args=(--nbpe 5000 --train_set train_clean_100 --valid_set dev
  --test_sets "test_clean test_other dev_clean dev_other" --bpe_train_text data/train_clean_100/text)
. "$(dirname "$0")/../../TEMPLATE/asr1/supernet_recipe.sh"
supernet_recipe_main "$@"; exit
