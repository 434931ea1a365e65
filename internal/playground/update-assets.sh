#!/usr/bin/env bash
# Refreshes the GraphiQL assets embedded in the binary from the npm registry.
# Usage: internal/playground/update-assets.sh [graphiql-version] [react-version] [graphql-ws-version]
# GraphiQL 4 is the last line with a UMD build that runs from plain <script>
# tags; React 18 is the last with UMD builds. Commit the result.
set -euo pipefail
graphiql=${1:-4.1.2}
react=${2:-18.3.1}
graphqlws=${3:-6.4.2}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "graphiql@$graphiql" "react@$react" "react-dom@$react" "graphql-ws@$graphqlws" >/dev/null
out="$here/assets"
mkdir -p "$out"
tar -xzf "graphiql-$graphiql.tgz" -O package/graphiql.min.js >"$out/graphiql.min.js"
tar -xzf "graphiql-$graphiql.tgz" -O package/graphiql.min.css >"$out/graphiql.min.css"
tar -xzf "react-$react.tgz" -O package/umd/react.production.min.js >"$out/react.production.min.js"
tar -xzf "react-dom-$react.tgz" -O package/umd/react-dom.production.min.js >"$out/react-dom.production.min.js"
tar -xzf "graphql-ws-$graphqlws.tgz" -O package/umd/graphql-ws.min.js >"$out/graphql-ws.min.js"
printf 'graphiql %s\nreact %s\nreact-dom %s\ngraphql-ws %s\n' "$graphiql" "$react" "$react" "$graphqlws" >"$out/VERSIONS"
echo "updated $out:"; cat "$out/VERSIONS"
