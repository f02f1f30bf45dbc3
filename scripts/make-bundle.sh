#!/bin/bash
# Makes an OCI bundle with a busybox rootfs from busybox-static, offline.
# usage: make-bundle.sh DIR [command...]   (default command: echo hello from a berth container)
set -euo pipefail
dir=${1:?usage: make-bundle.sh DIR [command...]}
shift || true
[ -x /bin/busybox ] || { echo "make-bundle: /bin/busybox missing: install busybox-static (make deps)" >&2; exit 1; }
rm -rf "$dir"
mkdir -p "$dir/rootfs"/{bin,dev,etc,proc,sys,tmp,root}
cp /bin/busybox "$dir/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$dir/rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$dir/rootfs/etc/passwd"
echo 'root:x:0:' > "$dir/rootfs/etc/group"
chmod 1777 "$dir/rootfs/tmp"
cmd=("$@")
[ ${#cmd[@]} -gt 0 ] || cmd=(echo hello from a berth container)
args=$(printf '%s\n' "${cmd[@]}" | jq -R . | jq -s -c .)
runtime=${BERTH_RUNTIME:-$(command -v berth-runtime || echo "$(dirname "$0")/../.build/debug/berth-runtime")}
(cd "$dir" && "$runtime" spec)
jq --argjson args "$args" '.process.terminal = false | .process.args = $args | .root.readonly = true' \
    "$dir/config.json" > "$dir/config.json.tmp" && mv "$dir/config.json.tmp" "$dir/config.json"
