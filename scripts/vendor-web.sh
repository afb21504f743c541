#!/usr/bin/env bash
# Refreshes the portal's vendored front-end files from the npm registry:
# htmx (progressive enhancement) and Pico CSS (semantic styles). The
# minified files and their licences are committed; nothing here runs at
# build or run time, and Node.js is needed only to run this script.
set -euo pipefail
cd "$(dirname "$0")/.."
HTMX_VERSION=${HTMX_VERSION:-2.0.11}
PICO_VERSION=${PICO_VERSION:-2.1.1}
dest=portal/static/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "htmx.org@$HTMX_VERSION" "@picocss/pico@$PICO_VERSION" >/dev/null)
mkdir -p "$tmp/htmx" "$tmp/pico" "$dest"
tar xzf "$tmp/htmx.org-$HTMX_VERSION.tgz" -C "$tmp/htmx"
tar xzf "$tmp/picocss-pico-$PICO_VERSION.tgz" -C "$tmp/pico"
cp "$tmp/htmx/package/dist/htmx.min.js" "$dest/htmx.min.js"
cp "$tmp/htmx/package/LICENSE" "$dest/htmx.LICENSE"
cp "$tmp/pico/package/css/pico.min.css" "$dest/pico.min.css"
cp "$tmp/pico/package/LICENSE.md" "$dest/pico.LICENSE.md"
printf 'htmx.org %s\n@picocss/pico %s\n' "$HTMX_VERSION" "$PICO_VERSION" > "$dest/VERSIONS"
echo "vendored htmx $HTMX_VERSION and Pico $PICO_VERSION into $dest"
