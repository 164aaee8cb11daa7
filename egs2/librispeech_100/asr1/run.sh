#!/usr/bin/env bash
# LibriSpeech-100 supernet (Xu et al. 2024 setup scaled to train-clean-100), through ESPnet's own asr.sh
# and its own data preparation. Needs a GPU, the LibriSpeech corpus and an ESPnet recipe directory:
#
#   git clone https://github.com/espnet/espnet   # or: pip download espnet==202611 --no-binary :all:
#   ./run.sh --espnet_recipe /path/to/espnet/egs2/librispeech_100/asr1 [--train_config conf/...yaml]
#
# Every extra option is passed to asr.sh (e.g. --stage 11 --ngpu 4).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "${here}/../../.." && pwd)

espnet_recipe=""
train_config=${here}/conf/train_supernet_conformer.yaml
inference_config=${here}/conf/decode_ctc.yaml
prune_depths="12 9 6 3"
if [ "${1:-}" = --espnet_recipe ]; then espnet_recipe=$2; shift 2; fi
if [ "${1:-}" = --train_config ]; then train_config=$(realpath "$2"); shift 2; fi
[ -x "${espnet_recipe}/asr.sh" ] || { echo "error: --espnet_recipe must be ESPnet's egs2/librispeech_100/asr1 (with asr.sh), got '${espnet_recipe}'" >&2; exit 1; }
[ -x "${repo}/.venv/bin/python" ] || make -C "${repo}" setup
export PATH=${repo}/.venv/bin:${PATH}

cd "${espnet_recipe}"
common=(--lang en --ngpu 1 --nj 16 --gpu_inference true --inference_nj 2 --nbpe 5000 --max_wav_duration 30
  --speed_perturb_factors "0.9 1.0 1.1" --audio_format flac.ark --feats_type raw --use_lm false
  --python "python -m espnet_layerprune.launch" --asr_config "${train_config}" --inference_config "${inference_config}"
  --inference_asr_model valid.loss.ave.pth --train_set train_clean_100 --valid_set dev
  --test_sets "test_clean test_other dev_clean dev_other" --bpe_train_text data/train_clean_100/text)
./asr.sh "${common[@]}" --stop_stage 11 "$@"
for depth in ${prune_depths}; do  # one decode directory per depth (named by --inference_args)
  ./asr.sh "${common[@]}" --stage 12 --stop_stage 13 --inference_args "--prune_depth ${depth}" "$@"
done
