#!/usr/bin/env bash
# TED-LIUM-v2 supernet (the Xu et al. 2024 TED-LIUM-v2 size: d=384, 6 heads, ff 1536, about 42 M params),
# through ESPnet's own asr.sh and data preparation. Needs a GPU, TED-LIUM-v2 and ESPnet's recipe directory
# (see docs/scale_recipes.md for what it costs):
#
#   git clone https://github.com/espnet/espnet   # or: pip download espnet==202611 --no-binary :all:
#   ./run.sh --espnet_recipe /path/to/espnet/egs2/tedlium2/asr1 \
#       [--train_config conf/train_simple_top_k_conformer.yaml] [--prune_depths "12 6"] [asr.sh options]
set -euo pipefail
recipe=tedlium2
default_config=conf/train_supernet_conformer.yaml
corpus_args=(--nbpe 500 --train_set train --valid_set dev --test_sets "dev test" --bpe_train_text data/train/text)
. "$(dirname "$0")/../../TEMPLATE/asr1/supernet_recipe.sh"
supernet_recipe_main "$@"; exit
