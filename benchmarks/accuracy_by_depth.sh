#!/usr/bin/env bash
# Accuracy at every depth, side by side on one corpus (synth_en), one token list, one schedule:
#   - individually trained models of depths 3L/4, L/2, L/4 (the papers' reference; the plain model
#     below is the individually trained model of depth L: same config),
#   - a plain model (no intermediate CTC, no stochastic depth) pruned at run time,
#   - supernets: stochastic depth + intermediate CTC, Simple-Top-k, Iterative-Zero-Out.
# Then writes docs/results/accuracy.md (+ .png) and the training cost table.
#
#   benchmarks/accuracy_by_depth.sh [--max_epoch 8] [--individual_depths "9 6 3"] \
#       [--methods "supernet simple_top_k iterative_zero_out"]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
recipe=${repo}/egs2/synth_en/asr1
cd "${recipe}"

max_epoch=8
depths="12 9 6 3"             # depths every pruned model is decoded at
individual_depths="9 6 3"     # depths of the individually trained models (L comes from the plain model)
methods="supernet simple_top_k iterative_zero_out"
corpus_dir=.
exp_dir=exp                   # shares the main job's corpus, token list and supernet (no retraining)
. ./path.sh
. local/parse_options.sh

configs=()
gen=${exp_dir}/bench_configs; mkdir -p "${gen}"
for d in ${individual_depths}; do  # individually trained models: the baseline architecture with d layers
  cfg=${gen}/train_individual_d${d}.yaml
  ${python} - "${recipe}/conf/train_baseline.yaml" "${cfg}" "${d}" "${max_epoch}" <<'PY'
import sys, yaml
conf = yaml.safe_load(open(sys.argv[1]))
conf["encoder_conf"]["num_blocks"] = int(sys.argv[3])
conf["max_epoch"] = int(sys.argv[4])
yaml.safe_dump(conf, open(sys.argv[2], "w"), sort_keys=False)
PY
  configs+=("${cfg}:${d}")
done
configs+=("conf/train_baseline.yaml:${depths}")
for m in ${methods}; do
  case "${m}" in
    supernet) configs+=("conf/train_supernet.yaml:${depths}") ;;
    *) [ -f "conf/train_${m}.yaml" ] && configs+=("conf/train_${m}.yaml:${depths}") \
         || echo "warning: conf/train_${m}.yaml not found, skipping ${m}" >&2 ;;
  esac
done

# Corpus, token list and feature statistics once (shared by every model), then train + decode each.
./run.sh --stage 1 --stop_stage 3 --corpus_dir "${corpus_dir}" --exp_dir "${exp_dir}"
for entry in "${configs[@]}"; do
  cfg=${entry%%:*}; ds=${entry#*:}
  sizes=""  # the data-driven supernets are also decoded at their size categories
  grep -qE "^ *method: *(simple_top_k|iterative_zero_out)" "${cfg}" \
    && sizes=$(${python} -c 'import sys, yaml; print(*yaml.safe_load(open(sys.argv[1]))["model_conf"]["supernet"]["sizes"])' "${cfg}")
  echo "=== ${cfg} (depths ${ds}${sizes:+; sizes ${sizes}})"
  ./run.sh --stage 4 --stop_stage 7 --corpus_dir "${corpus_dir}" --exp_dir "${exp_dir}" \
    --train_config "${cfg}" --prune_depths "${ds}" --prune_sizes "${sizes}"
done

${python} "${repo}/benchmarks/collect_accuracy.py" --exp_dir "${exp_dir}" --max_epoch "${max_epoch}" \
  --out "${repo}/docs/results/accuracy.md"
