#!/bin/bash
# Benchmarks what networking adds to a container start through berth-lifecycled, against Docker's.
#   - hyperfine (`--export-json`): one full create → start → wait → remove of busybox `true` through a
#     private berth-lifecycled, sent by scripts/bench-lifecycle-client.py (`cycle-json`: one process,
#     one connection, four requests), with HostConfig.NetworkMode
#       none     its own namespace with only lo,
#       bridge   the default bridge: a veth and an address (CNI bridge + host-local),
#       user     a user-defined network: the same, plus the embedded DNS's sockets,
#       ports    the default bridge with `-p 127.0.0.1::80` (a random host port held, CNI portmap);
#   - on the same machine in the same run (BENCH_DOCKER=0 skips it): `docker run --rm --network none
#     busybox true` and `docker run --rm busybox true` (its bridge) on a private dockerd
#     (scripts/private-dockerd.sh: its own bridge, --iptables=false) with the same busybox rootfs;
#   - a table of median and p99 (from hyperfine's `times`), and what networking adds (bridge − none,
#     for Berth and for Docker; user − none and ports − none for Berth);
#   - each request's median over as many cycles on one connection per mode (`steps`): the network is
#     set up in container.start; after the exit it is released in the background while container.wait
#     answers, and container.remove waits for that;
#   - the issue's target, networking adds under 10 ms per container start: create+start's median
#     with each network minus without (from the `steps` cycles), met or not.
# Everything is this run's own: a temp dir, a cgroup parent (/berth-bench-XXXXXX), the default bridge
# berthbench<hex>0 and the user network's bridge berthbench<hex>1, iptables chains BERTH-BENCH-<HEX>-*,
# a free 10.x.0.0/16 (not routed on the host) for both networks. The EXIT trap removes the containers
# and the user network through the daemon, stops the daemons it started (by pid), unmounts, removes
# the cgroups, the bridges, the chains and the jumps into them, the portmap plugin's per-container
# rules for this run's networks, and its shared CNI-HOSTPORT-* chains if this run created them and no
# other container has rules in them; then it reports anything of this run still there.
# usage: scripts/bench-network.sh BIN_DIR   (berth-lifecycled, berth-runtime, berth-monitor; `make
#        bench` passes the release build)
# env:   BENCH_NETWORK_RUNS (default 50), BENCH_NETWORK_WARMUP (3), BENCH_DOCKER (1; 0 skips Docker),
#        BENCH_DOCKER_RUNS (20), BENCH_EXPORT=DIR (keep hyperfine's JSON files), BENCH_SHOW=1
set -euo pipefail

bin=${1:?usage: scripts/bench-network.sh BIN_DIR}
bin=$(realpath "$bin")
lc=$bin/berth-lifecycled; rt=$bin/berth-runtime; mon=$bin/berth-monitor
for b in "$lc" "$rt" "$mon"; do
    [ -x "$b" ] || { echo "bench-network: $b is missing (build it: make release)" >&2; exit 1; }
done
runs=${BENCH_NETWORK_RUNS:-50}
warmup=${BENCH_NETWORK_WARMUP:-3}
with_docker=${BENCH_DOCKER:-1}
docker_runs=${BENCH_DOCKER_RUNS:-20}
[ "$runs" -ge 10 ] && [ "$docker_runs" -ge 10 ] || { echo "bench-network: BENCH_NETWORK_RUNS and BENCH_DOCKER_RUNS must be at least 10" >&2; exit 1; }
here=$(cd "$(dirname "$0")/.." && pwd)
client_py=$here/scripts/bench-lifecycle-client.py

[ "$(id -u)" = 0 ] || { echo "bench-network: run as root (containers and bridges need it)" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || { echo "bench-network: $1 is missing (apt-get install -y $2)" >&2; exit 1; }; }
need hyperfine hyperfine; need jq jq; need python3 python3; need ip iproute2; need iptables iptables
for p in bridge host-local portmap; do
    [ -x /usr/lib/cni/$p ] || [ -x /opt/cni/bin/$p ] || { echo "bench-network: the CNI $p plugin is missing (apt-get install -y containernetworking-plugins)" >&2; exit 1; }
done
[ -x /bin/busybox ] || { echo "bench-network: /bin/busybox is missing (apt-get install -y busybox-static)" >&2; exit 1; }
py=$(python3 -c 'import sys; print(sys.executable)')
client="$py -I -S $client_py"
export BERTH_BENCH_CLIENT_LOG

