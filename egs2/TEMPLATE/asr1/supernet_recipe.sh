#!/usr/bin/env bash
# Shared body of the scale recipes (egs2/{librispeech_100,librispeech,tedlium2}/asr1/run.sh): a supernet
# trained and decoded by ESPnet's own asr.sh, with ESPnet's own data preparation for the corpus.
#
# A recipe's run.sh sets three things and sources this file:
#   recipe=librispeech_100                      # ESPnet recipe it runs in (egs2/<recipe>/asr1)
#   default_config=conf/train_supernet_conformer.yaml
#   corpus_args=(--train_set ... --test_sets ... --nbpe ...)   # asr.sh options of that corpus
# then calls `supernet_recipe_main "$@"; exit`.
#
# Options of every scale recipe (anything else is passed to asr.sh, e.g. --ngpu 4):
#   --espnet_recipe DIR   ESPnet's egs2/<recipe>/asr1 (required; has asr.sh and local/data.sh)
#   --stage N / --stop_stage N   asr.sh's stages (1-13): stages up to 11 run once, the decoding stages
#                         12-13 once per depth and size; --stage 12 only decodes
#   --train_config FILE   training config (default: the recipe's default_config)
#   --prune_depths "..."  depths decoded (default: 12 9 6 3)
#   --prune_sizes "..."   unit counts decoded, for Simple-Top-k / Iterative-Zero-Out configs
#                         (default: the config's supernet sizes)

supernet_recipe_main() {
  local here repo espnet_recipe="" train_config="" inference_config prune_depths="12 9 6 3" prune_sizes=""
  local stage=1 stop_stage=13
  here=$(cd "$(dirname "$0")" && pwd)
  repo=$(cd "${here}/../../.." && pwd)
  train_config=${here}/${default_config}
  inference_config=${here}/conf/decode_ctc.yaml
  local passthrough=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --espnet_recipe|--train_config|--prune_depths|--prune_sizes|--stage|--stop_stage)
        [ $# -ge 2 ] || { echo "error: $1 needs a value" >&2; return 1; }
        printf -v "${1#--}" '%s' "$2"; shift 2 ;;
      *) passthrough+=("$1"); shift ;;
    esac
  done
  [ -x "${espnet_recipe}/asr.sh" ] || {
    echo "error: --espnet_recipe must be ESPnet's egs2/${recipe}/asr1 (with asr.sh), got '${espnet_recipe}'" >&2
    return 1; }
  [ -f "${train_config}" ] || { echo "error: --train_config ${train_config} not found" >&2; return 1; }
  for n in "${stage}" "${stop_stage}"; do
    [[ "${n}" =~ ^[0-9]+$ ]] && [ "${n}" -ge 1 ] && [ "${n}" -le 13 ] || {
      echo "error: --stage and --stop_stage must be integers in [1, 13], got '${n}'" >&2; return 1; }
  done
  [ "${stage}" -le "${stop_stage}" ] || { echo "error: --stage ${stage} is after --stop_stage ${stop_stage}" >&2; return 1; }
  train_config=$(realpath "${train_config}")
  [ -x "${repo}/.venv/bin/python" ] || make -C "${repo}" setup
  export PATH=${repo}/.venv/bin:${PATH}
  if [ -z "${prune_sizes}" ] && grep -qE "^ *method: *(simple_top_k|iterative_zero_out)" "${train_config}"; then
    prune_sizes=$(python -c 'import sys, yaml; print(*yaml.safe_load(open(sys.argv[1]))["model_conf"]["supernet"]["sizes"])' "${train_config}")
  fi

  cd "${espnet_recipe}"
  local common=(--lang en --ngpu 1 --nj 16 --gpu_inference true --inference_nj 2 --max_wav_duration 30
    --speed_perturb_factors "0.9 1.0 1.1" --audio_format flac.ark --feats_type raw --use_lm false
    --python "python -m espnet_layerprune.launch" --asr_config "${train_config}"
    --inference_config "${inference_config}" --inference_asr_model valid.loss.ave.pth "${corpus_args[@]}")
  # The user's stage range, split: training stages once, decoding stages once per depth and size.
  if [ "${stage}" -le 11 ]; then
    ./asr.sh "${common[@]}" "${passthrough[@]}" --stage "${stage}" --stop_stage "$(( stop_stage < 11 ? stop_stage : 11 ))"
  fi
  [ "${stop_stage}" -ge 12 ] || return 0
  local first=$(( stage > 12 ? stage : 12 ))
  # One decode directory per depth or size (asr.sh names it after --inference_args).
  local depth size
  for depth in ${prune_depths}; do
    ./asr.sh "${common[@]}" "${passthrough[@]}" --stage "${first}" --stop_stage "${stop_stage}" --inference_args "--prune_depth ${depth}"
  done
  for size in ${prune_sizes}; do
    ./asr.sh "${common[@]}" "${passthrough[@]}" --stage "${first}" --stop_stage "${stop_stage}" --inference_args "--prune_size ${size}"
  done
}
