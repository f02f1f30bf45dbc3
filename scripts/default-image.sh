#!/bin/bash
# Imports Berth's built-in default image, busybox:latest made from busybox-static, so a container
# can run with no registry. Uses the running berth-lifecycled on SOCKET, or starts one for ROOT
# just for the import.
# usage: default-image.sh BERTH_LIFECYCLED [ROOT] [RUN_ROOT]
set -euo pipefail
lifecycled=${1:?usage: default-image.sh BERTH_LIFECYCLED [ROOT] [RUN_ROOT]}
root=${2:-/var/lib/berth}
run=${3:-/run/berth}
sock="$run/lifecycle.sock"
work=$(mktemp -d /tmp/berth-default-image.XXXXXX)
started=""
cleanup() {
    if [ -n "$started" ]; then kill "$started" 2>/dev/null || true; wait "$started" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
"$(dirname "$0")/busybox-rootfs.sh" "$work/rootfs"
# Fixed owner and mtimes, sorted entries: the layer (its diff ID) is the same on every machine
# with the same busybox; the image ID still differs, as the config records the import time.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/rootfs" -cf "$work/rootfs.tar" .

if ! "$lifecycled" call --socket "$sock" system.ping >/dev/null 2>&1; then
    "$lifecycled" serve --root "$root" --run-root "$run" --socket "$sock" &
    started=$!
    for _ in $(seq 100); do "$lifecycled" call --socket "$sock" system.ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
"$lifecycled" call --socket "$sock" image.import \
    "{\"path\":\"$work/rootfs.tar\",\"reference\":\"busybox:latest\",\"changes\":[\"CMD [\\\"sh\\\"]\",\"ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"message\":\"berth default image from busybox-static\"}" >/dev/null
echo "default image busybox:latest imported into $root"