bench_stop_daemons() {
    if [ -n "$lc_pid" ] && kill -0 "$lc_pid" 2>/dev/null; then
        [ -S "$sock" ] && timeout 120 $client "$sock" remove-all 16 2>&1 | grep -v '^removed 0 of 0' | sed 's/^/cleanup: /'
        [ -n "$user_net_id" ] && { timeout 60 "$lc" call --socket "$sock" network.remove "{\"id\":\"$user_net_id\"}" >/dev/null \
            || echo "cleanup: network.remove $user_net failed" >&2; }
        kill_pid "$lc_pid"
    fi
}
bench_tmp_prefix=bbn
. "$here/scripts/bench-lib.sh"

# --- berth-lifecycled and the image ---------------------------------------------------------------
# In a session of its own (setsid execs in place), so a Ctrl-C reaches this script, not the daemon,
# and the EXIT trap can still remove the containers through it.
started_as() {  # started_as PID PROGRAM: PID runs PROGRAM (setsid did not fork)
    [ "$(readlink "/proc/$1/exe")" = "$(readlink -f "$2")" ] || { echo "bench-network: pid $1 is not $2" >&2; exit 1; }
}
mkdir -p "$tmp/run"
setsid "$lc" serve --root "$tmp/root" --run-root "$tmp/run" --cgroup-parent "/$cgparent" \
    --runtime "$rt" --monitor "$mon" --bridge "$berth_bridge" --bip "10.$octet.0.1/24" \
    --default-address-pool "base=10.$octet.1.0/24,size=24" --bridge-prefix "$bridge_prefix" \
    --iptables-chain-prefix "$chain_prefix" >"$tmp/lifecycled.log" 2>&1 </dev/null &
lc_pid=$!
for _ in $(seq 100); do BERTH_BENCH_CLIENT_LOG= $client "$sock" ping 2>/dev/null && break; sleep 0.1; done
$client "$sock" ping || { echo "bench-network: berth-lifecycled did not start:" >&2; tail -20 "$tmp/lifecycled.log" >&2; exit 1; }
started_as "$lc_pid" "$lc"
call() { "$lc" call --socket "$sock" "$@"; }

"$here/scripts/default-image.sh" "$lc" "$tmp/root" "$tmp/run" >/dev/null
bridge_net_id=$(call network.inspect '{"id":"bridge"}' | tail -1 | jq -r .Id)
user_net_id=$(call network.create "{\"Name\":\"$user_net\",\"Options\":{\"com.docker.network.bridge.name\":\"$user_bridge\"}}" | tail -1 | jq -r .Id)
user_subnet=$(call network.inspect "{\"id\":\"$user_net_id\"}" | tail -1 | jq -r '.IPAM.Config[0].Subnet')

body() {  # body NETWORKMODE [PORTS]: a compact create body (no spaces: hyperfine splits commands)
    local ports=${2:-}
    if [ -n "$ports" ]; then
        printf '{"Image":"busybox","Cmd":["true"],"ExposedPorts":{"80/tcp":{}},"HostConfig":{"NetworkMode":"%s","PortBindings":{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":""}]}}}' "$1"
    else
        printf '{"Image":"busybox","Cmd":["true"],"HostConfig":{"NetworkMode":"%s"}}' "$1"
    fi
}
modes=(none bridge user ports)
declare -A bodies=([none]=$(body none) [bridge]=$(body bridge) [user]=$(body "$user_net") [ports]=$(body bridge ports))

# --- Do the networks work? (not timed) -------------------------------------------------------------
check() {  # check NETWORKMODE SHELL-TEST: a container on it passes the test
    local b
    b=$(jq -nc --arg n "$1" --arg t "$2" '{Image:"busybox",Cmd:["sh","-c",$t],HostConfig:{NetworkMode:$n}}')
    $client "$sock" cycle-json "$b" || { echo "bench-network: on network $1, this failed in a container: $2" >&2; tail -20 "$tmp/lifecycled.log" >&2; exit 1; }
}
check none '[ "$(ls /sys/class/net)" = lo ]'
check bridge "ip -4 -o addr show eth0 | grep -q ' 10\\.$octet\\.0\\.' && ip route | grep -q '^default via 10\\.$octet\\.0\\.1 '"
check "$user_net" "ip -4 -o addr show eth0 | grep -q ' ${user_subnet%.0/*}\\.' && grep -q '^nameserver 127.0.0.11' /etc/resolv.conf && nslookup \$(hostname) 127.0.0.11 >/dev/null"
# A published port: a host port is held and portmap DNATs it; all gone once the container is removed.
probe=$(call container.create "$(jq -nc '{config:{Image:"busybox",Cmd:["sleep","30"],ExposedPorts:{"80/tcp":{}},HostConfig:{NetworkMode:"bridge",PortBindings:{"80/tcp":[{HostIp:"127.0.0.1",HostPort:""}]}}}}')" | tail -1 | jq -r .Id)
call container.start "{\"id\":\"$probe\"}" >/dev/null
hport=$(call container.inspect "{\"id\":\"$probe\"}" | tail -1 | jq -r '.NetworkSettings.Ports["80/tcp"][0].HostPort')
iptables -t nat -S 2>/dev/null | grep -q -- "--dport $hport .*--to-destination 10\\.$octet\\.0\\.[0-9]*:80" \
    || { echo "bench-network: no DNAT rule for the published port 127.0.0.1:$hport:" >&2; iptables -t nat -S 2>/dev/null | grep -F "$probe" >&2; exit 1; }
