#!/usr/bin/env bash
# The papers' claims at a converged operating point, with seeds: supernets against individually trained
# models at every depth. Every model gets the recipe preset's corpus, tokens, updates, LR schedule and
# checkpoint averaging (--preset full: 24 h, 55 x 150 updates, near the dev plateau; see docs/results/accuracy.md).
# Data-driven supernets are trained with the reference code's behaviour wherever it is an option (row-mode
# stochastic depth, soft gates, first zero-out iteration 3x longer, stage-1 head; docs/supernet.md).
#
#   benchmarks/accuracy_by_depth.sh [--preset full] [--queue "baseline:0 individual6:0 supernet:1 ..."]
#   benchmarks/collect_accuracy.py --exp_dir egs2/synth_en/asr1/exp_full --out docs/results/accuracy.md
#
# Models are decoded on a test set 4x the recipe's (--test_utts 1200: held-out voices, the recipe's 300 test
# utterances included), so that paired differences resolve about 0.25 WER points instead of 0.5.
# Two queues side by side with --threads 1 each (disjoint --queue lists, same --exp_dir) train 1.5x more
# updates per second on 2 cores than one queue with 2 threads (benchmarks/train_step_cost.py run as two
# 1-thread jobs at once: 0.229 and 0.248 s per update, against 0.179 s for one 2-thread job, 2026-12-07).
# Queue entries are MODEL:SEED, trained and decoded in that order (most informative first, so a stopped
# run has the comparisons that matter); re-running skips finished trainings and decodes. Models:
#   baseline          plain model (no intermediate CTC, no stochastic depth) = the individually trained
#                     12-layer model, also decoded pruned at run time (depths 12 9 6 3)
#   individualD       the plain model with D layers (decoded at D)
#   individualD_ictc  D layers WITH intermediate CTC at every layer, no stochastic depth (deep supervision
#                     without weight sharing across depths; decoded at every listed depth <= D)
#   supernet_matched  the supernet given the individual models' total updates (4 x the preset's epochs)
#   supernet          interCTC + stochastic depth (conf/train_supernet.yaml; seed 0 IS the main job's model)
#   supernet_distill  the supernet with in-place distillation (model_conf.interctc_distill_weight 0.5: the
#                     top layer's posteriors teach the intermediate CTC layers; issue 22, item 5)
#   simple_top_k, iterative_zero_out            data-driven supernets (decoded at depths and at sizes)
#   simple_top_k_per_size_ctc                   Simple-Top-k with one CTC head per size
# Decoding is greedy CTC only (the comparison is of the networks, not of the LM).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
recipe=${repo}/egs2/synth_en/asr1
cd "${recipe}"

preset=full   # the recipe preset whose corpus, stats, epochs and seed-0 supernet are reused
threads=""    # torch threads per training/decode (default: all cores); 1 for two queues side by side
test_utts=1200  # the study's test set: the corpus's held-out test stream continued (benchmarks/study_test_set.py)
exp_dir=""    # (preset: exp / exp_full)
depths="12 9 6 3"
queue="supernet:0 baseline:0 individual6:0 individual9:0 individual3:0 supernet:1 baseline:1 individual6:1"
queue+=" individual12_ictc:0 individual6_ictc:0 supernet:2 baseline:2 individual6:2"
queue+=" simple_top_k:0 iterative_zero_out:0 simple_top_k:1 iterative_zero_out:1 simple_top_k:2"
queue+=" iterative_zero_out:2 simple_top_k_per_size_ctc:0 supernet_matched:0"
. ./path.sh
. local/parse_options.sh
case "${preset}" in
  fast) corpus_dir=.; : "${exp_dir:=exp}"; epochs=$(grep -E '^max_epoch:' conf/train_supernet.yaml | awk '{print $2}') ;;
  full) corpus_dir=full; : "${exp_dir:=exp_full}"; epochs=55 ;;
  *) echo "error: --preset must be fast or full, got ${preset}" >&2; exit 1 ;;
esac

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (accuracy_by_depth) $*"; }
if [ ! -f "${corpus_dir}/data/test/text" ] || [ ! -f "${exp_dir}/asr_stats_bpe256/train/speech_shape" ]; then
  log "no corpus or statistics yet: running the ${preset} preset's stages 1-3"
  ./run.sh --preset "${preset}" --stage 1 --stop_stage 3 --exp_dir "${exp_dir}"
fi

if [ -n "${threads}" ]; then
  [[ "${threads}" =~ ^[1-9][0-9]*$ ]] || { echo "error: --threads must be an integer >= 1, got '${threads}'" >&2; exit 1; }
  export OMP_NUM_THREADS=${threads}
fi
[[ "${test_utts}" =~ ^[0-9]+$ ]] && [ "${test_utts}" -ge 300 ] || { echo "error: --test_utts must be an integer >= 300, got '${test_utts}'" >&2; exit 1; }
${python} "${repo}/benchmarks/study_test_set.py" --corpus_dir "${corpus_dir}" --num_utts "${test_utts}" --nj 2

