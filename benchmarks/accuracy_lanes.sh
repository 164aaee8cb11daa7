#!/usr/bin/env bash
# Start (or resume) the converged accuracy study as two 1-thread queues side by side, at nice 19, in the
# background: 1.5x the training throughput of one 2-thread queue on 2 cores (see accuracy_by_depth.sh).
# Finished models are skipped and an interrupted training resumes from its last epoch, so this is the one
# command to run after every stop. Lanes already running are left alone (accuracy_lane_{a,b}.pid); a lane
# running an older queue is named, with the command that stops it (it resumes where it was).
#
#   benchmarks/accuracy_lanes.sh [--phase 1|2]    # logs: accuracy_lane_{a,b}.log in the repository root
#
# Phase 1: interCTC supernets and individually trained models (3 seeds of the supernet and of the 12- and
# 6-layer models), and the supernet with in-place distillation, early (the seed-0 supernet lost 1.05 WER
# points [+0.61, +1.48] to the individual 6-layer model and 3.68 [+3.09, +4.25] to the 3-layer one: issue 22,
# item 5), and the first seed of each data-driven supernet (moved up from phase 2 on 2026-12-07: paper 2's
# data-driven claims had no measurement at all, while phase 1's remaining entries add seeds to measured ones);
# phase 2: the other data-driven seeds, per-size heads and the compute-matched supernet.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
phase=1
[ "${1:-}" = --phase ] && phase=${2:-}
case "${phase}" in
  1) lane_a="baseline:0 individual9:0 supernet_distill:0 supernet:1 supernet_distill:1 simple_top_k:0 individual12_ictc:0 supernet:2 supernet_distill:2"
     lane_b="individual6:0 individual3:0 baseline:1 individual6:1 individual6_ictc:0 individual6:2 baseline:2 iterative_zero_out:0" ;;
  2) lane_a="simple_top_k:2 iterative_zero_out:2 simple_top_k_per_size_ctc:0"
     lane_b="simple_top_k:1 iterative_zero_out:1 supernet_matched:0" ;;   # seeds before the 4x-long run
  *) echo "error: --phase must be 1 or 2, got '${phase}'" >&2; exit 1 ;;
esac
cd "${repo}"
for lane in a b; do
  queue=lane_${lane}; queue=${!queue}
  pidfile=accuracy_lane_${lane}.pid   # the lane's process group; a lane is stopped with: kill -- -$(cat it)
  if [ -f "${pidfile}" ] && kill -0 "$(cat "${pidfile}")" 2> /dev/null; then
    running=$(tr '\0' ' ' < "/proc/$(cat "${pidfile}")/cmdline" 2> /dev/null || true)
    running=${running#*--queue }; running=${running% }   # --queue is the last argument
    if [ "${running}" = "${queue}" ]; then
      echo "lane ${lane} is running already"
    else
      echo "lane ${lane} runs another queue (${running}); stop it first: kill -- -$(cat "${pidfile}")"
    fi
    continue
  fi
  setsid nohup nice -n 19 benchmarks/accuracy_by_depth.sh --preset full --threads 1 --queue "${queue}" \
    >> "accuracy_lane_${lane}.log" 2>&1 < /dev/null &
  echo $! > "${pidfile}"
  echo "lane ${lane} started (pid $!): ${queue}; log ${repo}/accuracy_lane_${lane}.log"
done
