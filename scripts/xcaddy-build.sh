#!/usr/bin/env bash
# Reproduces what
#
#   xcaddy build --with github.com/caddy-llm-gateway/caddy-llm-gateway=<this checkout>
#
# does, without the xcaddy tool: a fresh main module in a temp dir, the
# main.go xcaddy generates, a replace directive pointing the plugin at this
# checkout, Caddy at the version our go.mod requires, then xcaddy's build
# flags. The result must list the plugin's modules.
#
# Usage: scripts/xcaddy-build.sh [output]   (default ./caddy)
#
# Environment: GO (default go), XCADDY_KEEP=1 keeps the temp dir.
set -euo pipefail

GO="${GO:-go}"
PLUGIN=github.com/caddy-llm-gateway/caddy-llm-gateway
CADDY=github.com/caddyserver/caddy/v2

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
OUT="${1:-./caddy}"
case "$OUT" in
/*) ;;
*) OUT="$PWD/$OUT" ;;
esac

# The Caddy version our go.mod requires (the block or one-line require form).
CADDY_VERSION="$(awk -v m="$CADDY" '
	$1 == "require" && $2 == m { print $3; exit }
	$1 == m && $2 ~ /^v/       { print $2; exit }
' "$SRC/go.mod")"
if [[ -z "$CADDY_VERSION" ]]; then
	echo "xcaddy-build: cannot find the $CADDY version in $SRC/go.mod" >&2
	exit 1
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/xcaddy-build.XXXXXX")"
cleanup() {
	if [[ "${XCADDY_KEEP:-}" == 1 ]]; then
		echo "xcaddy-build: kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

echo "xcaddy-build: Caddy $CADDY_VERSION with $PLUGIN => $SRC" >&2
echo "xcaddy-build: working in $WORK" >&2
cd "$WORK"
export GOWORK=off      # a go.work around the temp dir must not interfere
export GOFLAGS="${GOFLAGS:-}"

"$GO" mod init caddy

# The main.go xcaddy generates.
cat >main.go <<EOF
package main

import (
	_ "time/tzdata"

	caddycmd "$CADDY/cmd"

	// plug in Caddy modules here
	_ "$CADDY/modules/standard"
	_ "$PLUGIN"
)

func main() {
	caddycmd.Main()
}
EOF

"$GO" mod edit -replace "$PLUGIN=$SRC"
"$GO" get "$CADDY@$CADDY_VERSION"
# A module satisfied by a directory replacement has the zero pseudo-version.
# A bare `go get $PLUGIN` would ask the module proxy for @latest first, which
# fails for an unpublished module (xcaddy itself skips `go get` for a plugin
# replaced by a local path, and lets the import resolve through the replace).
"$GO" get "$PLUGIN@v0.0.0-00010101000000-000000000000"
"$GO" mod tidy

echo "xcaddy-build: go build -o $OUT" >&2
"$GO" build -o "$OUT" -trimpath -ldflags "-w -s" -tags nobadger,nomysql,nopgx

# The built Caddy must be the requested version and carry the plugin.
"$OUT" version >&2
MODULES="$("$OUT" list-modules)"
if ! grep -qx 'http.handlers.llm_gateway' <<<"$MODULES"; then
	echo "xcaddy-build: $OUT does not list http.handlers.llm_gateway; modules:" >&2
	echo "$MODULES" >&2
	exit 1
fi
grep '^llm_gateway\|^http.handlers.llm_gateway' <<<"$MODULES"
echo "xcaddy-build: OK: $OUT" >&2
