#!/bin/bash
# zh_CN.po must translate every message the sources mark with _(): extract
# the messages afresh, merge, and fail on any untranslated or fuzzy entry.
set -euo pipefail
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$src"
files=$(grep -v '^#' po/POTFILES | grep -v '^$' || true)
if [ -z "$files" ]; then
	echo "po/POTFILES lists no sources"
	exit 1
fi
for f in $files; do
	[ -f "$f" ] || { echo "po/POTFILES names a missing file: $f"; exit 1; }
done
# shellcheck disable=SC2086
xgettext --from-code=UTF-8 --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 \
	--keyword=g_dngettext:2,3 --add-comments -o "$tmp/kite.pot" $files
msgmerge -q --no-fuzzy-matching "po/zh_CN.po" "$tmp/kite.pot" -o "$tmp/zh_CN.po"
stats=$(msgfmt --check --statistics -o /dev/null "$tmp/zh_CN.po" 2>&1)
echo "zh_CN: $stats"
if echo "$stats" | grep -Eq 'untranslated|fuzzy'; then
	msgattrib --untranslated --no-obsolete "$tmp/zh_CN.po" | grep '^msgid' | head -20
	exit 1
fi
# Every entry in POTFILES that uses _() must be listed: find sources that
# call _() but are missing from POTFILES.
missing=$(grep -rlE '[^A-Za-z0-9_]_\("' --include='*.c' driver emulator xml netmodels 2>/dev/null |
	grep -vxF -f <(printf '%s\n' $files) || true)
if [ -n "$missing" ]; then
	echo "sources with _() missing from po/POTFILES:"
	echo "$missing"
	exit 1
fi
