#!/usr/bin/env bash
# Re-fetch the GraphiQL page's third-party files from the npm registry (`npm pack`, exact
# versions), keep only the minified browser builds and each package's LICENSE, and rewrite
# VERSIONS with each tarball's integrity. To upgrade: change a version below, run
#   bash schema/graphiql/vendor.sh
# then `make test` (tests/core/test_graphiql.py, tests/browser/test_graphiql_offline.py) and commit.
# GraphiQL 4.x is the last line with a UMD build and 5.x has none (ESM + bundler only): stay on a
# version whose package ships graphiql.min.js expecting the React/ReactDOM globals.
set -euo pipefail

REACT=18.3.1      # React 19 ships no UMD builds
GRAPHIQL=3.9.0    # graphiql.min.js: UMD, minified, needs window.React + window.ReactDOM

here="$(cd "$(dirname "$0")" && pwd)"
static="$here/static"
licenses="$here/licenses"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$static" "$licenses"

# name version file-in-package:target-in-static ...
fetch() {
  local name="$1" version="$2"; shift 2
  (cd "$tmp" && npm pack --silent --json "$name@$version" >"$tmp/$name.json")
  local tgz integrity
  tgz="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["filename"])' "$tmp/$name.json")"
  integrity="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["integrity"])' "$tmp/$name.json")"
  mkdir -p "$tmp/$name"
  tar xzf "$tmp/$tgz" -C "$tmp/$name"
  local spec src dst
  for spec in "$@"; do
    src="${spec%%:*}"; dst="${spec#*:}"
    cp "$tmp/$name/package/$src" "$static/$dst"
    echo "$dst $name@$version $tgz $(sha256sum "$static/$dst" | cut -d' ' -f1)" >>"$tmp/files"
  done
  cp "$tmp/$name/package/LICENSE" "$licenses/LICENSE.$name"
  echo "$name@$version $tgz $integrity $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["license"])' "$tmp/$name/package/package.json")" >>"$tmp/packages"
}

: >"$tmp/files"; : >"$tmp/packages"
fetch react "$REACT" umd/react.production.min.js:react.production.min.js
fetch react-dom "$REACT" umd/react-dom.production.min.js:react-dom.production.min.js
fetch graphiql "$GRAPHIQL" graphiql.min.js:graphiql.min.js graphiql.min.css:graphiql.min.css

{
  echo "# Third-party files of the GraphiQL page, written by vendor.sh: do not edit by hand."
  echo "# package  npm-tarball  tarball-integrity  licence (text in licenses/LICENSE.<package>)"
  cat "$tmp/packages"
  echo
  echo "# file-in-static/  from  tarball  sha256"
  cat "$tmp/files"
} >"$here/VERSIONS"
cat "$here/VERSIONS"
