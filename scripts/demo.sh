#!/bin/bash
# Runs a container from the built-in default image through the stack as far as it exists today:
# berth-lifecycled prepares an overlay snapshot of busybox:latest, berth-runtime runs it.
# usage: demo.sh BIN_DIR   (the directory with berth-lifecycled and berth-runtime)
set -euo pipefail
bin=${1:?usage: demo.sh BIN_DIR}
root=/var/lib/berth; run=/run/berth; sock=$run/lifecycle.sock
id=berth-demo-$$
work=$(mktemp -d /tmp/berth-demo.XXXXXX)
started=""
cleanup() {
    set +e
    umount "$work/bundle/rootfs" 2>/dev/null
    "$bin/berth-lifecycled" call --socket "$sock" snapshot.remove "{\"key\":\"$id\"}" >/dev/null 2>&1
    if [ -n "$started" ]; then kill "$started"; wait "$started" 2>/dev/null; fi
    rm -rf "$work"
}
trap cleanup EXIT
if ! "$bin/berth-lifecycled" call --socket "$sock" system.ping >/dev/null 2>&1; then
    "$bin/berth-lifecycled" serve --root "$root" --run-root "$run" 2>"$work/lifecycled.log" &
    started=$!
    for _ in $(seq 100); do "$bin/berth-lifecycled" call --socket "$sock" system.ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
"$bin/berth-lifecycled" call --socket "$sock" image.inspect '{"reference":"busybox"}' >/dev/null 2>&1 \
    || "$(dirname "$0")/default-image.sh" "$bin/berth-lifecycled" "$root" "$run"
opts=$("$bin/berth-lifecycled" call --socket "$sock" snapshot.prepare "{\"key\":\"$id\",\"image\":\"busybox\"}" | jq -r .options)
mkdir -p "$work/bundle/rootfs"
mount -t overlay overlay -o "$opts" "$work/bundle/rootfs"
(cd "$work/bundle" && "$bin/berth-runtime" spec)
jq '.process.terminal = false | .process.args = ["sh", "-c", "echo hello from a berth container running busybox:latest; uname -a"]' \
    "$work/bundle/config.json" > "$work/config.json" && mv "$work/config.json" "$work/bundle/config.json"
"$bin/berth-runtime" run --bundle "$work/bundle" "$id"
