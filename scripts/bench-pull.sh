#!/bin/bash
# Benchmarks pulling a ~200 MB three-layer image (plus a busybox base) from a local registry
# (Debian's docker-registry on 127.0.0.1) into an empty store:
#   - berth:  `berth-lifecycled call image.pull` (download, verify, unpack into overlay snapshots);
#   - skopeo + umoci: `skopeo copy docker://… oci:…` then `umoci unpack` (the same work with the
#     standard OCI tools);
#   - with BENCH_DOCKER=1: `docker pull` on a private dockerd (scripts/private-dockerd.sh);
#   - unpack throughput: berth's unpack (image.load of the layers already on disk, via a docker-save
#     tarball) against `tar -xzf` of the same three layers.
# usage: scripts/bench-pull.sh PATH-TO-berth-lifecycled     (`make bench` builds release first)
# env:   BENCH_PULL_MB (default 200), BENCH_PULL_RUNS (default 3)
set -euo pipefail
lc=$(realpath "${1:?usage: scripts/bench-pull.sh PATH-TO-berth-lifecycled}")
mb=${BENCH_PULL_MB:-200}
runs=${BENCH_PULL_RUNS:-3}
[ "$(id -u)" = 0 ] || { echo "bench-pull: run as root" >&2; exit 1; }
for t in docker-registry skopeo umoci hyperfine jq python3 gzip sha256sum; do
    command -v $t >/dev/null || { echo "bench-pull: $t is missing (make deps)" >&2; exit 1; }
done
tmp=$(mktemp -d /tmp/berth-bench-pull-XXXXXX)
reg_pid=""; lc_pid=""
here=$(cd "$(dirname "$0")/.." && pwd)
docker_cleanup=:
cleanup() {
    set +e
    $docker_cleanup
    [ -n "$lc_pid" ] && kill "$lc_pid" && wait "$lc_pid" 2>/dev/null
    [ -n "$reg_pid" ] && kill "$reg_pid" && wait "$reg_pid" 2>/dev/null
    grep -F " $tmp/" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l
    rm -rf "$tmp"
}
trap cleanup EXIT

# The image: busybox base + three layers of incompressible data, as an OCI layout made with tar,
# gzip and jq (umoci 0.4.7's `insert` writes truncated layers on this machine).
each=$((mb / 3))
mkdir -p "$tmp/src/blobs/sha256"
echo '{"imageLayoutVersion":"1.0.0"}' > "$tmp/src/oci-layout"
blob() {  # stores stdin as a blob; prints its digest hex
    cat > "$tmp/blob.tmp"; local h; h=$(sha256sum "$tmp/blob.tmp" | cut -d' ' -f1)
    mv "$tmp/blob.tmp" "$tmp/src/blobs/sha256/$h"; echo "$h"
}
layers="[]"; diffs="[]"
for i in 0 1 2 3; do
    rm -rf "$tmp/l"; mkdir -p "$tmp/l/bin" "$tmp/l/data"
    if [ $i = 0 ]; then cp /bin/busybox "$tmp/l/bin/"; else head -c "${each}M" /dev/urandom > "$tmp/l/data/blob$i"; fi
    tar -C "$tmp/l" --owner=0 --group=0 -cf "$tmp/layer.tar" .
    diff=$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)
    h=$(gzip -1 -c "$tmp/layer.tar" | blob)
    size=$(stat -c %s "$tmp/src/blobs/sha256/$h")
    layers=$(jq -c --arg d "sha256:$h" --argjson s "$size" '. + [{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":$d,"size":$s}]' <<<"$layers")
    diffs=$(jq -c --arg d "sha256:$diff" '. + [$d]' <<<"$diffs")
done
rm -rf "$tmp/l" "$tmp/layer.tar"
cfg=$(jq -cn --argjson d "$diffs" '{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":$d}}' | blob)
manifest=$(jq -cn --argjson l "$layers" --arg c "sha256:$cfg" --argjson cs "$(stat -c %s "$tmp/src/blobs/sha256/$cfg")" \
    '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":$c,"size":$cs},"layers":$l}' | blob)
jq -cn --arg m "sha256:$manifest" --argjson s "$(stat -c %s "$tmp/src/blobs/sha256/$manifest")" \
    '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":$m,"size":$s,"annotations":{"org.opencontainers.image.ref.name":"large"}}]}' > "$tmp/src/index.json"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$tmp/registry.yml" <<YML
