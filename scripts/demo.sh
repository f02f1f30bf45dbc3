#!/bin/bash
# Runs a container from the built-in default image through the stack as far as it exists today:
# berth-lifecycled creates it from busybox:latest (overlay snapshot, Docker's default spec),
# starts it under berth-monitor with berth-runtime, waits for it and prints its json-file log.
# usage: demo.sh BIN_DIR   (the directory with berth-lifecycled, berth-runtime and berth-monitor)
set -euo pipefail
bin=${1:?usage: demo.sh BIN_DIR}
root=/var/lib/berth; run=/run/berth; sock=$run/lifecycle.sock
work=$(mktemp -d /tmp/berth-demo.XXXXXX)
started=""
id=""
call() { "$bin/berth-lifecycled" call --socket "$sock" "$@"; }
cleanup() {
    set +e
    [ -n "$id" ] && call container.remove "{\"id\":\"$id\",\"force\":true}" >/dev/null 2>&1
    if [ -n "$started" ]; then kill "$started"; wait "$started" 2>/dev/null; fi
    rm -rf "$work"
}
trap cleanup EXIT
if ! call system.ping >/dev/null 2>&1; then
    "$bin/berth-lifecycled" serve --root "$root" --run-root "$run" 2>"$work/lifecycled.log" &
    started=$!
    for _ in $(seq 100); do call system.ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
call image.inspect '{"reference":"busybox"}' >/dev/null 2>&1 \
    || "$(dirname "$0")/default-image.sh" "$bin/berth-lifecycled" "$root" "$run"
id=$(call container.create '{"config":{"Image":"busybox","Cmd":["sh","-c","echo hello from a berth container running busybox:latest; uname -a; id"]}}' | jq -r .Id)
call container.start "{\"id\":\"$id\"}" >/dev/null
code=$(call container.wait "{\"id\":\"$id\"}" | jq -r .StatusCode)
call container.logs "{\"id\":\"$id\",\"stdout\":true,\"stderr\":true}" | jq -jr 'select(.entries) | .entries[].log'
echo "container ${id:0:12} exited with status $code"
