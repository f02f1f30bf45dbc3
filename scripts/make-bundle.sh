#!/bin/bash
# Makes an OCI bundle with a busybox rootfs from busybox-static, offline.
# usage: make-bundle.sh DIR [command...]   (default command: echo hello from a berth container)
set -euo pipefail
dir=${1:?usage: make-bundle.sh DIR [command...]}
shift || true
rm -rf "$dir"
"$(dirname "$0")/busybox-rootfs.sh" "$dir/rootfs"
cmd=("$@")
[ ${#cmd[@]} -gt 0 ] || cmd=(echo hello from a berth container)
args=$(printf '%s\n' "${cmd[@]}" | jq -R . | jq -s -c .)
runtime=${BERTH_RUNTIME:-$(command -v berth-runtime || echo "$(dirname "$0")/../.build/debug/berth-runtime")}
(cd "$dir" && "$runtime" spec)
jq --argjson args "$args" '.process.terminal = false | .process.args = $args | .root.readonly = true' \
    "$dir/config.json" > "$dir/config.json.tmp" && mv "$dir/config.json.tmp" "$dir/config.json"
