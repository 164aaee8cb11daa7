# Environment of the recipe: the project's virtual environment (created on first use).
recipe_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "${recipe_dir}/../../.." && pwd)
if [ ! -x "${repo_root}/.venv/bin/python" ] || [ ! -f "${repo_root}/.venv/.setup-stamp" ]; then
  echo "path.sh: setting up the environment (make setup, first use only)" >&2
  make -C "${repo_root}" setup >&2
fi
export PATH="${repo_root}/.venv/bin:${PATH}"
# This checkout's package first, even when the venv's editable install points at another clone.
export PYTHONPATH="${repo_root}${PYTHONPATH:+:${PYTHONPATH}}"
export PYTHONUNBUFFERED=1
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
python=${repo_root}/.venv/bin/python
