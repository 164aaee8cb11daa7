#!/usr/bin/env bash
# synth_en through ESPnet's own, unchanged egs2/TEMPLATE/asr1/asr.sh, decoded at several depths.
#
#   local/asr_sh.sh                                   # corpus, asr.sh stages 2-13, one decode per depth
#   local/asr_sh.sh --stage 5 --prune_depths "6 3"    # re-decode and re-score only
#   ./run.sh --asr_sh PATH/TO/asr.sh                  # the same, called from run.sh
#
# --stage/--stop_stage are the recipe's stages (run.sh's numbering), mapped to asr.sh's:
#   1 corpus (synth_corpus.make; replaces asr.sh's stage 1, local/data.sh)
#   2 format wav + token list   -> asr.sh 2-5 (2 speed perturbation, 3 format wav, 4 filter, 5 tokens)
#   3 statistics                -> asr.sh 10 (6-9, the LM and n-gram stages, are skipped: --use_lm false)
#   4 training                  -> asr.sh 11
#   5 decoding                  -> asr.sh 12, once per depth (--inference_args "--prune_depth N")
#                                  and per size (--inference_args "--prune_size K", model: layerprune)
#   6, 7 scoring and RESULTS.md -> asr.sh 13, likewise (sclite; RESULTS.md via show_asr_result.sh)
# The first depth runs with the whole stage range; further depths and sizes rerun only asr.sh 12-13.
#
# asr.sh runs in a recipe directory prepared here (idempotently), laid out like one made by the
# template's setup.sh: asr.sh, cmd.sh, db.sh, steps, utils, scripts, pyscripts from the template;
# our path.sh (the repository's .venv and sclite on PATH), conf/ with our configs, and data/ with
# links to the corpus. Every Python step goes through `--python "python -m espnet_layerprune.launch"`,
# which maps espnet2.bin.asr_train/asr_inference to this package's versions.
# Without --asr_sh, the template is fetched with tools/get_espnet_template.sh (pip, cached).
set -euo pipefail
cd "$(dirname "$0")/.."

asr_sh=""                # ESPnet's egs2/TEMPLATE/asr1/asr.sh; empty: fetch the pinned version's
stage=1                  # recipe stages (see above)
stop_stage=7
train_config=conf/train_supernet.yaml
decode_config=conf/decode_ctc.yaml
prune_depths="12 9 6 3"  # encoder depths to decode at
prune_sizes=""           # unit counts to decode at (data-driven supernets, model: layerprune)
inference_model=valid.loss.best.pth
corpus_dir=.             # gets data/{train,dev,test} and wav/ (stage 1)
run_dir=""               # asr.sh's recipe directory (default: ${corpus_dir}/exp/asr_sh)
train_hours=0.5
word_list_size=8         # first N entries of every word list of the text generator, or all (as run.sh)
dev_utts=150
test_utts=300
seed=0
nj=2                     # parallel jobs: corpus synthesis, asr.sh's --nj and --inference_nj
token_type=char          # char or bpe (bpe needs spm_train)
nbpe=256
asr_sh_opts=""           # more asr.sh options, e.g. "--asr_args '--max_epoch 1'" (word-split)

. ./path.sh              # ${python}: the repository's .venv
. local/parse_options.sh

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') ($(basename "$0")) $*"; }
die() { echo "error: $*" >&2; exit 1; }

recipe_dir=$(pwd)
repo_root=$(cd ../../.. && pwd)
abspath() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }

# ------------------------------------------------------------------ check the options
for v in stage stop_stage nj nbpe; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "--${v} must be a non-negative integer, got '${!v}'"
done
[ "${stage}" -ge 1 ] && [ "${stop_stage}" -le 7 ] && [ "${stage}" -le "${stop_stage}" ] \
  || die "--stage/--stop_stage are the recipe's stages 1-7 with stage <= stop_stage, got ${stage}-${stop_stage}"
case "${token_type}" in bpe|char) ;; *) die "--token_type must be bpe or char, got ${token_type}" ;; esac
[[ "${word_list_size}" =~ ^(all|[0-9]+)$ ]] || die "--word_list_size must be an integer >= 2 or 'all', got '${word_list_size}'"
list_args=(); [ "${word_list_size}" != all ] && list_args=(--word_list_size "${word_list_size}")
[ -n "${prune_depths// /}${prune_sizes// /}" ] || die "--prune_depths and --prune_sizes are both empty"
for d in ${prune_depths}; do
  [[ "${d}" =~ ^[1-9][0-9]*$ ]] || die "--prune_depths must be integers >= 1, got '${d}'"
done
for k in ${prune_sizes}; do
  [[ "${k}" =~ ^[1-9][0-9]*$ ]] || die "--prune_sizes must be integers >= 1, got '${k}'"
