#!/usr/bin/env bash
# synth_en: offline synthesized English, one supernet, decoded at several depths.
#
#   ./run.sh                                  # everything, the 20-minute preset
#   ./run.sh --preset full                    # about 45 minutes: more audio, more epochs
#   ./run.sh --stage 5 --prune_depths "12 6"  # re-decode only
#   ./run.sh --train_config conf/train_baseline.yaml
#
# Stages: 1 corpus, 2 token list and word n-gram, 3 collect stats, 4 train,
#         5 decode per depth (greedy CTC, and lexicon + n-gram), 6 score (jiwer),
#         7 RESULTS.md + plots.
# Presets set the corpus size, epochs and directories; any option given explicitly wins.
#   fast (default): 16 h of audio, the config's 21 epochs of 150 updates, data in ., exp in exp/
#   full:           24 h of audio, 55 epochs, data in full/, exp in exp_full/
# With --asr_sh PATH/TO/espnet/egs2/TEMPLATE/asr1/asr.sh, stages 2-6 run through
# ESPnet's own asr.sh instead (see local/asr_sh.sh).
set -euo pipefail
cd "$(dirname "$0")"

# The whole script is one function, so bash parses it completely before running it:
# editing run.sh while a long stage runs cannot change what that run executes.
main() {
  stage=1
  stop_stage=7
  preset=fast              # fast (about 20 min on 2 cores) or full (about 45 min)
  train_hours=""           # hours of synthesized training audio (preset: 16 / 24)
  word_list_size=""        # first N entries of every word list of the text generator (preset: 8)
  dev_utts=150
  test_utts=300
  test_set=test            # the Kaldi dir under <corpus>/data that stages 5-7 decode and score
  seed=0
  nj=2                     # corpus generation workers
  decode_nj=2              # decodes run at once in stage 5 (each with nproc / decode_nj threads)
  token_type=bpe           # bpe or char
  nbpe=256
  word_lm=true             # train a word 3-gram on the training text and also decode with it
  train_config=conf/train_supernet.yaml
  decode_config=conf/decode_ctc.yaml
  lexicon_decode_config=conf/decode_ctc_lexicon.yaml
  prune_depths="12 9 6 3"  # encoder depths to decode at
  prune_sizes=""           # unit counts to decode at (data-driven supernets, model: layerprune)
  inference_model=valid.loss.ave.pth
  max_epoch=""             # override the config's max_epoch (preset full: 55)
  corpus_dir=""            # gets data/{train,dev,test} (Kaldi dirs) and wav/ (preset: . / full)
  exp_dir=""               # (preset: exp / exp_full)
  asr_sh=""                # path to ESPnet's egs2/TEMPLATE/asr1/asr.sh (optional)
  ngpu=0

  . ./path.sh
  . local/parse_options.sh
  case "${preset}" in
    fast) : "${train_hours:=16}" "${word_list_size:=8}" "${corpus_dir:=.}" "${exp_dir:=exp}" ;;
    full) : "${train_hours:=24}" "${word_list_size:=8}" "${max_epoch:=55}" "${corpus_dir:=full}" "${exp_dir:=exp_full}" ;;
    *) echo "error: --preset must be fast or full, got ${preset}" >&2; exit 1 ;;
  esac
  data_dir=${corpus_dir}/data

  log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') ($(basename "$0")) $*"; }
  stage_start=0
  begin() { stage_start=$(date +%s); log "stage $1: $2"; }
  finish() { log "stage $1 done in $(( $(date +%s) - stage_start )) s"; }

  case "${token_type}" in bpe|char) ;; *) echo "error: --token_type must be bpe or char, got ${token_type}" >&2; exit 1 ;; esac
  case "${word_lm}" in true|false) ;; *) echo "error: --word_lm must be true or false, got ${word_lm}" >&2; exit 1 ;; esac
  [[ "${word_list_size}" =~ ^(all|[0-9]+)$ ]] || { echo "error: --word_list_size must be an integer >= 2 or 'all', got '${word_list_size}'" >&2; exit 1; }
  [ -f "${train_config}" ] || { echo "error: --train_config ${train_config} not found" >&2; exit 1; }
  [[ "${decode_nj}" =~ ^[1-9][0-9]*$ ]] || { echo "error: --decode_nj must be an integer >= 1, got '${decode_nj}'" >&2; exit 1; }
  for d in ${prune_depths}; do
    [[ "${d}" =~ ^[1-9][0-9]*$ ]] || { echo "error: --prune_depths must be integers >= 1, got '${d}'" >&2; exit 1; }
  done
  for k in ${prune_sizes}; do
    [[ "${k}" =~ ^[1-9][0-9]*$ ]] || { echo "error: --prune_sizes must be integers >= 1, got '${k}'" >&2; exit 1; }
  done

  if [ -n "${asr_sh}" ]; then
    exec local/asr_sh.sh --asr_sh "${asr_sh}" --stage "${stage}" --stop_stage "${stop_stage}" \
      --train_config "${train_config}" --decode_config "${decode_config}" --inference_model "${inference_model}" \
      --prune_depths "${prune_depths}" --prune_sizes "${prune_sizes}" --corpus_dir "${corpus_dir}" \
      --token_type "${token_type}" --nbpe "${nbpe}" --nj "${nj}" \
      --train_hours "${train_hours}" --dev_utts "${dev_utts}" --test_utts "${test_utts}" --seed "${seed}" \
      --word_list_size "${word_list_size}"
  fi

  token_tag=${token_type}; [ "${token_type}" = bpe ] && token_tag=bpe${nbpe}
  token_dir=${data_dir}/token_list/${token_tag}
  token_list=${token_dir}/tokens.txt
  bpemodel=${token_dir}/bpe.model
  tag=$(basename "${train_config}" .yaml)${max_epoch:+_ep${max_epoch}}
  stats_dir=${exp_dir}/asr_stats_${token_tag}
  asr_dir=${exp_dir}/asr_${tag}_${token_tag}
  decode_tag=decode_$(basename "${decode_config}" .yaml)_$(basename "${inference_model}" .pth)
  lexicon_tag=decode_$(basename "${lexicon_decode_config}" .yaml)_$(basename "${inference_model}" .pth)
  word_lm_file=${data_dir}/lm/word3gram.json
  decodings=("${decode_tag}:${decode_config}:")
  [ "${word_lm}" = true ] && decodings+=("${lexicon_tag}:${lexicon_decode_config}:--lexicon_lm ${word_lm_file}")
  list_args=(); [ "${word_list_size}" != all ] && list_args=(--word_list_size "${word_list_size}")
  token_args=(--token_type "${token_type}" --token_list "${token_list}")
  [ "${token_type}" = bpe ] && token_args+=(--bpemodel "${bpemodel}")

  if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
    begin 1 "synthesize the corpus into ${data_dir} (${train_hours} h train)"
    ${python} -m synth_corpus.make --out_dir "${corpus_dir}" --train_hours "${train_hours}" \
      --dev_utts "${dev_utts}" --test_utts "${test_utts}" --seed "${seed}" --nj "${nj}" "${list_args[@]}"
    finish 1
  fi

  make_word_lm() {  # under a second; stage 5 makes it too if a run started after stage 2
    mkdir -p "$(dirname "${word_lm_file}")"
    ${python} -m espnet_layerprune.bin.train_ngram --text "${data_dir}/train/text" --order 3 \
      --dev_text "${data_dir}/dev/text" --out "${word_lm_file}" --overwrite true
  }

  if [ "${stage}" -le 2 ] && [ "${stop_stage}" -ge 2 ]; then
    begin 2 "token list (${token_tag})$([ "${word_lm}" = true ] && echo " and word 3-gram")"
    mkdir -p "${token_dir}"
    if [ "${token_type}" = bpe ]; then
      ${python} local/spm_train.py --text "${data_dir}/train/text" --model_prefix "${token_dir}/bpe" --vocab_size "${nbpe}"
    fi
    bpe_args=(); [ "${token_type}" = bpe ] && bpe_args=(--bpemodel "${bpemodel}")
    ${python} -m espnet2.bin.tokenize_text --token_type "${token_type}" "${bpe_args[@]}" \
      --input "${data_dir}/train/text" --output "${token_list}" --field 2- --cleaner none \
      --write_vocabulary true --add_symbol '<blank>:0' --add_symbol '<unk>:1' --add_symbol '<sos/eos>:-1'
    log "$(wc -l < "${token_list}") tokens in ${token_list}"
    [ "${word_lm}" = true ] && make_word_lm
    finish 2
  fi

  data_args() {  # data options shared by collect-stats and training
    echo --train_data_path_and_name_and_type "${data_dir}/train/wav.scp,speech,sound" \
         --train_data_path_and_name_and_type "${data_dir}/train/text,text,text" \
         --valid_data_path_and_name_and_type "${data_dir}/dev/wav.scp,speech,sound" \
         --valid_data_path_and_name_and_type "${data_dir}/dev/text,text,text"
  }

  if [ "${stage}" -le 3 ] && [ "${stop_stage}" -ge 3 ]; then
    begin 3 "collect feature statistics into ${stats_dir}"
    mkdir -p "${stats_dir}/logdir"
    # Feature statistics are read only by global_mvn; otherwise collect the shapes alone (no frontend).
    normalize=$(${python} -c 'import sys, yaml; print((yaml.safe_load(open(sys.argv[1])) or {}).get("normalize", "global_mvn"))' "${train_config}")
    shapes_only=(); [ "${normalize}" != global_mvn ] && shapes_only=(--model_conf extract_feats_in_collect_stats=false)
    # shellcheck disable=SC2046
    ${python} -m espnet_layerprune.bin.asr_train --collect_stats true --use_preprocessor true "${shapes_only[@]}" \
      "${token_args[@]}" --config "${train_config}" --output_dir "${stats_dir}" --ngpu 0 --normalize none \
      --train_shape_file "${data_dir}/train/wav.scp" --valid_shape_file "${data_dir}/dev/wav.scp" \
      $(data_args) > "${stats_dir}/logdir/stats.log" 2>&1 \
      || { tail -n 30 "${stats_dir}/logdir/stats.log" >&2; exit 1; }
    n_tokens=$(wc -l < "${token_list}")
    for split in train valid; do
      awk -v N="${n_tokens}" '{ print $0 "," N }' "${stats_dir}/${split}/text_shape" > "${stats_dir}/${split}/text_shape.${token_tag}"
    done
    finish 3
  fi

  if [ "${stage}" -le 4 ] && [ "${stop_stage}" -ge 4 ]; then
    begin 4 "train ${train_config} into ${asr_dir} (log: ${asr_dir}/train.log)"
    mkdir -p "${asr_dir}"
    extra=(); [ -n "${max_epoch}" ] && extra+=(--max_epoch "${max_epoch}")
    # Only global_mvn (ESPnet's default) reads the statistics of stage 3; utterance_mvn takes no file.
    normalize=$(${python} -c 'import sys, yaml; print((yaml.safe_load(open(sys.argv[1])) or {}).get("normalize", "global_mvn"))' "${train_config}")
    [ "${normalize}" = global_mvn ] && extra+=(--normalize_conf "stats_file=${stats_dir}/train/feats_stats.npz")
    # --resume true: an interrupted run continues from its last finished epoch.
    # shellcheck disable=SC2046
    ${python} -m espnet_layerprune.bin.asr_train --use_preprocessor true "${token_args[@]}" \
      --config "${train_config}" --output_dir "${asr_dir}" --ngpu "${ngpu}" --resume true \
      --train_shape_file "${stats_dir}/train/speech_shape" --train_shape_file "${stats_dir}/train/text_shape.${token_tag}" \
      --valid_shape_file "${stats_dir}/valid/speech_shape" --valid_shape_file "${stats_dir}/valid/text_shape.${token_tag}" \
      $(data_args) "${extra[@]}" >> "${asr_dir}/train.log" 2>&1 &
    train_pid=$!
    # One progress line per finished epoch while training runs.
    seen=0
    while kill -0 "${train_pid}" 2>/dev/null; do
      sleep 5
      now=$(grep -c "epoch results" "${asr_dir}/train.log" 2>/dev/null || true)
      if [ "${now:-0}" -gt "${seen}" ]; then
        grep -h "epoch results" "${asr_dir}/train.log" | awk -v s="${seen}" 'NR > s' \
          | sed -E 's/.*INFO: ([0-9]+epoch) results: \[train\].* loss=([0-9.]+),.*\[valid\].* cer_ctc=([0-9.]+),.* loss=([0-9.]+), time=.*/\1: train loss \2, valid loss \4, valid CER (final layer) \3/' \
          | while read -r line; do log "${line}"; done
        seen=${now}
      fi
    done
    wait "${train_pid}" || { tail -n 30 "${asr_dir}/train.log" >&2; exit 1; }
    if grep -q "^model: layerprune" "${asr_dir}/config.yaml"; then  # which units each size keeps
      ${python} -m espnet_layerprune.bin.size_table --asr_train_config "${asr_dir}/config.yaml" \
        --asr_model_file "${asr_dir}/${inference_model}" --output "${asr_dir}/size_table.md"
    fi
    finish 4
  fi

  names=(); for d in ${prune_depths}; do names+=("depth${d}"); done; for k in ${prune_sizes}; do names+=("size${k}"); done

  if [ "${stage}" -le 5 ] && [ "${stop_stage}" -ge 5 ]; then
    [ -f "${data_dir}/${test_set}/wav.scp" ] || { echo "error: --test_set ${test_set}: no ${data_dir}/${test_set}/wav.scp" >&2; exit 1; }
    begin 5 "decode ${test_set} at depths ${prune_depths}${prune_sizes:+ and sizes ${prune_sizes}} with ${inference_model}"
    settings=()
    for depth in ${prune_depths}; do settings+=("depth${depth}:--prune_depth ${depth}"); done
    for size in ${prune_sizes}; do settings+=("size${size}:--prune_size ${size}"); done
    if [ "${word_lm}" = true ] && [ ! -f "${word_lm_file}" ]; then
      log "no word LM in ${word_lm_file} (stage 2 was skipped): training it now"; make_word_lm
    fi
    # Up to decode_nj decodes at once, each with its share of the cores (one process per decode,
    # as asr.sh runs them); each decodes into a temporary directory moved into place when complete.
    threads=$(( $(nproc) / decode_nj )); [ "${threads}" -ge 1 ] || threads=1
    decode_one() {  # decode_one DTAG DCONFIG DFLAGS NAME FLAG
      local out=${asr_dir}/$1/${test_set}/$4 start; start=$(date +%s)
      rm -rf "${out}.tmp"; mkdir -p "${out}.tmp"
      # shellcheck disable=SC2086
      OMP_NUM_THREADS=${threads} ${python} -m espnet_layerprune.bin.asr_inference --config "$2" --ngpu "${ngpu}" \
        --asr_train_config "${asr_dir}/config.yaml" --asr_model_file "${asr_dir}/${inference_model}" \
        --data_path_and_name_and_type "${data_dir}/${test_set}/wav.scp,speech,sound" \
        --output_dir "${out}.tmp" $5 $3 > "${out}.tmp.log" 2>&1 \
        || { tail -n 30 "${out}.tmp.log" >&2; return 1; }
      rm -rf "${out}"; mv "${out}.tmp" "${out}"; mv "${out}.tmp.log" "${out}/decode.log"
      log "$1 $4: $(grep -h 'layer pruning' "${out}/decode.log" | head -n1 | sed -E 's/.*layer pruning: //') [$(( $(date +%s) - start )) s]"
    }
    failures=${asr_dir}/.stage5_failures; rm -f "${failures}"
    for decoding in "${decodings[@]}"; do
      IFS=: read -r dtag dconfig dflags <<< "${decoding}"
      for setting in "${settings[@]}"; do
        name=${setting%%:*}; flag=${setting#*:}
        out=${asr_dir}/${dtag}/${test_set}/${name}
        if [ -f "${out}/pruning.yaml" ] && [ -f "${out}/1best_recog/text" ]; then
          log "${dtag} ${name}: already decoded in ${out}, skipping"; continue
        fi
        while [ "$(jobs -rp | wc -l)" -ge "${decode_nj}" ]; do wait -n || true; done
        { decode_one "${dtag}" "${dconfig}" "${dflags}" "${name}" "${flag}" || echo "${dtag} ${name}" >> "${failures}"; } &
      done
    done
    wait  # a failure is recorded in ${failures}, not in an exit status that wait -n may have taken
    if [ -s "${failures}" ]; then
      echo "error: stage 5 decodes failed (their logs are above): $(paste -sd, "${failures}")" >&2; exit 1
    fi
    finish 5
  fi

  if [ "${stage}" -le 6 ] && [ "${stop_stage}" -ge 6 ]; then
    begin 6 "score with jiwer"
    for decoding in "${decodings[@]}"; do
      dtag=${decoding%%:*}
      for name in "${names[@]}"; do
        out=${asr_dir}/${dtag}/${test_set}/${name}
        ${python} local/score.py --ref "${data_dir}/${test_set}/text" --hyp "${out}/1best_recog/text" --out "${out}/score.json"
      done
    done
    finish 6
  fi

  if [ "${stage}" -le 7 ] && [ "${stop_stage}" -ge 7 ]; then
    begin 7 "write ${asr_dir}/RESULTS.md (error by depth and size, learning curve, plots)"
    report_dirs=(); for decoding in "${decodings[@]}"; do report_dirs+=("${asr_dir}/${decoding%%:*}"); done
    ${python} -m espnet_layerprune.bin.report --exp_dir "${report_dirs[@]}" --data "${data_dir}/${test_set}" \
      --train_log "${asr_dir}/train.log" --title "$(basename "${train_config}" .yaml)" --out "${asr_dir}/RESULTS.md"
    finish 7
  fi

  log "all requested stages finished"
}

main "$@"; exit  # exit on the same line: nothing after it is read
