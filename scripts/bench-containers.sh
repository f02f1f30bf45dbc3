#!/bin/bash
# Benchmarks running a container through berth-lifecycled, and the memory its monitors use.
#   - hyperfine (`--export-json`): one full create → start → wait → remove of busybox `true` through
#     a private berth-lifecycled, sent by a tiny python3 client (scripts/bench-lifecycle-client.py:
#     one process, one socket connection, four JSON-RPC requests) so that no Swift CLI start-up is
#     timed; the same client doing only `system.ping` is measured too (the client's own cost);
#   - on the same machine in the same run: `berth-runtime run` and `runc run` of a bundle with the
#     same busybox rootfs (scripts/make-bundle.sh) and the very config.json berth-lifecycled
#     generates for that container (Docker's seccomp profile, capabilities, masked paths, network
#     files), and `ctr run --rm --seccomp` of the same image on a private containerd;
#     with BENCH_DOCKER=1 also `docker run --rm --network none busybox true` on a private dockerd;
#   - a table of median and p99 (from hyperfine's `times`), ratios berth-lifecycled / berth-runtime run
#     and berth-lifecycled / ctr run (raw, and with the client's own cost taken off berth-lifecycled);
#   - where the time goes: each request's median and p99 over as many cycles on one connection;
#   - monitor RSS: N containers running `sleep 600` (created and started through the socket, several
#     in flight), the VmRSS of every berth-monitor of this instance (pids from
#     <run-root>/c/*/monitor.pid), total and per container, and berth-lifecycled's own VmRSS.
# Everything lives in a temp dir and a cgroup parent of its own (/berth-bench-XXXXXX); an EXIT trap
# removes the containers, stops the daemons it started (by pid), unmounts, removes the cgroups.
# usage: scripts/bench-containers.sh BIN_DIR   (BIN_DIR: berth-lifecycled, berth-runtime, berth-monitor;
#        `make bench` passes the release build)
# env:   BENCH_CONTAINER_RUNS (default 100, at least 30), BENCH_CONTAINER_WARMUP (3),
#        BENCH_RSS_CONTAINERS (100), BENCH_RSS_WINDOW (containers in flight while spawning, 8),
#        BENCH_DOCKER=1 (+ BENCH_DOCKER_RUNS, default 30), BENCH_EXPORT=DIR (keep hyperfine's JSON files),
#        BENCH_SHOW=1 (hyperfine --show-output)
set -euo pipefail

bin=${1:?usage: scripts/bench-containers.sh BIN_DIR}
bin=$(realpath "$bin")
lc=$bin/berth-lifecycled; rt=$bin/berth-runtime; mon=$bin/berth-monitor
for b in "$lc" "$rt" "$mon"; do
    [ -x "$b" ] || { echo "bench-containers: $b is missing (build it: make release)" >&2; exit 1; }
done
runs=${BENCH_CONTAINER_RUNS:-100}
warmup=${BENCH_CONTAINER_WARMUP:-3}
nrss=${BENCH_RSS_CONTAINERS:-100}
window=${BENCH_RSS_WINDOW:-8}
[ "$runs" -ge 30 ] || { echo "bench-containers: BENCH_CONTAINER_RUNS must be at least 30 (p99)" >&2; exit 1; }
here=$(cd "$(dirname "$0")/.." && pwd)
client_py=$here/scripts/bench-lifecycle-client.py

[ "$(id -u)" = 0 ] || { echo "bench-containers: run as root (containers need it)" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || { echo "bench-containers: $1 is missing (apt-get install -y $2)" >&2; exit 1; }; }
need hyperfine hyperfine; need jq jq; need python3 python3; need runc runc
[ -x /bin/busybox ] || { echo "bench-containers: /bin/busybox is missing (apt-get install -y busybox-static)" >&2; exit 1; }
runc=$(command -v runc)
# The interpreter itself, not a wrapper (a pyenv shim costs more than a container); -I -S: no site.
py=$(python3 -c 'import sys; print(sys.executable)')
client="$py -I -S $client_py"
export BERTH_BENCH_CLIENT_LOG   # set below, in the temp dir: the client's errors

