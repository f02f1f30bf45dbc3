#!/bin/bash
# Benchmarks the whole stack as a docker user meets it, against Docker on the same machine:
#   - hyperfine: `berth run --rm busybox true` (the berth CLI → berthd → berth-lifecycled →
#     berth-monitor → berth-runtime, on Berth's default bridge) against `docker run --rm busybox true`
#     on a private dockerd + containerd from Debian (scripts/private-dockerd.sh: its own bridge,
#     --iptables=false), with the same busybox rootfs; also both with `--network none`;
#   - median and p99 of each, and the ratio berth / docker (the issue's target: ≤ 0.2×);
#   - idle RSS (VmRSS) of berthd + berth-lifecycled against dockerd + containerd, just after start
#     and again idle after the timing runs (target: ≤ 30 MiB together);
#   - builds: one Dockerfile (WORKDIR, two COPY and two RUN steps, ENV, CMD) built cold (--no-cache)
#     and rebuilt after a one-line change to a copied file, with `berth build` and with
#     `DOCKER_BUILDKIT=0 docker build` (the classic builder) against the private dockerd
#     (the issue's targets: both ≤ 0.5× docker's time).
# Everything is this run's own (scripts/bench-lib.sh): temp dir, cgroup parent, bridges, iptables
# chains, a free 10.x.0.0/16; the EXIT trap removes the containers through berthd, stops the
# daemons it started (by pid) and removes the rest.
# usage: scripts/bench-cli.sh BIN_DIR   (berth, berthd, berth-lifecycled, berth-runtime, berth-monitor;
#        `make bench` passes the release build)
# env:   BENCH_CLI_RUNS (40), BENCH_DOCKER (1; 0 skips Docker), BENCH_DOCKER_RUNS (20), BENCH_SHOW=1,
#        BENCH_BUILD_RUNS (10)
set -euo pipefail

bin=${1:?usage: scripts/bench-cli.sh BIN_DIR}
bin=$(realpath "$bin")
berth=$bin/berth; berthd=$bin/berthd; lc=$bin/berth-lifecycled; rt=$bin/berth-runtime; mon=$bin/berth-monitor
for b in "$berth" "$berthd" "$lc" "$rt" "$mon"; do
    [ -x "$b" ] || { echo "bench-cli: $b is missing (build it: make release)" >&2; exit 1; }
done
runs=${BENCH_CLI_RUNS:-40}
with_docker=${BENCH_DOCKER:-1}
docker_runs=${BENCH_DOCKER_RUNS:-20}
here=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "bench-cli: run as root" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || { echo "bench-cli: $1 is missing (apt-get install -y $2)" >&2; exit 1; }; }
need hyperfine hyperfine; need jq jq; need python3 python3; need ip iproute2; need iptables iptables
py=$(python3 -c 'import sys; print(sys.executable)')
client="$py -I -S $here/scripts/bench-lifecycle-client.py"

berthd_pid=""; lc_pid=""
bench_stop_daemons() {
    if [ -n "$berthd_pid" ] && kill -0 "$berthd_pid" 2>/dev/null; then
        ids=$($B ps -aq 2>/dev/null || true)
        [ -n "$ids" ] && { timeout 120 $B rm -f $ids >/dev/null 2>&1 || echo "cleanup: berth rm -f failed" >&2; }
        kill_pid "$berthd_pid"   # stops its berth-lifecycled too
    fi
    [ -n "$lc_pid" ] && kill -0 "$lc_pid" 2>/dev/null && kill_pid "$lc_pid"
    return 0
}
bench_tmp_prefix=bbc
. "$here/scripts/bench-lib.sh"

api=$tmp/berth.sock
B="$berth -H unix://$api"
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

# --- berthd (which starts berth-lifecycled) ---------------------------------------------------------
mkdir -p "$tmp/run"
setsid "$berthd" -H "unix://$api" --data-root "$tmp/root" --exec-root "$tmp/run" --pidfile "$tmp/berthd.pid" \
    --cgroup-parent "/$cgparent" --lifecycled "$lc" -b "$berth_bridge" --bip "10.$octet.0.1/24" \
    --default-address-pool "base=10.$octet.1.0/24,size=24" --bridge-prefix "$bridge_prefix" \
    --iptables-chain-prefix "$chain_prefix" >"$tmp/berthd.log" 2>&1 </dev/null &