version: 0.1
storage: {filesystem: {rootdirectory: $tmp/registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
log: {level: error}
YML
docker-registry serve "$tmp/registry.yml" >"$tmp/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 100); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/v2/')" 2>/dev/null && break; sleep 0.1
done
skopeo copy -q --dest-tls-verify=false "oci:$tmp/src:large" "docker://127.0.0.1:$port/large:1"
ref="127.0.0.1:$port/large:1"
size=$(du -sm "$tmp/registry" | cut -f1)
echo "image: $ref, ${size} MB in the registry (4 layers)"

"$lc" serve --root "$tmp/lc-root" --run-root "$tmp/lc-run" 2>"$tmp/lc.log" &
lc_pid=$!
sock="$tmp/lc-run/lifecycle.sock"
for _ in $(seq 100); do "$lc" call --socket "$sock" system.ping >/dev/null 2>&1 && break; sleep 0.1; done
call() { "$lc" call --socket "$sock" "$@"; }

cmds=(
    --prepare "$lc call --socket $sock image.prune '{\"all\":true}' >/dev/null; sync; echo 3 > /proc/sys/vm/drop_caches"
    -n berth "$lc call --socket $sock image.pull '{\"reference\":\"$ref\"}' >/dev/null"
    --prepare "rm -rf $tmp/oci $tmp/bundle; sync; echo 3 > /proc/sys/vm/drop_caches"
    -n skopeo+umoci "skopeo copy -q --src-tls-verify=false docker://$ref oci:$tmp/oci:large && umoci unpack --image $tmp/oci:large $tmp/bundle >/dev/null"
)
if [ "${BENCH_DOCKER:-0}" = 1 ]; then
    . "$here/scripts/private-dockerd.sh"
    docker_cleanup=docker_down
    dockerd_up "$tmp/docker" '{}'
    cmds+=(--prepare "$dk rmi -f $ref >/dev/null 2>&1; $dk image prune -f >/dev/null 2>&1; sync; echo 3 > /proc/sys/vm/drop_caches"
           -n "docker pull" "$dk pull -q $ref >/dev/null")
else
    echo "(docker pull not measured: BENCH_DOCKER=1 starts a private dockerd for it)"
fi
hyperfine ${BENCH_SHOW:+--show-output} --runs "$runs" --export-json "$tmp/pull.json" "${cmds[@]}"
jq -r '.results[] | "\(.command)\t\(.mean)"' "$tmp/pull.json" > "$tmp/means"
b=$(awk -F'\t' '$1=="berth"{print $2}' "$tmp/means")
s=$(awk -F'\t' '$1=="skopeo+umoci"{print $2}' "$tmp/means")
printf 'pull: berth %.2f s, skopeo+umoci %.2f s, ratio berth/skopeo+umoci %.2f\n' "$b" "$s" "$(awk "BEGIN{print $b / $s}")"
dp=$(awk -F'\t' '$1=="docker pull"{print $2}' "$tmp/means")
[ -z "$dp" ] || printf 'pull: docker pull %.2f s, ratio berth/docker %.2f\n' "$dp" "$(awk "BEGIN{print $b / $dp}")"

# Unpack alone: the same layer blobs, berth (image.load → unpack into snapshots) vs tar -xzf.
call image.pull "{\"reference\":\"$ref\"}" >/dev/null
call image.save "{\"references\":[\"$ref\"],\"path\":\"$tmp/save.tar\"}" >/dev/null
mkdir -p "$tmp/layers" && tar -C "$tmp/layers" -xf "$tmp/save.tar"
layers=$(jq -r '.[0].Layers[]' "$tmp/layers/manifest.json" | sed "s|^|$tmp/layers/|" | tr '\n' ' ')
hyperfine --runs "$runs" --export-json "$tmp/unpack.json" \
    --prepare "$lc call --socket $sock image.prune '{\"all\":true}' >/dev/null; sync" \
    -n "berth load" "$lc call --socket $sock image.load '{\"path\":\"$tmp/save.tar\"}' >/dev/null" \
    --prepare "rm -rf $tmp/untar; mkdir -p $tmp/untar; sync" \
    -n "tar -xzf" "for l in $layers; do tar -C $tmp/untar -xzf \$l; done"
jq -r '.results[] | "\(.command)\t\(.mean)"' "$tmp/unpack.json" > "$tmp/means2"
b=$(awk -F'\t' '$1=="berth load"{print $2}' "$tmp/means2")
t=$(awk -F'\t' '$1=="tar -xzf"{print $2}' "$tmp/means2")
printf 'unpack: berth load %.2f s (copy into the store + verify + unpack), tar -xzf %.2f s, ratio %.2f\n' "$b" "$t" "$(awk "BEGIN{print $b / $t}")"
