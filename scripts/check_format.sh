#!/usr/bin/env bash
# Fails when a C, C++ or header file is not formatted with the repo's .clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.c' '*.h' '*.cpp' '*.hpp' | while read -r f; do [[ -f "$f" ]] && echo "$f"; done)
if ! clang-format --dry-run --Werror "${files[@]}"; then
  echo "Some sources are not formatted; run: clang-format -i \$(git ls-files '*.c' '*.h' '*.cpp' '*.hpp')" >&2
  exit 1
fi
echo "format check: ${#files[@]} files formatted"