berthd_pid=$!
for _ in $(seq 100); do $B version >/dev/null 2>&1 && break; sleep 0.1; done
$B version >/dev/null || { echo "bench-cli: berthd did not start:" >&2; tail -20 "$tmp/berthd.log" >&2; exit 1; }
[ "$(readlink "/proc/$berthd_pid/exe")" = "$(readlink -f "$berthd")" ] || { echo "bench-cli: pid $berthd_pid is not berthd" >&2; exit 1; }
for c in /proc/[0-9]*; do
    [ "$(awk '{ print $4 }' "$c/stat" 2>/dev/null)" = "$berthd_pid" ] && [ "$(readlink "$c/exe")" = "$(readlink -f "$lc")" ] && lc_pid=${c#/proc/}
done
[ -n "$lc_pid" ] || { echo "bench-cli: berthd's berth-lifecycled not found" >&2; exit 1; }
sleep 2
berth_fresh=$(( $(rss "$berthd_pid") + $(rss "$lc_pid") ))
"$here/scripts/default-image.sh" "$lc" "$tmp/root" "$tmp/run" >/dev/null
out=$($B run --rm busybox sh -c "ip -4 -o addr show eth0 | grep -q ' 10\\.$octet\\.0\\.' && echo bridged") || true
[ "$out" = bridged ] || { echo "bench-cli: a berth container on the default bridge has no address: $out" >&2; tail -20 "$tmp/berthd.log" >&2; exit 1; }

names=(berth-bridge berth-none); cmds=("$B run --rm busybox true" "$B run --rm --network none busybox true")
docker_fresh=""
if [ "$with_docker" = 1 ]; then
    for b in dockerd containerd docker; do need "$b" docker.io; done
    . "$here/scripts/private-dockerd.sh"
    docker_started=1
    dockerd_up "$tmp/docker" "{\"cgroup-parent\": \"/$cgparent/docker\"}" || exit 1
    sleep 2
    docker_fresh=$(( $(rss "$dockerd_pid") + $(rss "$containerd_pid") ))
    "$here/scripts/busybox-rootfs.sh" "$tmp/image-rootfs"
    tar -C "$tmp/image-rootfs" -c . | $dk import - busybox:latest >/dev/null
    names+=(docker-bridge docker-none); cmds+=("$dk run --rm busybox true" "$dk run --rm --network none busybox true")
fi

log "berth: $bin; berthd $($B version --format '{{.Server.Version}}' 2>/dev/null || echo '?'); default bridge $berth_bridge 10.$octet.0.1/24; cgroup parent /$cgparent"
[ "$with_docker" = 1 ] && log "docker: client $($dk version -f '{{.Client.Version}}' 2>/dev/null), private dockerd $($dk version -f '{{.Server.Version}}' 2>/dev/null) (bridge $br, --iptables=false)"
log "$(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"

# Builds: a small app context; the rebuild's prepare step changes one line of a copied file.
ctx=$tmp/build-ctx
mkdir -p "$ctx/src"
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox
WORKDIR /app
COPY deps.txt .
RUN cp deps.txt deps.installed && echo dependencies installed
COPY src/ ./src/
RUN cat src/*.txt > bundle.txt && wc -l bundle.txt
ENV MODE=production
CMD ["cat", "/app/bundle.txt"]
DOCKERFILE
seq 1 200 | sed 's/^/dependency-/' >"$ctx/deps.txt"
for f in a b c; do seq 1 500 | sed "s/^/$f-/" >"$ctx/src/$f.txt"; done
echo main >"$ctx/src/main.txt"
build_runs=${BENCH_BUILD_RUNS:-10}
names+=(berth-build-cold berth-build-edit)
cmds+=("$B build -q --no-cache -t bench-app $ctx" "$B build -q -t bench-app $ctx")
$B build -q -t bench-app "$ctx" >/dev/null
if [ "$with_docker" = 1 ]; then
    names+=(docker-build-cold docker-build-edit)
    cmds+=("env DOCKER_BUILDKIT=0 $dk build -q --no-cache -t bench-app $ctx" "env DOCKER_BUILDKIT=0 $dk build -q -t bench-app $ctx")
    DOCKER_BUILDKIT=0 $dk build -q -t bench-app "$ctx" >/dev/null
fi

for i in "${!cmds[@]}"; do
    n=$runs; case ${names[$i]} in docker-*) n=$docker_runs;; esac
    prepare=()
    case ${names[$i]} in
        *-build-cold) n=$build_runs ;;
        *-build-edit) n=$build_runs; prepare=(--prepare "sh -c 'date +%s%N >> $ctx/src/main.txt'") ;;
    esac
    if ! hyperfine -N ${BENCH_SHOW:+--show-output} --warmup 3 --runs "$n" "${prepare[@]}" \
            --export-json "$tmp/h-${names[$i]}.json" -n "${names[$i]}" "${cmds[$i]}"; then
        echo "bench-cli: ${names[$i]} failed during the timing runs (BENCH_SHOW=1 shows its output)" >&2
        tail -20 "$tmp/berthd.log" >&2
        exit 1
    fi
done
sleep 3
berth_idle=$(( $(rss "$berthd_pid") + $(rss "$lc_pid") ))
berthd_idle=$(rss "$berthd_pid"); lc_idle=$(rss "$lc_pid")
docker_idle=""
[ "$with_docker" = 1 ] && docker_idle=$(( $(rss "$dockerd_pid") + $(rss "$containerd_pid") ))

echo
log "summary (wall time of each command, hyperfine; p99 interpolated from every run's time)"
"$py" -I -S - "$tmp" "${names[@]}" <<'PY'
import json, sys
tmp, names = sys.argv[1], sys.argv[2:]
def pct(xs, q):
    xs = sorted(xs); k = (len(xs) - 1) * q; f = int(k); c = min(f + 1, len(xs) - 1)
    return xs[f] + (xs[c] - xs[f]) * (k - f)
label = {"berth-bridge": "berth run --rm busybox true", "berth-none": "berth run --rm --network none busybox true",
         "docker-bridge": "docker run --rm busybox true", "docker-none": "docker run --rm --network none busybox true",
         "berth-build-cold": "berth build --no-cache (cold, 8 steps)", "berth-build-edit": "berth build after a one-line edit",
         "docker-build-cold": "docker build --no-cache (classic builder)", "docker-build-edit": "docker build after a one-line edit"}
med, p99 = {}, {}
print("| %-45s | %4s | %10s | %10s |" % ("", "runs", "median", "p99"))
print("|%s|%s|%s|%s|" % ("-" * 47, "-" * 6, "-" * 12, "-" * 12))
for n in names:
    t = json.load(open("%s/h-%s.json" % (tmp, n)))["results"][0]["times"]
    med[n], p99[n] = pct(t, 0.5) * 1e3, pct(t, 0.99) * 1e3
    print("| %-45s | %4d | %7.1f ms | %7.1f ms |" % (label[n], len(t), med[n], p99[n]))
for kind in ("cold", "edit"):
    b, d = "berth-build-" + kind, "docker-build-" + kind
    if b in med and d in med:
        print("berth build / docker build (%s): median %.2fx   (target <= 0.5x: %s)" % (kind, med[b] / med[d], "met" if med[b] / med[d] <= 0.5 else "NOT met"))
for net in ("bridge", "none"):
    b, d = "berth-" + net, "docker-" + net
    if d in med:
        print("berth / docker (%s): median %.2fx, p99 %.2fx%s" % (net, med[b] / med[d], p99[b] / p99[d],
              "   (target <= 0.2x: %s)" % ("met" if med[b] / med[d] <= 0.2 else "NOT met") if net == "bridge" else ""))
PY
echo
log "idle RSS (VmRSS)"
printf '| %-36s | %12s | %12s |\n' "" "after start" "after runs"
printf '|%s|%s|%s|\n' "--------------------------------------" "--------------" "--------------"
printf '| %-36s | %12s | %12s |\n' "berthd + berth-lifecycled" "$(mib "$berth_fresh")" "$(mib "$berth_idle")"
printf '| %-36s | %12s | %12s |\n' "  berthd / berth-lifecycled (after)" "$(mib "$berthd_idle")" "$(mib "$lc_idle")"
[ -n "$docker_idle" ] && printf '| %-36s | %12s | %12s |\n' "dockerd + containerd" "$(mib "$docker_fresh")" "$(mib "$docker_idle")"
target=$(( 30 * 1024 ))
echo "target: berthd + berth-lifecycled <= 30 MiB idle: $([ "$berth_idle" -le "$target" ] && echo met || echo 'NOT met')"
