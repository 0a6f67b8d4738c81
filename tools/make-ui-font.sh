#!/usr/bin/env bash
# Makes src/server/web/ja.woff2, the web page's fallback Japanese font: the
# characters of Shift_JIS/CP932 (the kanji councils' Excel files can hold)
# and the symbols the page uses, from Noto Sans CJK JP Regular.
# Needs Debian's fonts-noto-cjk and fonttools with brotli
# (pip install fonttools brotli). About 2.4 MB; a minute to run.
set -euo pipefail
cd "$(dirname "$0")/.."
src=/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
tmp=$(mktemp -d)
python3 - "$tmp/unicodes.txt" <<'PY'
import sys
cps = set(range(0x20, 0x7f)) | set(range(0xa0, 0x180))
for a, b in [(0x2000, 0x206f), (0x2100, 0x22ff), (0x2460, 0x24ff), (0x2500, 0x257f),
             (0x25a0, 0x26ff), (0x3000, 0x30ff), (0x3190, 0x319f), (0x31f0, 0x31ff),
             (0x3200, 0x33ff), (0xff00, 0xffef)]:
    cps |= set(range(a, b + 1))
for cp in list(range(0x4e00, 0xa000)) + list(range(0xf900, 0xfb00)):
    try:
        chr(cp).encode("cp932")
        cps.add(cp)
    except UnicodeEncodeError:
        pass
open(sys.argv[1], "w").write(",".join("U+%04X" % c for c in sorted(cps)))
PY
# Face 0 of the collection is Noto Sans CJK JP.
pyftsubset "$src" --font-number=0 --unicodes-file="$tmp/unicodes.txt" \
  --flavor=woff2 --output-file=src/server/web/ja.woff2 \
  --layout-features='*' --no-hinting --desubroutinize
rm -r "$tmp"
ls -l src/server/web/ja.woff2