call container.remove "{\"id\":\"$probe\",\"force\":true}" >/dev/null
! iptables -t nat -S 2>/dev/null | grep -qe "$probe" -e "--dport $hport " || { echo "bench-network: portmap rules left after removing the container" >&2; exit 1; }

# --- Optional: a private dockerd with the same rootfs ---------------------------------------------
docker_none=""; docker_bridge=""
if [ "$with_docker" = 1 ]; then
    for b in dockerd containerd docker; do need "$b" docker.io; done
    . "$here/scripts/private-dockerd.sh"
    docker_started=1
    dockerd_up "$tmp/docker" "{\"cgroup-parent\": \"/$cgparent/docker\"}" || exit 1
    "$here/scripts/busybox-rootfs.sh" "$tmp/image-rootfs"
    tar -C "$tmp/image-rootfs" -c . | $dk import - busybox:latest >/dev/null
    docker_none="$dk run --rm --network none busybox true"
    docker_bridge="$dk run --rm busybox true"
    $dk run --rm busybox sh -c "ip -4 -o addr show eth0 | grep -q inet" \
        || { echo "bench-network: a docker container on its bridge has no address" >&2; exit 1; }
fi

names=(client-ping); cmds=("$client $sock ping")
for m in "${modes[@]}"; do names+=("berth-$m"); cmds+=("$client $sock cycle-json '${bodies[$m]}'"); done
[ -n "$docker_none" ] && { names+=(docker-none docker-bridge); cmds+=("$docker_none" "$docker_bridge"); }
for i in "${!cmds[@]}"; do
    out=$(bash -c "${cmds[$i]}" 2>&1 </dev/null) || { echo "bench-network: failed: ${cmds[$i]}" >&2; echo "$out" >&2; exit 1; }
done

log "berth: $bin ($("$lc" --version 2>/dev/null | head -1)); CNI plugins $(dpkg-query -W -f '${Version}' containernetworking-plugins 2>/dev/null || echo '?')"
log "berth networks: default bridge $berth_bridge 10.$octet.0.1/24; user network $user_net on $user_bridge $user_subnet (embedded DNS); iptables chains $chain_prefix-*; cgroup parent /$cgparent"
[ -n "$docker_none" ] && log "docker: client $($dk version -f '{{.Client.Version}}' 2>/dev/null), private dockerd $($dk version -f '{{.Server.Version}}' 2>/dev/null) (bridge $br, --iptables=false)"
log "client: $client (one connection per run); container: busybox true"
log "$(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# --- Wall time ------------------------------------------------------------------------------------
for i in "${!cmds[@]}"; do
    n=$runs; w=$warmup
    case ${names[$i]} in docker-*) n=$docker_runs; w=2;; esac
    if ! hyperfine -N ${BENCH_SHOW:+--show-output} --warmup "$w" --runs "$n" \
            --export-json "$tmp/h-${names[$i]}.json" -n "${names[$i]}" "${cmds[$i]}"; then
        echo "bench-network: ${names[$i]} failed during the timing runs (BENCH_SHOW=1 shows its output)" >&2
        case ${names[$i]} in berth-*) cat "$BERTH_BENCH_CLIENT_LOG" >&2 2>/dev/null; tail -20 "$tmp/lifecycled.log" >&2;; esac
        exit 1
    fi
done
if [ -n "${BENCH_EXPORT:-}" ]; then mkdir -p "$BENCH_EXPORT" && cp "$tmp"/h-*.json "$BENCH_EXPORT/"; fi

# --- Each request, per mode -------------------------------------------------------------------------
for m in "${modes[@]}"; do
    BERTH_BENCH_STEPS_JSON=$tmp/steps-$m.json $client "$sock" steps "$runs" "${bodies[$m]}" >/dev/null \
        || { echo "bench-network: steps of $m failed" >&2; tail -20 "$tmp/lifecycled.log" >&2; exit 1; }
done

