#!/usr/bin/env bash
# Debian packages that ESPnet's asr.sh shells out to: spm_train (sentencepiece) and sclite (sctk).
# Installed only when missing; needs root (apt-get). Skipped with a warning otherwise.
set -u
need=()
command -v spm_train >/dev/null 2>&1 || need+=(sentencepiece)
[ -x /usr/lib/sctk/bin/sclite ] || command -v sclite >/dev/null 2>&1 || need+=(sctk)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "warning: missing Debian packages ${need[*]} (needed only by ESPnet's asr.sh); install them as root" >&2
  exit 0
fi
echo "installing Debian packages: ${need[*]}"
apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