# Short temp path: unix socket paths under it must stay below 108 bytes.
tmp=$(mktemp -d /tmp/bbc-XXXXXX)
cgparent=berth-bench-${tmp##*-}
sock=$tmp/run/lifecycle.sock
BERTH_BENCH_CLIENT_LOG=$tmp/client-errors.log
lc_pid=""; ctd_pid=""; ctd_sock=""; docker_started=""
ns=berthbench

log() { echo "== $*"; }

kill_pid() {  # kill_pid PID: TERM, then KILL after ~10 s; only for children this script started
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

cleanup() {
    local rc=$?
    set +e
    trap '' INT TERM HUP   # a second Ctrl-C must not cut the clean-up short
    # 1. Containers, through the daemon that made them; then the daemon.
    if [ -n "$lc_pid" ] && kill -0 "$lc_pid" 2>/dev/null; then
        [ -S "$sock" ] && timeout 120 $client "$sock" remove-all 16 2>&1 | grep -v '^removed 0 of 0' | sed 's/^/cleanup: /'
        kill_pid "$lc_pid"
    fi
    # Monitors a failed run left (berth-monitor outlives its daemon by design): only those whose
    # pid file is under this run root, still named berth-monitor and with this temp dir in argv.
    for f in "$tmp"/run/c/*/monitor.pid; do
        [ -f "$f" ] || continue
        pid=$(tr -dc 0-9 < "$f")
        [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = berth-monitor ] || continue
        mapfile -d '' argv < /proc/"$pid"/cmdline 2>/dev/null
        [[ "${argv[*]}" == *"$tmp/"* ]] && kill -KILL "$pid" 2>/dev/null
    done
    # Runtime state left by an interrupted run.
    for pair in "$rt:$tmp/run/runtime" "$rt:$tmp/rt-root" "$runc:$tmp/runc-root"; do
        for id in $(ls "${pair#*:}" 2>/dev/null); do "${pair%%:*}" --root "${pair#*:}" delete --force "$id" >/dev/null 2>&1; done
    done
    # 2. containerd: this namespace's tasks and containers, then the daemon.
    if [ -n "$ctd_pid" ] && kill -0 "$ctd_pid" 2>/dev/null; then
        for c in $(ctr -a "$ctd_sock" -n $ns containers ls -q 2>/dev/null); do
            ctr -a "$ctd_sock" -n $ns tasks kill -s SIGKILL "$c" >/dev/null 2>&1; sleep 0.2
            ctr -a "$ctd_sock" -n $ns tasks delete -f "$c" >/dev/null 2>&1
            ctr -a "$ctd_sock" -n $ns containers delete "$c" >/dev/null 2>&1
        done
        kill_pid "$ctd_pid"
    fi
    # 3. The private dockerd and its containerd (scripts/private-dockerd.sh).
    [ -n "$docker_started" ] && docker_down
    # 4. Last resort, still by pid: processes in this instance's cgroup parent (containers), and
    #    processes with this temp dir in their argv (containerd shims, monitors).
    for procs in /sys/fs/cgroup/*/"$cgparent" /sys/fs/cgroup/"$cgparent"; do
        [ -d "$procs" ] || continue
        find "$procs" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u | while read -r pid; do kill -KILL "$pid" 2>/dev/null; done
    done
    for p in /proc/[0-9]*; do
        pid=${p#/proc/}
        [ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ] && continue
        mapfile -d '' argv < "$p/cmdline" 2>/dev/null || continue
        [[ "${argv[*]}" == *"$tmp/"* ]] && kill -KILL "$pid" 2>/dev/null
    done
    sleep 0.2
    # 5. Mounts under the temp dir (deepest first), cgroups (deepest first), the temp dir.
    for _ in 1 2 3; do
        mounts=$(awk -v t="$tmp/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
        [ -z "$mounts" ] && break
        for m in $mounts; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
    done
    for d in /sys/fs/cgroup/*/"$cgparent" /sys/fs/cgroup/"$cgparent"; do
        [ -d "$d" ] || continue
        for _ in 1 2 3 4 5; do
            find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
            [ -d "$d" ] || break
            sleep 0.2
        done
        [ -d "$d" ] && echo "cleanup: could not remove cgroup $d" >&2
    done
    rm -rf --one-file-system "$tmp"
    [ -e "$tmp" ] && echo "cleanup: could not remove $tmp" >&2
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --- berth-lifecycled and the image ---------------------------------------------------------------
# The daemons run in sessions of their own (setsid, which execs in place: a child of a script is not
# a process group leader), so a Ctrl-C reaches this script, not them, and the EXIT trap can still
# remove the containers through berth-lifecycled before stopping it.
started_as() {  # started_as PID PROGRAM: PID runs PROGRAM (setsid did not fork)
    [ "$(readlink "/proc/$1/exe")" = "$(readlink -f "$2")" ] || { echo "bench-containers: pid $1 is not $2" >&2; exit 1; }
}
mkdir -p "$tmp/run"
setsid "$lc" serve --root "$tmp/root" --run-root "$tmp/run" --cgroup-parent "/$cgparent" \
    --runtime "$rt" --monitor "$mon" >"$tmp/lifecycled.log" 2>&1 </dev/null &
lc_pid=$!
for _ in $(seq 100); do BERTH_BENCH_CLIENT_LOG= $client "$sock" ping 2>/dev/null && break; sleep 0.1; done
$client "$sock" ping || { echo "bench-containers: berth-lifecycled did not start:" >&2; tail -20 "$tmp/lifecycled.log" >&2; exit 1; }
started_as "$lc_pid" "$lc"
call() { "$lc" call --socket "$sock" "$@"; }

# busybox:latest from busybox-static, as scripts/default-image.sh imports it.
"$here/scripts/busybox-rootfs.sh" "$tmp/image-rootfs"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$tmp/image-rootfs" -cf "$tmp/rootfs.tar" .
call image.import "{\"path\":\"$tmp/rootfs.tar\",\"reference\":\"busybox:latest\",\"changes\":[\"CMD [\\\"sh\\\"]\",\"ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"message\":\"berth default image from busybox-static\"}" >/dev/null
$client "$sock" cycle || { echo "bench-containers: a container did not run through berth-lifecycled:" >&2; tail -20 "$tmp/lifecycled.log" >&2; exit 1; }

# --- The bundle: busybox rootfs + the config.json berth-lifecycled generates ----------------------
# make-bundle.sh makes the rootfs (and a config we replace); the config is that of a container
# created (never started) with the same parameters the client sends, with its rootfs, network
# files and cgroup moved to the bundle, so both runtimes run exactly what berth-lifecycled runs.
bundle=$tmp/bundle
BERTH_RUNTIME="$rt" "$here/scripts/make-bundle.sh" "$bundle" true
probe=$(call container.create '{"config":{"Image":"busybox","Cmd":["true"],"HostConfig":{"NetworkMode":"none"}}}' | tail -1 | jq -r .Id)
pbundle=$tmp/root/containers/$probe
for f in hostname hosts resolv.conf; do cp "$pbundle/$f" "$bundle/$f"; done
jq --arg pb "$pbundle" --arg b "$bundle" --arg cg "/$cgparent/rt" '
    .root.path = "rootfs"
    | .mounts |= map(if (.source // "") | startswith($pb + "/") then .source = $b + (.source | ltrimstr($pb)) else . end)
    | .linux.cgroupsPath = $cg' "$pbundle/config.json" > "$bundle/config.json"
call container.remove "{\"id\":\"$probe\",\"force\":true}" >/dev/null
if grep -qF "$tmp/root" "$bundle/config.json"; then
    echo "bench-containers: the generated config still refers to the container's own files:" >&2
    grep -oF "$tmp/root[^\"]*" "$bundle/config.json" >&2; exit 1
fi

rt_cmd="$rt --root $tmp/rt-root run --bundle $bundle bench-rt"
runc_cmd="$runc --root $tmp/runc-root run --bundle $bundle bench-runc"

# --- A private containerd for ctr ------------------------------------------------------------------
ctr_cmd=""; ctr_skip=""
ctd_up() {
    local d=$tmp/ctd
    command -v containerd >/dev/null && command -v ctr >/dev/null || { ctr_skip="containerd/ctr not installed (apt-get install -y containerd)"; return 1; }
    command -v containerd-shim-runc-v2 >/dev/null || { ctr_skip="containerd-shim-runc-v2 not installed"; return 1; }
    mkdir -p "$d"
    ctd_sock=$d/containerd.sock
    printf '%s\n' 'version = 2' "root = \"$d/root\"" "state = \"$d/state\"" \
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]' \
        '[grpc]' "  address = \"$ctd_sock\"" '[ttrpc]' "  address = \"$ctd_sock.ttrpc\"" \
        '[plugins."io.containerd.internal.v1.opt"]' "  path = \"$d/opt\"" > "$d/config.toml"
    setsid containerd --config "$d/config.toml" >"$d/containerd.log" 2>&1 </dev/null &
    ctd_pid=$!
    for _ in $(seq 100); do ctr -a "$ctd_sock" version >/dev/null 2>&1 && break; sleep 0.1; done
    ctr -a "$ctd_sock" version >/dev/null 2>&1 || { ctr_skip="private containerd did not start: $(tail -3 "$d/containerd.log" | tr '\n' ' ')"; return 1; }
    started_as "$ctd_pid" "$(command -v containerd)"
    # The same image: berth-lifecycled's `image.save` (OCI layout + manifest.json) imported by ctr.
    call image.save "{\"references\":[\"busybox:latest\"],\"path\":\"$tmp/busybox-save.tar\"}" >/dev/null
    local out
    out=$(ctr -a "$ctd_sock" -n $ns images import "$tmp/busybox-save.tar" 2>&1) || { ctr_skip="ctr images import failed: $out"; return 1; }
    ctr -a "$ctd_sock" -n $ns images ls -q | grep -qx docker.io/library/busybox:latest \
        || { ctr_skip="ctr images import did not name the image docker.io/library/busybox:latest: $out"; return 1; }
    # The same kind of container: Docker's default seccomp profile (containerd's copy), a cgroup
    # under this run's parent, runc's and ctr's state in the temp dir. The ID is reused: --rm
    # deletes the container before the next run.
    ctr_cmd="ctr -a $ctd_sock -n $ns run --rm --seccomp --fifo-dir $d/fifo --runc-root $d/runc --cgroup /$cgparent/ctr docker.io/library/busybox:latest bench-ctr true"
}
ctd_up || echo "bench-containers: ctr run skipped: $ctr_skip" >&2

# --- Optional: a private dockerd ------------------------------------------------------------------
docker_cmd=""
if [ "${BENCH_DOCKER:-0}" = 1 ]; then
    for b in dockerd containerd docker ip; do need "$b" docker.io; done
    . "$here/scripts/private-dockerd.sh"
    docker_started=1
    dockerd_up "$tmp/docker" "{\"cgroup-parent\": \"/$cgparent/docker\"}" || exit 1
    $dk import - busybox:latest < "$tmp/rootfs.tar" >/dev/null
    docker_cmd="$dk run --rm --network none busybox true"
fi

# Every command must work before it is timed.
names=(berth-lifecycled client-ping berth-runtime-run runc-run)
cmds=("$client $sock cycle" "$client $sock ping" "$rt_cmd" "$runc_cmd")
[ -n "$ctr_cmd" ] && { names+=(ctr-run); cmds+=("$ctr_cmd"); }
[ -n "$docker_cmd" ] && { names+=(docker-run); cmds+=("$docker_cmd"); }
for i in "${!cmds[@]}"; do
    if ! out=$(${cmds[$i]} 2>&1 </dev/null); then
        if [ "${names[$i]}" = ctr-run ]; then
            echo "bench-containers: ctr run skipped, it failed: $out" >&2
            unset 'names[i]' 'cmds[i]'
            continue
        fi
        echo "bench-containers: failed: ${cmds[$i]}" >&2; echo "$out" >&2; exit 1
    fi
done
names=("${names[@]}"); cmds=("${cmds[@]}")

log "berth: $bin ($("$lc" --version 2>/dev/null | head -1))"
log "runc: $runc ($("$runc" --version | head -1))"
command -v ctr >/dev/null && log "ctr/containerd: $(containerd --version | cut -d' ' -f3) (private, $ctd_sock)"
log "container: busybox true, network none, $(jq '.linux.seccomp.syscalls | length' "$bundle/config.json") seccomp rules, $(jq '.process.capabilities.bounding | length' "$bundle/config.json") capabilities, cgroup parent /$cgparent"
log "client: $client (one connection per run)"
log "$(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# --- Wall time ------------------------------------------------------------------------------------
for i in "${!cmds[@]}"; do
    n=$runs; [ "${names[$i]}" = docker-run ] && n=${BENCH_DOCKER_RUNS:-30}
    [ "$n" -ge 30 ] || n=30
    if ! hyperfine -N ${BENCH_SHOW:+--show-output} --warmup "$warmup" --runs "$n" \
            --export-json "$tmp/h-${names[$i]}.json" -n "${names[$i]}" "${cmds[$i]}"; then
        echo "bench-containers: ${names[$i]} failed during the timing runs (BENCH_SHOW=1 shows its output)" >&2
        case ${names[$i]} in berth-*|client-*)
            cat "$BERTH_BENCH_CLIENT_LOG" >&2 2>/dev/null; tail -20 "$tmp/lifecycled.log" >&2;;
        esac
        exit 1
    fi
done
if [ -n "${BENCH_EXPORT:-}" ]; then mkdir -p "$BENCH_EXPORT" && cp "$tmp"/h-*.json "$BENCH_EXPORT/"; fi

echo
log "summary (wall time of one container, hyperfine; p99 interpolated from every run's time)"
"$py" -I -S - "$tmp" "${names[@]}" <<'PY'
import json, sys
tmp, names = sys.argv[1], sys.argv[2:]
def pct(xs, q):  # linear interpolation between closest ranks (numpy's default)
    xs = sorted(xs); k = (len(xs) - 1) * q; f = int(k); c = min(f + 1, len(xs) - 1)
    return xs[f] + (xs[c] - xs[f]) * (k - f)
label = {"berth-lifecycled": "berth-lifecycled create+start+wait+remove (client)",
         "client-ping": "client only: system.ping",
         "berth-runtime-run": "berth-runtime run", "runc-run": "runc run",
         "ctr-run": "ctr run --rm (containerd 1.6)", "docker-run": "docker run --rm (dockerd 20.10)"}
med = {}
print("| %-52s | %5s | %10s | %10s | %10s |" % ("", "runs", "median", "p99", "mean"))
print("|%s|%s|%s|%s|%s|" % ("-" * 54, "-" * 7, "-" * 12, "-" * 12, "-" * 12))
for n in names:
    t = json.load(open("%s/h-%s.json" % (tmp, n)))["results"][0]["times"]
    med[n] = pct(t, 0.5)
    print("| %-52s | %5d | %7.1f ms | %7.1f ms | %7.1f ms |" % (label.get(n, n), len(t), med[n] * 1e3, pct(t, 0.99) * 1e3, sum(t) / len(t) * 1e3))
b, p = med["berth-lifecycled"], med["client-ping"]
print()
print("berth-lifecycled net of the client's own cost (median - ping median): %.1f ms" % ((b - p) * 1e3))
for other in ("berth-runtime-run", "ctr-run", "docker-run"):
    if other in med:
        print("ratio berth-lifecycled / %-18s %.2f (medians; with the client's cost taken off berth-lifecycled: %.2f)" % (other + ":", b / med[other], (b - p) / med[other]))
PY

echo
log "where berth-lifecycled's time goes: each request of $runs more cycles on one connection"
$client "$sock" steps "$runs"

# --- Monitor RSS ----------------------------------------------------------------------------------
echo
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
lc_idle=$(rss "$lc_pid")
log "monitor RSS: $nrss containers running sleep 600 (create+start through the socket, $window in flight)"
$client "$sock" spawn "$nrss" "$window" > "$tmp/rss-ids"
sleep 1
total=0; count=0
for f in "$tmp"/run/c/*/monitor.pid; do
    [ -f "$f" ] || continue
    pid=$(tr -dc 0-9 < "$f")
    [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = berth-monitor ] || { echo "bench-containers: $f: pid $pid is not a berth-monitor" >&2; continue; }
    kb=$(rss "$pid"); [ -n "$kb" ] || continue
    total=$((total + kb)); count=$((count + 1))
done
running=$(call container.list '{}' | tail -1 | jq length)
lc_busy=$(rss "$lc_pid"); lc_hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$lc_pid/status")
echo "running containers: $running; berth-monitor processes: $count"
[ "$count" -gt 0 ] && awk -v t="$total" -v c="$count" 'BEGIN { printf "berth-monitor VmRSS: total %d KiB (%.1f MiB), per container %.0f KiB\n", t, t / 1024, t / c }'
echo "berth-lifecycled VmRSS: $lc_idle KiB idle after the timing runs, $lc_busy KiB with $running containers running (VmHWM $lc_hwm KiB)"
$client "$sock" remove-all 16
[ "$count" = "$nrss" ] || { echo "bench-containers: expected $nrss monitors, found $count" >&2; exit 1; }