echo
log "summary (wall time of one container, hyperfine; p99 interpolated from every run's time)"
"$py" -I -S - "$tmp" "$runs" "${names[@]}" <<'PY'
import json, sys
tmp, runs, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
target = 10.0  # ms, the issue's: networking adds under 10 ms per container start
def pct(xs, q):  # linear interpolation between closest ranks (numpy's default)
    xs = sorted(xs); k = (len(xs) - 1) * q; f = int(k); c = min(f + 1, len(xs) - 1)
    return xs[f] + (xs[c] - xs[f]) * (k - f)
label = {"client-ping": "client only: system.ping (the client's own cost)",
         "berth-none": "berth  NetworkMode none (lo only)",
         "berth-bridge": "berth  default bridge (veth + address)",
         "berth-user": "berth  user-defined network (+ embedded DNS)",
         "berth-ports": "berth  default bridge + -p 127.0.0.1::80 (portmap)",
         "docker-none": "docker run --rm --network none",
         "docker-bridge": "docker run --rm (its bridge, --iptables=false)"}
med, p99 = {}, {}
print("| %-50s | %4s | %10s | %10s |" % ("create+start+wait+remove of busybox true", "runs", "median", "p99"))
print("|%s|%s|%s|%s|" % ("-" * 52, "-" * 6, "-" * 12, "-" * 12))
for n in names:
    t = json.load(open("%s/h-%s.json" % (tmp, n)))["results"][0]["times"]
    med[n], p99[n] = pct(t, 0.5) * 1e3, pct(t, 0.99) * 1e3
    print("| %-50s | %4d | %7.1f ms | %7.1f ms |" % (label.get(n, n), len(t), med[n], p99[n]))
print()
print("networking adds (difference of medians; p99s in brackets):")
rows = [("berth  bridge - none", "berth-bridge", "berth-none"),
        ("berth  user network - none", "berth-user", "berth-none"),
        ("berth  bridge + published port - none", "berth-ports", "berth-none"),
        ("docker bridge - none", "docker-bridge", "docker-none")]
for text, a, b in rows:
    if a in med and b in med:
        print("  %-40s %+7.1f ms   (%+7.1f ms)" % (text, med[a] - med[b], p99[a] - p99[b]))

steps = {m: json.load(open("%s/steps-%s.json" % (tmp, m))) for m in ("none", "bridge", "user", "ports")}
print()
print("each request (median over %d more cycles on one connection): container.start sets the network up; after" % runs)
print("the exit it is released in the background while container.wait answers, and container.remove waits for it")
reqs = ("create", "start", "wait", "remove")
print("| %-6s |%s| %13s | %14s |" % ("", "|".join(" %16s " % ("container." + r) for r in reqs), "start - none", "remove - none"))
print("|%s|%s|%s|%s|" % ("-" * 8, "|".join("-" * 18 for _ in reqs), "-" * 15, "-" * 16))
none = {r: pct(steps["none"][r], 0.5) * 1e3 for r in reqs}
for m, s in steps.items():
    cells = "|".join(" %8.1f (%5.1f) " % (pct(s[r], 0.5) * 1e3, pct(s[r], 0.99) * 1e3) for r in reqs)
    print("| %-6s |%s| %+10.1f ms | %+11.1f ms |" % (m, cells, pct(s["start"], 0.5) * 1e3 - none["start"],
                                                   pct(s["remove"], 0.5) * 1e3 - none["remove"]))
print("  (median (p99) in ms; the last two columns: differences of medians)")

print()
def create_start(m):  # median of each cycle's create + start
    s = steps[m]
    return pct([a + b for a, b in zip(s["create"], s["start"])], 0.5) * 1e3
cs = {m: create_start(m) - create_start("none") for m in ("bridge", "user", "ports")}
whole = med["berth-bridge"] - med["berth-none"]
print("target (the issue's): networking adds under %.0f ms per container start (create+start of true, with and" % target)
print("without networking); median of create+start over the cycles above, minus none's:")
for m, text in (("bridge", "default bridge"), ("user", "user-defined network"), ("ports", "bridge + published port")):
    print("  berth  %-24s %+7.1f ms  %s" % (text, cs[m], "met" if cs[m] < target else "NOT met"))
print("target %s: the default bridge adds %.1f ms to create+start; releasing it (in remove) adds %.1f ms more;"
      % ("MET" if cs["bridge"] < target else "NOT MET", cs["bridge"], pct(steps["bridge"]["remove"], 0.5) * 1e3 - none["remove"]))
print("the whole container (create+start+wait+remove, one client process each) %+.1f ms" % whole, end="")
if "docker-bridge" in med:
    print("; docker run's bridge %+.1f ms" % (med["docker-bridge"] - med["docker-none"]))
else:
    print()
PY
