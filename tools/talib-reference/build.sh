#!/usr/bin/env bash
# Builds TA-Lib's C sources (from the npm package talib@2.0.5, which carries them) together with
# reference.c, and writes the reference values to OUT_DIR/talib-reference.csv.
# Usage: build.sh OUT_DIR
# Needs npm (registry access) and gcc. Reuses OUT_DIR when the stamp matches these sources.
set -euo pipefail

OUT_DIR=${1:?usage: build.sh OUT_DIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TALIB_VERSION=2.0.5
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)

stamp=$(cat "$HERE/build.sh" "$HERE/reference.c" | sha256sum | cut -d' ' -f1)
if [[ -f "$OUT_DIR/talib-reference.csv" && -f "$OUT_DIR/stamp" && "$(cat "$OUT_DIR/stamp")" == "$stamp" ]]; then
  echo "talib-reference: up to date in $OUT_DIR"
  exit 0
fi

for tool in npm gcc tar; do
  command -v "$tool" >/dev/null || { echo "talib-reference: '$tool' is required but not on PATH" >&2; exit 3; }
done

SRC="$OUT_DIR/src"
if [[ ! -d "$SRC/package/src/lib/src/ta_func" ]]; then
  rm -rf "$SRC" && mkdir -p "$SRC"
  (cd "$SRC" && npm pack "talib@$TALIB_VERSION" --silent >/dev/null)
  tar -xzf "$SRC/talib-$TALIB_VERSION.tgz" -C "$SRC"
fi
LIB="$SRC/package/src/lib"

OBJ="$OUT_DIR/obj"
mkdir -p "$OBJ"
if [[ ! -f "$OUT_DIR/libta.a" ]]; then
  # Compile the common and function sources in parallel; ta_abstract is not needed.
  ls "$LIB"/src/ta_common/*.c "$LIB"/src/ta_func/*.c \
    | xargs -P "$(nproc)" -I{} sh -c \
      'gcc -O2 -w -c "$1" -I"$2/include" -I"$2/src/ta_common" -I"$2/src/ta_func" -o "$3/$(basename "$1" .c).o"' _ {} "$LIB" "$OBJ"
  ar rcs "$OUT_DIR/libta.a" "$OBJ"/*.o
fi

gcc -O2 -Wall -o "$OUT_DIR/reference" "$HERE/reference.c" -I"$LIB/include" "$OUT_DIR/libta.a" -lm
"$OUT_DIR/reference" > "$OUT_DIR/talib-reference.csv.tmp"
mv "$OUT_DIR/talib-reference.csv.tmp" "$OUT_DIR/talib-reference.csv"
echo "$stamp" > "$OUT_DIR/stamp"
echo "talib-reference: wrote $OUT_DIR/talib-reference.csv ($(wc -l < "$OUT_DIR/talib-reference.csv") lines)"
