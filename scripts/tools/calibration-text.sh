#!/usr/bin/env bash
# Writes the larger calibration text used for GPTQ on SmolLM2-135M's output head (README, "The 4.5
# bar"): English prose that Debian ships and that is not GPL-family text, so it never overlaps the
# GPL-3 evaluation text.
#   1. Debian's /usr/share/common-licenses without GPL, LGPL or GFDL-1.2/GFDL texts: Apache-2.0,
#      MPL-2.0, MPL-1.1, Artistic, GFDL-1.3, CC0-1.0, BSD (base-files).
#   2. CMake's manuals (section 7, package cmake-data, BSD-3-Clause), rendered to plain text at 80
#      columns by man(1): cmake-buildsystem, -language, -packages, -toolchains, -developer, -qt,
#      -compile-features, -generator-expressions, -generators, -presets.
# Usage: scripts/tools/calibration-text.sh OUT.txt [licences]   (needs man-db, groff and cmake-data installed)
#   licences: part 1 alone (the ~20,000-token text of the earlier measurements).
# Prints each part's file and SHA-256 of the result; the same Debian packages give the same bytes.
set -euo pipefail
out=${1:?usage: calibration-text.sh OUT.txt [licences]}
parts=${2:-all}
case $parts in all|licences) ;; *) echo "calibration-text.sh: the second argument is 'licences' or nothing, got '$parts'" >&2; exit 64;; esac
licenses=(Apache-2.0 MPL-2.0 MPL-1.1 Artistic GFDL-1.3 CC0-1.0 BSD)
manuals=(cmake-buildsystem cmake-language cmake-packages cmake-toolchains cmake-developer cmake-qt
         cmake-compile-features cmake-generator-expressions cmake-generators cmake-presets)
command -v man >/dev/null || { echo "calibration-text.sh: man(1) is missing (apt-get install man-db groff-base)" >&2; exit 1; }
tmp=$(mktemp); trap 'rm -f "$tmp"' EXIT
for name in "${licenses[@]}"; do
  f=/usr/share/common-licenses/$name
  [ -r "$f" ] || { echo "calibration-text.sh: $f is missing (Debian's base-files)" >&2; exit 1; }
  cat "$f" >> "$tmp"; printf '\n' >> "$tmp"
done
[ "$parts" = licences ] && manuals=()
for name in "${manuals[@]}"; do
  f=/usr/share/man/man7/$name.7.gz
  [ -r "$f" ] || { echo "calibration-text.sh: $f is missing (apt-get install cmake-data)" >&2; exit 1; }
  # Plain text: no overstrike, tabs as spaces, no hyphenation at line ends.
  MANWIDTH=80 MAN_KEEP_FORMATTING=0 man --nh --nj -l "$f" 2>/dev/null | col -bx >> "$tmp"
  printf '\n' >> "$tmp"
done
# MPL-2.0 and GFDL-1.3 name the GPL; none may hold the GPL's own text (its preamble's first sentence).
if grep -qi "is a free, copyleft license for" "$tmp"; then
  echo "calibration-text.sh: the text holds GPL text; it must stay apart from the GPL-3 evaluation text" >&2; exit 1
fi
mv "$tmp" "$out"; trap - EXIT
echo "$out: $(wc -c < "$out") bytes, sha256 $(sha256sum "$out" | cut -d' ' -f1)"
echo "parts: /usr/share/common-licenses/{${licenses[*]}}; man7 ${manuals[*]} (cmake-data $(dpkg-query -W -f='${Version}' cmake-data 2>/dev/null || echo '?'))"
