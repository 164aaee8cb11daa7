#!/usr/bin/env bash
# Fetch ESPnet's recipe template (egs2/TEMPLATE/asr1: asr.sh, steps/, utils/, scripts/, pyscripts/)
# from the source distribution of the pinned espnet version, into a git-ignored cache, and print
# the path of asr.sh. Idempotent: a finished extraction is reused.
#
#   tools/get_espnet_template.sh              # -> <repo>/.cache/espnet-<version>/egs2/TEMPLATE/asr1/asr.sh
#
# The template is not in ESPnet's wheel, only in its sdist on PyPI (about 36 MB), which is
# downloaded with pip (`pip download espnet==<version> --no-deps --no-binary :all:`).
# Environment:
#   ESPNET_TEMPLATE_CACHE  cache directory (default <repo>/.cache)
#   ESPNET_SDIST           an already downloaded espnet-<version>.tar.gz to use instead of pip
# The extracted tree gets tools/activate_python.sh (read by the template's path.sh), which puts
# this repository's .venv/bin and Debian's sctk (/usr/lib/sctk/bin, for sclite) first on PATH.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
version=$(sed -n 's/^espnet==\([^ ;#]*\).*/\1/p' "${repo}/requirements.txt" | head -n 1)
[ -n "${version}" ] || { echo "error: no 'espnet==<version>' pin in ${repo}/requirements.txt" >&2; exit 1; }
cache=${ESPNET_TEMPLATE_CACHE:-${repo}/.cache}
dest=${cache}/espnet-${version}
asr_sh=${dest}/egs2/TEMPLATE/asr1/asr.sh

write_activate() {  # regenerated on every call: cheap, and follows a moved checkout
  cat > "${dest}/tools/activate_python.sh" << EOF
# Written by tools/get_espnet_template.sh: the Python of espnet_layerprune (${repo}/.venv)
# and Debian's sclite for ESPnet's recipe scripts.
export PATH="${repo}/.venv/bin:/usr/lib/sctk/bin:\${PATH}"
EOF
}

if [ -f "${dest}/.done" ] && [ -x "${asr_sh}" ]; then
  write_activate
  echo "${asr_sh}"
  exit 0
fi

mkdir -p "${cache}/downloads"
sdist=${ESPNET_SDIST:-${cache}/downloads/espnet-${version}.tar.gz}
if [ ! -f "${sdist}" ]; then
  python=${repo}/.venv/bin/python
  [ -x "${python}" ] || python=$(command -v python3)
  echo "downloading the espnet ${version} source distribution (about 36 MB) into ${cache}/downloads" >&2
  "${python}" -m pip download -q "espnet==${version}" --no-deps --no-binary :all: \
    --python-version 3.12 -d "${cache}/downloads" >&2 \
    || { echo "error: pip download espnet==${version} (sdist) failed; download it by hand and set ESPNET_SDIST" >&2; exit 1; }
  [ -f "${sdist}" ] || { echo "error: pip did not produce ${sdist}" >&2; exit 1; }
fi

# Extract only what recipes need, into a temporary directory first: an interrupted
# extraction never looks finished.
tmp=${dest}.tmp.$$
rm -rf "${tmp}"
mkdir -p "${tmp}"
trap 'rm -rf "${tmp}"' EXIT
tar -xzf "${sdist}" -C "${tmp}" --strip-components 1 \
  "espnet-${version}/egs2/TEMPLATE/asr1" "espnet-${version}/tools/extra_path.sh" \
  || { echo "error: ${sdist} has no egs2/TEMPLATE/asr1 (not an espnet ${version} sdist?)" >&2; exit 1; }
[ -x "${tmp}/egs2/TEMPLATE/asr1/asr.sh" ] || { echo "error: asr.sh missing in ${sdist}" >&2; exit 1; }
rm -rf "${dest}"
mv "${tmp}" "${dest}"
trap - EXIT
write_activate
echo "espnet ${version} ($(basename "${sdist}"))" > "${dest}/.done"
echo "${asr_sh}"
