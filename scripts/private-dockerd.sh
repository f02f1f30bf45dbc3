# A private dockerd + containerd in a directory of their own, with their own bridge, for benchmarks
# against Docker. Source it, then `dockerd_up DIR DAEMON_JSON` (sets $dk, the docker command for
# it) and `docker_down` (also from an EXIT trap). Only the processes it started are signalled.
# needs: dockerd containerd docker ip (docker.io, iproute2)

dockerd_up() {
    d=${1:?dockerd_up DIR DAEMON_JSON}
    mkdir -p "$d"/{containerd,data,exec,cli}
    br=berthbbr$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
    net=10.214.$((RANDOM % 200 + 20))
    dockerd_pid=; containerd_pid=
    ip -4 -o addr | grep -q " $net\." && { echo "private dockerd: $net.0/24 in use" >&2; return 1; }
    ip link add "$br" type bridge && ip addr add "$net.1/24" dev "$br" && ip link set "$br" up
    printf '%s\n' 'version = 2' "root = \"$d/containerd/root\"" "state = \"$d/containerd/state\"" \
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]' '[grpc]' "  address = \"$d/containerd/containerd.sock\"" \
        '[ttrpc]' "  address = \"$d/containerd/containerd.sock.ttrpc\"" > "$d/containerd.toml"
    echo "${2:-{\}}" > "$d/daemon.json"
    containerd --config "$d/containerd.toml" > "$d/containerd.log" 2>&1 < /dev/null &
    containerd_pid=$!
    for _ in $(seq 100); do [ -S "$d/containerd/containerd.sock" ] && break; sleep 0.1; done
    dockerd --config-file "$d/daemon.json" --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/dockerd.pid" \
        -H "unix://$d/docker.sock" --containerd "$d/containerd/containerd.sock" --bridge "$br" \
        --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false --userland-proxy=false \
        > "$d/dockerd.log" 2>&1 < /dev/null &
    dockerd_pid=$!
    export DOCKER_CONFIG=$d/cli
    dk="docker -H unix://$d/docker.sock"
    for _ in $(seq 300); do $dk version >/dev/null 2>&1 && break; sleep 0.2; done
    $dk version >/dev/null || { echo "private dockerd did not start:" >&2; tail -20 "$d/dockerd.log" >&2; return 1; }
}

docker_down() {
    set +e
    if [ -n "${dockerd_pid:-}" ]; then
        ids=$(docker -H "unix://$d/docker.sock" ps -aq 2>/dev/null)
        [ -n "$ids" ] && docker -H "unix://$d/docker.sock" rm -f $ids >/dev/null 2>&1
        kill -TERM "$dockerd_pid" 2>/dev/null
        for _ in $(seq 150); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$dockerd_pid" 2>/dev/null; wait "$dockerd_pid" 2>/dev/null
        dockerd_pid=
    fi
    if [ -n "${containerd_pid:-}" ]; then
        kill -TERM "$containerd_pid" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$containerd_pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$containerd_pid" 2>/dev/null; wait "$containerd_pid" 2>/dev/null
        containerd_pid=
    fi
    [ -n "${d:-}" ] && grep -o " $d/[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null
    [ -n "${br:-}" ] && ip link del "$br" 2>/dev/null
    return 0
}
