#!/usr/bin/env bash
# Every example must pass `wg-ice-hook check`, and `wg-ice-hook strip` must leave no wg-quick
# or wg-ice setting in it. (DifferentialTests also feeds every stripped example to `wg setconf`.)
set -euo pipefail
cd "$(dirname "$0")/.."
hook="$(swift build --show-bin-path)/wg-ice-hook"
status=0
for f in examples/*.conf; do
  if ! "$hook" check "$f"; then
    echo "tests/examples.sh: $f does not validate" >&2
    status=1
    continue
  fi
  stripped="$("$hook" strip "$f")"
  if grep -qiE '^\s*(address|dns|mtu|table|preup|postup|predown|postdown|saveconfig|signaling|urls)\s*=|^\s*#\s*\[ice\]|^\s*\[ice\]' <<<"$stripped"; then
    echo "tests/examples.sh: strip left wg-quick or wg-ice settings in $f" >&2
    status=1
  fi
done
[ "$status" = 0 ] && echo "tests/examples.sh: $(ls examples/*.conf | wc -l) examples valid"
exit "$status"
