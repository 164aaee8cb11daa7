#!/usr/bin/env bash
# Kaldi-style option parsing: "--name value" sets the shell variable $name, which must
# already be defined by the caller (so a typo is an error, not a silent new variable).
# Source it after the defaults: `. local/parse_options.sh`.
while [ $# -gt 0 ]; do
  case "$1" in
    --help|-h)
      echo "usage: $0 [--option value ...]; options are the variables at the top of $0" >&2
      exit 0 ;;
    --*)
      __name="${1#--}"; __name="${__name//-/_}"
      if [ -z "${__name}" ] || ! declare -p "${__name}" >/dev/null 2>&1; then
        echo "error: unknown option $1 (see the variables at the top of $0)" >&2; exit 1
      fi
      if [ $# -lt 2 ]; then echo "error: option $1 needs a value" >&2; exit 1; fi
      printf -v "${__name}" '%s' "$2"
      shift 2 ;;
    *) break ;;
  esac
done
unset __name