done
[ -f "${train_config}" ] || die "--train_config ${train_config} not found"
[ -f "${decode_config}" ] || die "--decode_config ${decode_config} not found"
train_config=$(abspath "${train_config}")
decode_config=$(abspath "${decode_config}")
mkdir -p "${corpus_dir}"
corpus_dir=$(cd "${corpus_dir}" && pwd)
run_dir=${run_dir:-${corpus_dir}/exp/asr_sh}

# Recipe stages -> asr.sh stages (0 = nothing of asr.sh).
asr_first=(- 2 2 10 11 12 13 13)
asr_last=(- 0 5 10 11 12 13 13)
asr_stage=${asr_first[${stage}]}
asr_stop_stage=${asr_last[${stop_stage}]}

# ------------------------------------------------------------------ stage 1: our corpus
if [ "${stage}" -le 1 ]; then
  log "stage 1: synthesize the corpus into ${corpus_dir}/data (${train_hours} h train)"
  # Idempotent: finished splits with the same parameters are skipped.
  ${python} -m synth_corpus.make --out_dir "${corpus_dir}" --train_hours "${train_hours}" \
    --dev_utts "${dev_utts}" --test_utts "${test_utts}" --seed "${seed}" --nj "${nj}" "${list_args[@]}"
fi
[ "${asr_stage}" -le "${asr_stop_stage}" ] || { log "no asr.sh stage requested"; exit 0; }
for split in train dev test; do
  [ -f "${corpus_dir}/data/${split}/wav.scp" ] \
    || die "${corpus_dir}/data/${split} is missing; run stage 1 (the corpus) first"
done

# ------------------------------------------------------------------ ESPnet's template
if [ -z "${asr_sh}" ]; then
  asr_sh=$(bash "${repo_root}/tools/get_espnet_template.sh")
fi
[ -f "${asr_sh}" ] || die "--asr_sh ${asr_sh} not found"
template=$(cd "$(dirname "${asr_sh}")" && pwd)
espnet_root=$(cd "${template}/../../.." && pwd)
for f in asr.sh cmd.sh db.sh steps utils scripts pyscripts; do
  [ -e "${template}/${f}" ] || die "${template} is not ESPnet's egs2/TEMPLATE/asr1 (no ${f})"
done
need=()
[ "${token_type}" = bpe ] && ! command -v spm_train > /dev/null && need+=("spm_train (Debian: sentencepiece)")
[ "${asr_stop_stage}" -ge 13 ] && ! command -v sclite > /dev/null && [ ! -x /usr/lib/sctk/bin/sclite ] \
  && need+=("sclite (Debian: sctk)")
