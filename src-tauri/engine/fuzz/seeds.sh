#!/usr/bin/env bash
# Small fuzz seeds from the TICKETS.md corpus: libFuzzer runs fastest on small inputs, and it would cut the
# corpus files (up to 97 KB) to the run's -max_len anyway, keeping only their beginnings. Each corpus file
# is cut at headings into pieces of at most MAX bytes (a section longer than that is cut between lines),
# and once more as an outline, every section cut to its first 4 lines, so that pieces hold several
# batches. The files in fuzz/seeds (hand-written dialects) are added whole, and fuzz/regressions/TARGET
# (inputs that once failed) as they are.
#
#   seeds.sh TARGET OUT [MAX]
#
# For tickets_edit every seed gets the target's three selector bytes in front (ticket, batch, position),
# varied from seed to seed. OUT is created; run from anywhere.
set -euo pipefail
target="$1"
out="$2"
max="${3:-4096}"
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cut_file() { # file mode(full|outline) name
  LC_ALL=C awk -v max="$max" -v mode="$2" -v base="$tmp/$3" '
    function flush_chunk() {
      if (chunk != "") { n++; printf "%s", chunk > (base "-" n); close(base "-" n) }
      chunk = ""
    }
    function add_section(   k, m, parts, piece) {
      if (sec == "") return
      if (length(chunk) + length(sec) <= max) { chunk = chunk sec; sec = ""; return }
      flush_chunk()
      if (length(sec) <= max) { chunk = sec; sec = ""; return }
      # One section longer than max: cut it between lines.
      m = split(sec, parts, "\n")
      piece = ""
      for (k = 1; k < m; k++) {
        if (length(piece) + length(parts[k]) + 1 > max) { chunk = piece; flush_chunk(); piece = "" }
        if (length(parts[k]) + 1 <= max) piece = piece parts[k] "\n"
      }
      chunk = piece
      sec = ""
    }
    /^#+[ \t]/ || /^#+$/ { add_section(); kept = 0 }
    {
      kept++
      if (mode == "full" || kept <= 4) sec = sec $0 "\n"
    }
    END { add_section(); flush_chunk() }
  ' "$1"
}

i=0
for f in "$here"/../tests/corpus/tickets/*.md "$here"/../tests/corpus/unseen/*.md; do
  i=$((i + 1))
  cut_file "$f" full "full$i"
  cut_file "$f" outline "outline$i"
done
if [ -d "$here/seeds" ]; then
  cp "$here"/seeds/* "$tmp"/
fi
k=0
for s in "$tmp"/*; do
  k=$((k + 1))
  if [ "$target" = tickets_edit ]; then
    # ticket k, batch 1 + k/3, position: the end of the batch every third seed, else 0..3.
    pos=$((k % 3 == 0 ? 128 : k % 4))
    { printf "\\$(printf %03o $((k % 256)))\\$(printf %03o $((1 + k / 3 % 255)))\\$(printf %03o $pos)"
      cat "$s"; } >"$out/$(basename "$s")"
  else
    cp "$s" "$out/"
  fi
done
if [ -d "$here/regressions/$target" ]; then
  cp "$here/regressions/$target"/* "$out"/
fi
