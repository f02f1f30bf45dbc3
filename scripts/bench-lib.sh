# Shared by the benchmarks that start a private berth stack (bench-network.sh, bench-cli.sh): this
# run's names (temp dir, cgroup parent, bridges berthbench<hex>0/1, iptables chains
# BERTH-BENCH-<HEX>-*, a free 10.x.0.0/16), and the EXIT trap that removes all of it, by pid and by
# this run's names only. Source it after setting `lc`, `rt`, `py` and defining `bench_stop_daemons`
# (removes the containers and networks through the daemon, then stops the daemons it started);
# `docker_started`, `user_net_id` and `bridge_net_id` are read by the clean-up when set.

# --- This run's names -----------------------------------------------------------------------------
# Short temp path: unix socket paths under it must stay below 108 bytes.
tmp=$(mktemp -d "/tmp/${bench_tmp_prefix:-bbn}-XXXXXX")
cgparent=berth-bench-${tmp##*-}
sock=$tmp/run/lifecycle.sock
BERTH_BENCH_CLIENT_LOG=$tmp/client-errors.log
lc_pid=""; docker_started=""; user_net_id=""; bridge_net_id=""
for _ in $(seq 20); do
    hex=$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
    HEX=${hex^^}
    ip link show dev "berthbench${hex}0" >/dev/null 2>&1 || ip link show dev "berthbench${hex}1" >/dev/null 2>&1 && continue
    iptables-save 2>/dev/null | grep -q "BERTH-BENCH-$HEX-" && continue
    break
done
berth_bridge=berthbench${hex}0         # --bridge: the default bridge (15 characters)
user_bridge=berthbench${hex}1          # the user network's, by com.docker.network.bridge.name
bridge_prefix=bbench$hex               # --bridge-prefix: unused (the name above is asked for), but this run's
chain_prefix=BERTH-BENCH-$HEX          # --iptables-chain-prefix
user_net=berthbench$hex
# The portmap plugin's shared chains: removed at the end only if this run created them.
hostport_chains="CNI-HOSTPORT-DNAT CNI-HOSTPORT-MASQ CNI-HOSTPORT-SETMARK"
hostport_before=$(iptables -t nat -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^CNI-HOSTPORT-/ { print $2 }' | tr '\n' ' ')
portmap_chains_before=$(iptables -t nat -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^CNI-(DN|SN)-/ { print $2 }' | tr '\n' ' ')

# A 10.x.0.0/16 nothing on the host routes or has an address in: the default bridge gets
# 10.x.0.1/24, the address pool (one network) 10.x.1.0/24.
octet=$("$py" -I -S - <<'PY'
import ipaddress, random, subprocess
kinds = {"local", "broadcast", "unicast", "blackhole", "unreachable", "prohibit", "throw", "multicast", "anycast", "nat"}
taken = []
for line in subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True).stdout.splitlines() \
        + subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout.splitlines():
    w = line.split()
    if not w:
        continue
    dst = w[1] if w[0] in kinds and len(w) > 1 else w[0]
    if dst != "default":
        try: taken.append(ipaddress.ip_network(dst, strict=False))
        except ValueError: pass
for line in subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout.splitlines():
    w = line.split()
    if len(w) > 3:
        try: taken.append(ipaddress.ip_interface(w[3]).network)
        except ValueError: pass
xs = list(range(100, 200))
random.shuffle(xs)
for x in xs:
    n = ipaddress.ip_network("10.%d.0.0/16" % x)
    if not any(n.overlaps(t) for t in taken):
        print(x)
        break
PY
)
[ -n "$octet" ] || { echo "bench-network: no free 10.x.0.0/16 among 10.100-10.199" >&2; rm -rf "$tmp"; exit 1; }
subnet=10.$octet.0.0/16

log() { echo "== $*"; }

kill_pid() {  # kill_pid PID: TERM, then KILL after ~10 s; only for children this script started
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# ipt_delete TABLE RULE…: deletes `iptables -S` lines (`-A CHAIN spec`; their quoting is the shell's).
ipt_delete() {
    local table=$1 line; shift
    for line in "$@"; do eval "iptables -w -t $table -D ${line#-A }" 2>/dev/null; done
}

# nat rules this run's containers left, if any: portmap's per-container chains (CNI-DN-*, CNI-SN-*)
# new since the start that DNAT to this run's subnet, and the rules commented with this run's
# network IDs (portmap names its rules `dnat name: "<network id>" id: "<container id>"`).
portmap_leftovers() {
    local ids=() chain lines line
    [ -n "$bridge_net_id" ] && ids+=(-e "$bridge_net_id")
    [ -n "$user_net_id" ] && ids+=(-e "$user_net_id")
    if [ ${#ids[@]} -gt 0 ]; then
        mapfile -t lines < <(iptables -t nat -S 2>/dev/null | grep '^-A ' | grep -F "${ids[@]}")
        [ ${#lines[@]} -gt 0 ] && { echo "cleanup: removing ${#lines[@]} portmap rule(s) of this run's networks" >&2; ipt_delete nat "${lines[@]}"; }
    fi
    for chain in $(iptables -t nat -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^CNI-(DN|SN)-/ { print $2 }'); do
        [[ " $portmap_chains_before " == *" $chain "* ]] && continue
        iptables -t nat -S "$chain" 2>/dev/null | grep -qF "10.$octet." || continue
        mapfile -t lines < <(iptables -t nat -S 2>/dev/null | grep '^-A ' | grep -- "-j $chain\( \|$\)")
        ipt_delete nat "${lines[@]}"
        iptables -w -t nat -F "$chain" 2>/dev/null; iptables -w -t nat -X "$chain" 2>/dev/null
        echo "cleanup: removed portmap chain $chain (DNAT to this run's subnet)" >&2
    done
}

cleanup() {
    local rc=$?
    set +e
    trap '' INT TERM HUP   # a second Ctrl-C must not cut the clean-up short
    # 1. Containers and networks, through the daemon that made them; then the daemon (the caller's).
    bench_stop_daemons
    # Monitors a failed run left (berth-monitor outlives its daemon by design): only those whose
    # pid file is under this run root, still named berth-monitor and with this temp dir in argv.
    for f in "$tmp"/run/c/*/monitor.pid; do
        [ -f "$f" ] || continue
        pid=$(tr -dc 0-9 < "$f")
        [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = berth-monitor ] || continue
        mapfile -d '' argv < /proc/"$pid"/cmdline 2>/dev/null
        [[ "${argv[*]}" == *"$tmp/"* ]] && kill -KILL "$pid" 2>/dev/null
    done
    for id in $(ls "$tmp/run/runtime" 2>/dev/null); do "$rt" --root "$tmp/run/runtime" delete --force "$id" >/dev/null 2>&1; done
    # 2. The private dockerd and its containerd (scripts/private-dockerd.sh; also deletes its bridge).
    [ -n "$docker_started" ] && docker_down
    # 3. Last resort, still by pid: processes in this run's cgroup parent (containers), and
    #    processes with this temp dir in their argv (shims, monitors).
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
    # 4. Mounts under the temp dir (network namespaces included; deepest first), cgroups, the temp dir.
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
    # 5. Bridges: the default one (the daemon never deletes it) and the user network's if the
    #    daemon could not remove it; host ends of veths still on them first.
    for b in "$berth_bridge" "$user_bridge" $(ip -br link 2>/dev/null | awk -v p="$bridge_prefix" 'index($1, p) == 1 { print $1 }'); do
        ip link show dev "$b" >/dev/null 2>&1 || continue
        for v in $(ip -br link show master "$b" 2>/dev/null | awk '{ sub(/@.*/, "", $1); print $1 }'); do ip link del "$v" 2>/dev/null; done
        ip link del "$b" 2>/dev/null || echo "cleanup: could not delete bridge $b" >&2
    done
    # 6. iptables: portmap's leftovers, this run's chains and the jumps into them, and portmap's
    #    shared chains if this run created them and no container has rules in them any more.
    portmap_leftovers
    for table in filter nat; do
        mapfile -t lines < <(iptables -t "$table" -S 2>/dev/null | grep '^-A ' | grep -v "^-A $chain_prefix-" | grep -- "-j $chain_prefix-")
        [ ${#lines[@]} -gt 0 ] && ipt_delete "$table" "${lines[@]}"
        for c in $(iptables -t "$table" -S 2>/dev/null | awk -v p="$chain_prefix-" '$1 == "-N" && index($2, p) == 1 { print $2 }'); do
            iptables -w -t "$table" -F "$c" 2>/dev/null
        done
        for c in $(iptables -t "$table" -S 2>/dev/null | awk -v p="$chain_prefix-" '$1 == "-N" && index($2, p) == 1 { print $2 }'); do
            iptables -w -t "$table" -X "$c" 2>/dev/null || echo "cleanup: could not delete chain $table $c" >&2
        done
    done
    if [ -z "$hostport_before" ] && iptables -t nat -S CNI-HOSTPORT-DNAT >/dev/null 2>&1; then
        if [ "$(iptables -t nat -S CNI-HOSTPORT-DNAT 2>/dev/null | grep -c '^-A ')" = 0 ]; then
            for c in $hostport_chains; do
                mapfile -t lines < <(iptables -t nat -S 2>/dev/null | grep '^-A ' | grep -v "^-A $c " | grep -- "-j $c\( \|$\)")
                [ ${#lines[@]} -gt 0 ] && ipt_delete nat "${lines[@]}"
            done
            for c in $hostport_chains; do iptables -w -t nat -F "$c" 2>/dev/null; iptables -w -t nat -X "$c" 2>/dev/null; done
        else
            echo "cleanup: CNI-HOSTPORT-DNAT (created by this run) now has other containers' rules: left in place" >&2
        fi
    fi
    rm -rf --one-file-system "$tmp"
    [ -e "$tmp" ] && echo "cleanup: could not remove $tmp" >&2
    # 7. Anything of this run still there?
    left=$( { ip -br link | grep -e "berthbench$hex" -e "^$bridge_prefix" | sed 's/^/link: /'
              iptables-save 2>/dev/null | grep -e "$chain_prefix" -e "10\.$octet\." | sed 's/^/iptables: /'
              for nid in $bridge_net_id $user_net_id; do iptables-save 2>/dev/null | grep -F "$nid" | sed 's/^/iptables: /'; done
              grep -F "$tmp" /proc/self/mountinfo | sed 's/^/mount: /'
              ls -d /sys/fs/cgroup/"$cgparent" /sys/fs/cgroup/*/"$cgparent" 2>/dev/null | sed 's/^/cgroup: /'; } | sort -u)
    [ -n "$left" ] && { echo "cleanup: left behind:" >&2; echo "$left" >&2; }
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