[ ${#need[@]} -eq 0 ] || die "asr.sh needs ${need[*]}; run tools/install_system_deps.sh as root"

# ------------------------------------------------------------------ asr.sh's recipe directory
mkdir -p "${run_dir}/conf" "${run_dir}/local" "${run_dir}/data"
run_dir=$(cd "${run_dir}" && pwd)
for f in asr.sh cmd.sh db.sh steps utils scripts pyscripts; do
  ln -sfn "${template}/${f}" "${run_dir}/${f}"
done
: > "${run_dir}/local/path.sh"  # sourced last by path.sh, as in every ESPnet recipe
cat > "${run_dir}/path.sh" << EOF
# Written by ${recipe_dir}/local/asr_sh.sh: the template's path.sh with MAIN_ROOT set to the
# ESPnet tree of asr.sh, then this repository's Python and Debian's sclite first on PATH.
MAIN_ROOT=${espnet_root}
export PATH=\$PWD/utils/:\$PATH
export LC_ALL=C
[ -f "\${MAIN_ROOT}/tools/activate_python.sh" ] && . "\${MAIN_ROOT}/tools/activate_python.sh"
[ -f "\${MAIN_ROOT}/tools/extra_path.sh" ] && . "\${MAIN_ROOT}/tools/extra_path.sh"
export PATH="${repo_root}/.venv/bin:/usr/lib/sctk/bin:\${PATH}"
export OMP_NUM_THREADS=1
export PYTHONIOENCODING=UTF-8
. local/path.sh
EOF
# Our configs, refreshed on every call (asr.sh names the experiment after the file name).
# asr.sh sets the feature normalization itself (--feats_normalize global_mvn adds
# --normalize global_mvn with its stats file to training only), so a config that asks for
# global_mvn must not say so: collect-stats would build GlobalMVN without a stats file.
# That key is dropped from the copy; any other normalize value is kept and passed on.
feats_normalize=$(${python} - "${train_config}" "${run_dir}/conf/$(basename "${train_config}")" << 'EOF'
import re, sys, yaml
src, dst = sys.argv[1:]
text = open(src).read()
norm = (yaml.safe_load(text) or {}).get("normalize", "utterance_mvn")
if norm == "global_mvn":
    out, skip = [f"# Copied from {src} by local/asr_sh.sh without normalize/normalize_conf:",
                 "# asr.sh adds --normalize global_mvn --normalize_conf stats_file=... to training."], False
    for line in text.splitlines():
        if re.match(r"normalize(_conf)?\s*:", line):
            skip = True
            continue
        if skip and (line.startswith((" ", "\t", "-")) or not line.strip()):
            continue
        skip = False
        out.append(line)
    text = "\n".join(out) + "\n"
open(dst, "w").write(text)
print(norm or "none")
EOF
)
cp -f "${decode_config}" "${run_dir}/conf/$(basename "${decode_config}")"
for split in train dev test; do
  ln -sfn "${corpus_dir}/data/${split}" "${run_dir}/data/${split}"
done

token_tag=${token_type}; [ "${token_type}" = bpe ] && token_tag=bpe${nbpe}
asr_tag=$(basename "${train_config}" .yaml)_${token_tag}
asr_exp=${run_dir}/exp/asr_${asr_tag}
decode_base=$(basename "${decode_config}" .yaml)

# ------------------------------------------------------------------ asr.sh, once per depth/size
common=(
  --python "${python} -m espnet_layerprune.launch"
  --ngpu 0 --nj "${nj}" --inference_nj "${nj}" --gpu_inference false
  --train_set train --valid_set dev --test_sets test
  --feats_type raw --audio_format wav --fs 16k
  --token_type "${token_type}" --nbpe "${nbpe}"
  --use_lm false --feats_normalize "${feats_normalize}"
  --asr_config "conf/$(basename "${train_config}")" --asr_tag "${asr_tag}"
  --inference_config "conf/${decode_base}.yaml" --inference_asr_model "${inference_model}"
)
# shellcheck disable=SC2206
extra=(${asr_sh_opts})
first=true
decoded=()
settings=()
for d in ${prune_depths}; do settings+=("--prune_depth ${d}"); done
for k in ${prune_sizes}; do settings+=("--prune_size ${k}"); done
for setting in "${settings[@]}"; do
  from=${asr_stage}
  if ! ${first}; then
    [ "${asr_stop_stage}" -ge 12 ] || break  # nothing depth-specific left to run
    [ "${from}" -ge 12 ] || from=12
  fi
  first=false
  log "asr.sh stages ${from}-${asr_stop_stage}, ${setting} (in ${run_dir}, log: ${run_dir}/asr_sh.log)"
  start=$(date +%s)
  (cd "${run_dir}" && ./asr.sh "${common[@]}" "${extra[@]}" --stage "${from}" --stop_stage "${asr_stop_stage}" \
     --inference_args "${setting}") >> "${run_dir}/asr_sh.log" 2>&1 \
    || { tail -n 40 "${run_dir}/asr_sh.log" >&2; die "asr.sh failed (full log: ${run_dir}/asr_sh.log)"; }
  log "asr.sh done in $(( $(date +%s) - start )) s"
  [ "${asr_stop_stage}" -ge 12 ] && decoded+=("${setting}")
done

# ------------------------------------------------------------------ where the results are
# asr.sh's decode directory name, computed as asr.sh does from --inference_config/_args/_asr_model.
decode_dir() {
  echo "${asr_exp}/${decode_base}$(echo "$1" | sed -e "s/--/\_/g" -e "s/[ |=]//g")_asr_model_$(echo "${inference_model}" | sed -e "s/\//_/g" -e "s/\.[^.]*$//g")/test"
}
for setting in "${decoded[@]}"; do
  dir=$(decode_dir "${setting}")
  kept=$(grep -h "layer pruning: " "${dir}"/logdir/asr_inference.*.log 2>/dev/null | head -n 1 | sed -E 's/.*layer pruning: //')
  cer=$(grep -h -m 1 "Sum/Avg" "${dir}/score_cer/result.txt" 2>/dev/null | awk -F'|' '{ gsub(/ +/, " ", $4); print $4 }')
  log "${setting#--prune_}: ${kept:-?}; CER (sclite: Corr Sub Del Ins Err S.Err):${cer:- not scored} [${dir}]"
done
if [ "${asr_stop_stage}" -ge 13 ]; then
  [ -f "${asr_exp}/RESULTS.md" ] || die "asr.sh did not write ${asr_exp}/RESULTS.md"
  log "asr.sh's RESULTS.md (one row per depth or size): ${asr_exp}/RESULTS.md"
  # This package's report over asr.sh's decode directories: kept layers, parameters, RTF, learning curve.
  ${python} -m espnet_layerprune.bin.report --exp_dir "${asr_exp}" --data "${run_dir}/dump/raw/test" \
    --train_log "${asr_exp}/train.log" --out "${asr_exp}/RESULTS_by_depth.md" > /dev/null
  log "error by depth and size: ${asr_exp}/RESULTS_by_depth.md"
fi
log "all requested stages finished"