gen=${exp_dir}/bench_configs; mkdir -p "${gen}"
make_config() {  # make_config BASE OUT SEED [num_blocks] [per_size_ctc] [no_stochastic_depth] [distill_weight]
  ${python} - "$@" <<'PY'
import sys, yaml
base, out, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
conf = yaml.safe_load(open(base))
conf["seed"] = seed                                  # ESPnet's seed: initialisation and batches
if (conf.get("model_conf") or {}).get("supernet", {}).get("seed") is not None:
    conf["model_conf"]["supernet"]["seed"] = seed    # the supernet's own draws
if len(sys.argv) > 4 and sys.argv[4]:
    conf["encoder_conf"]["num_blocks"] = int(sys.argv[4])
if len(sys.argv) > 5 and sys.argv[5] == "true":
    conf["model_conf"]["per_size_ctc"] = True
if len(sys.argv) > 6 and sys.argv[6] == "true":
    conf["encoder_conf"]["stochastic_depth_rate"] = 0.0
if len(sys.argv) > 7 and sys.argv[7]:
    conf["model_conf"]["interctc_distill_weight"] = float(sys.argv[7])
supernet = (conf.get("model_conf") or {}).get("supernet") or {}
if supernet.get("method") in ("simple_top_k", "iterative_zero_out"):
    # The reference code's behaviour wherever it is an option (docs/supernet.md, "Where we differ").
    supernet["stochastic_depth_mode"] = "row"
    if supernet["method"] == "simple_top_k":
        supernet["gates"] = "soft"
    else:
        supernet["first_iteration_factor"] = 3.0
    if conf["model_conf"].get("per_size_ctc"):
        supernet["stage1_head"] = "smallest"
yaml.safe_dump(conf, open(out, "w"), sort_keys=False)
PY
}

for entry in ${queue}; do
  model=${entry%%:*}; seed=${entry#*:}
  [[ "${seed}" =~ ^[0-9]+$ ]] || { echo "error: queue entry ${entry}: the seed must be an integer" >&2; exit 1; }
  ds=${depths}; blocks=""; per_size=""; no_sd=""; distill=""; ep=${epochs}
  case "${model}" in
    baseline) base=conf/train_baseline.yaml ;;
    individual[0-9]*_ictc) base=conf/train_supernet.yaml; blocks=${model#individual}; blocks=${blocks%_ictc}
      no_sd=true; ds=$(for d in ${depths}; do [ "${d}" -le "${blocks}" ] && echo "${d}"; done | xargs) ;;
    individual[0-9]*) base=conf/train_baseline.yaml; blocks=${model#individual}; ds=${blocks} ;;
    supernet) base=conf/train_supernet.yaml ;;
    supernet_matched) base=conf/train_supernet.yaml; ep=$(( epochs * 4 )) ;;  # = individual 12+9+6+3 updates
    supernet_distill) base=conf/train_supernet.yaml; distill=0.5 ;;
    simple_top_k|iterative_zero_out) base=conf/train_${model}.yaml ;;
    simple_top_k_per_size_ctc) base=conf/train_simple_top_k.yaml; per_size=true ;;
    *) echo "error: unknown model '${model}' in --queue (baseline, individualD, individualD_ictc, supernet, supernet_matched, supernet_distill, simple_top_k, iterative_zero_out, simple_top_k_per_size_ctc)" >&2; exit 1 ;;
  esac
  last=7
  if [ "${model}" = supernet ] && [ "${seed}" = 0 ]; then
    cfg=conf/train_supernet.yaml   # the main job's model (seed 0): not trained twice,
    last=6                         # and its RESULTS.md (with the lexicon decoder) is left as it is
  else
    cfg=${gen}/train_${model}_seed${seed}.yaml
    make_config "${base}" "${cfg}" "${seed}" "${blocks}" "${per_size}" "${no_sd}" "${distill}"
  fi
  sizes=""
  grep -qE "^ *method: *(simple_top_k|iterative_zero_out)" "${cfg}" \
    && sizes=$(${python} -c 'import sys, yaml; print(*yaml.safe_load(open(sys.argv[1]))["model_conf"]["supernet"]["sizes"])' "${cfg}")
  log "=== ${model} seed ${seed}: ${cfg} (depths ${ds}${sizes:+; sizes ${sizes}})"
  ./run.sh --preset "${preset}" --max_epoch "${ep}" --stage 4 --stop_stage "${last}" --exp_dir "${exp_dir}" \
    --train_config "${cfg}" --word_lm false --test_set test_study \
    --prune_depths "${ds}" --prune_sizes "${sizes}"
done
log "queue finished; collect with: ${python} ${repo}/benchmarks/collect_accuracy.py --exp_dir ${recipe}/${exp_dir} --data ${recipe}/${corpus_dir}/data/test_study --out docs/results/accuracy.md"
