"""Where a benchmark's numbers came from: the lines every report under docs/results/ starts with."""

import platform
import subprocess
import sys
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def git_commit() -> str:
    """Short hash of HEAD, with ``+changes`` when tracked code (anything outside docs/) differs from it."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+changes" if git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs") else "")


def cpu_model() -> str:
    """The CPU's model name and its bf16 flags (timings differ a lot between the project's machines:
    an AMX Xeon multiplies bf16 matrices ~7x faster than fp32, an AVX512-BF16 EPYC ~2x)."""
    name, flags = "unknown CPU", []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and name == "unknown CPU":
                name = value.strip()
            if key.strip() == "flags" and not flags:
                flags = [f for f in value.split() if f in ("amx_bf16", "avx512_bf16")]
    except OSError:
        pass
    return f"{name} ({', '.join(flags) or 'no bf16 units'})"


def run_dir() -> str:
    """The working directory relative to the repository (the command's paths are relative to it)."""
    try:
        return str(Path.cwd().resolve().relative_to(REPO))
    except ValueError:
        return str(Path.cwd())


def header(machine: str, command: str = "", from_dir: str = "") -> list:
    """Markdown bullet lines: date and commit, machine, and the command as it was run (by default this
    process's command line, from the current directory)."""
    from_dir = from_dir or run_dir()
    command = command or "python " + " ".join([str(Path(sys.argv[0]).resolve().relative_to(REPO)), *sys.argv[1:]])
    return [
        f"- date: {datetime.now():%Y-%m-%d %H:%M}; commit {git_commit()}",
        f"- machine: {platform.machine()} {cpu_model()}, {machine}",
        f"- command (from `{from_dir}`): `{command}`",
    ]
