#!/bin/bash
# Benchmarks berth-runtime against runc on the same busybox bundle with Docker's default set-up
# (namespaces, a cgroupsPath, Docker's default seccomp profile and capabilities, masked and
# read-only paths), running `true`:
#   - hyperfine: mean wall time of `<runtime> run` for both, and the ratio berth/runc;
#   - peak RSS of one run of each (/usr/bin/time -f %M: the largest of the runtime and its children);
#   - execve/execveat count of one run of each (strace -f -c), which shows the cost of berth's
#     sealed-memfd exec trampoline (one extra execveat of a 181-byte static ELF);
#   - optional (BENCH_DOCKER=1): `docker run --rm busybox true` with runc vs berth on a private dockerd.
# usage: scripts/bench.sh PATH-TO-berth-runtime      (`make bench` builds release first)
# env:   BENCH_RUNS (default 100), BENCH_WARMUP (5), BENCH_DOCKER=1, BENCH_DOCKER_RUNS (20),
#        BENCH_SECCOMP_PROFILE (Docker's default.json; default: the copy embedded in the tests),
#        BENCH_EXPORT=FILE (keep hyperfine's JSON, with every run's time)
set -euo pipefail

berth=${1:?usage: scripts/bench.sh PATH-TO-berth-runtime}
[ -x "$berth" ] || { echo "bench: $berth is not an executable (build it: make release)" >&2; exit 1; }
berth=$(realpath "$berth")
runs=${BENCH_RUNS:-100}
warmup=${BENCH_WARMUP:-5}
here=$(cd "$(dirname "$0")/.." && pwd)

[ "$(id -u)" = 0 ] || { echo "bench: run as root (containers need it)" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || { echo "bench: $1 is missing (apt-get install -y $2)" >&2; exit 1; }; }
need runc runc; need hyperfine hyperfine; need jq jq
[ -x /bin/busybox ] || { echo "bench: /bin/busybox is missing (apt-get install -y busybox-static)" >&2; exit 1; }
runc=$(command -v runc)

tmp=$(mktemp -d /tmp/berth-bench-XXXXXX)
cgparent=berth-bench-$$
docker_cleanup=:

cleanup() {
    set +e
    $docker_cleanup
    # Containers a failed run left behind, then their cgroups, then the temp dir.
    for id in $(ls "$tmp/berth-root" 2>/dev/null); do "$berth" --root "$tmp/berth-root" delete --force "$id" >/dev/null 2>&1; done
    for id in $(ls "$tmp/runc-root" 2>/dev/null); do "$runc" --root "$tmp/runc-root" delete --force "$id" >/dev/null 2>&1; done
    for d in /sys/fs/cgroup/*/"$cgparent" /sys/fs/cgroup/"$cgparent"; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    grep -o " $tmp[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null
    rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- Docker's default seccomp profile in OCI form, for amd64 -------------------------------------
profile=${BENCH_SECCOMP_PROFILE:-}
if [ -z "$profile" ]; then
    embedded=$here/Tests/BerthTestSupport/DockerDefaultProfile.swift
    if [ -f "$embedded" ]; then
        profile=$tmp/docker-default.json
        sed -n '/^public let dockerDefaultProfileJSON = #"""$/,/^"""#$/p' "$embedded" | sed '1d;$d' > "$profile"
    else
        profile=$here/../shared/reference/docker-default-seccomp.json
    fi
fi
jq -e .syscalls "$profile" >/dev/null || { echo "bench: no usable seccomp profile at $profile" >&2; exit 1; }

# Docker's default capability set.
caps='["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FSETID","CAP_FOWNER","CAP_MKNOD","CAP_NET_RAW","CAP_SETGID",
       "CAP_SETUID","CAP_SETFCAP","CAP_SETPCAP","CAP_NET_BIND_SERVICE","CAP_SYS_CHROOT","CAP_KILL","CAP_AUDIT_WRITE"]'
kernel=$(uname -r | sed 's/[^0-9.].*//')

# Docker's rules: includes.caps all held, includes.arches has amd64, includes.minKernel <= kernel,
# excludes.caps none held, excludes.arches without amd64. Docker-only fields dropped.
jq --argjson caps "$caps" --arg kernel "$kernel" '
    def ver: split(".") | map(tonumber? // 0) | . + [0, 0] | .[0:2];
    def has($list; $x): any($list[]; . == $x);
    def amd64($arches): has($arches; "amd64") or has($arches; "x86_64");
    {
        defaultAction, defaultErrnoRet,
        architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        syscalls: [
            .syscalls[]
            | select(all((.includes.caps // [])[]; has($caps; .)))
            | select(.includes.arches == null or amd64(.includes.arches))
            | select(.includes.minKernel == null or ((.includes.minKernel | ver) <= ($kernel | ver)))
            | select(all((.excludes.caps // [])[]; has($caps; .) | not))
            | select(.excludes.arches == null or (amd64(.excludes.arches) | not))
            | {names, action, errnoRet, args}
            | with_entries(select(.value != null and .value != []))
        ]
    } | with_entries(select(.value != null))' "$profile" > "$tmp/seccomp.json"

# --- The bundle: `runc spec` plus the rest of Docker's defaults ----------------------------------
bundle=$tmp/bundle
# The busybox rootfs from the project's own fixture script; the config is runc's own `spec`.
BERTH_RUNTIME="$berth" "$here/scripts/make-bundle.sh" "$bundle" true
rm "$bundle/config.json"
(cd "$bundle" && "$runc" spec)
jq --slurpfile seccomp "$tmp/seccomp.json" --argjson caps "$caps" --arg cg "/$cgparent/ctr" '
    .process.args = ["true"]
    | .process.terminal = false
    | .process.noNewPrivileges = false
    | .process.capabilities = {bounding: $caps, effective: $caps, permitted: $caps}
    | .linux.namespaces = [{type: "pid"}, {type: "network"}, {type: "ipc"}, {type: "uts"}, {type: "mount"}]
    | .linux.cgroupsPath = $cg
    | .linux.seccomp = $seccomp[0]
    | .linux.maskedPaths = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"]
    | .linux.readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
    | if any(.mounts[]; .destination == "/sys/fs/cgroup") then . else
        .mounts += [{destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"]}]
      end
' "$bundle/config.json" > "$bundle/config.json.new"
mv "$bundle/config.json.new" "$bundle/config.json"

berth_cmd="$berth --root $tmp/berth-root run --bundle $bundle bench-berth-$$"
runc_cmd="$runc --root $tmp/runc-root run --bundle $bundle bench-runc-$$"

# Both must run the bundle before they are timed.
for cmd in "$berth_cmd" "$runc_cmd"; do
    if ! out=$($cmd 2>&1); then echo "bench: failed: $cmd" >&2; echo "$out" >&2; exit 1; fi
done

echo "== berth-runtime: $berth ($("$berth" --version 2>/dev/null | head -1 || true))"
echo "== runc: $runc ($("$runc" --version | head -1))"
echo "== bundle: busybox true; $(jq '.linux.seccomp.syscalls | length' "$bundle/config.json") seccomp rules, $(jq '.process.capabilities.bounding | length' "$bundle/config.json") capabilities, cgroupsPath $(jq -r .linux.cgroupsPath "$bundle/config.json")"
echo

# --- Wall time ------------------------------------------------------------------------------------
hyperfine -N --warmup "$warmup" --runs "$runs" --export-json "$tmp/hyperfine.json" \
    -n berth "$berth_cmd" -n runc "$runc_cmd"

[ -z "${BENCH_EXPORT:-}" ] || cp "$tmp/hyperfine.json" "$BENCH_EXPORT"
mean() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .mean' "$tmp/hyperfine.json"; }
stddev() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .stddev' "$tmp/hyperfine.json"; }
bm=$(mean berth); rm_=$(mean runc)
echo
echo "== summary ($runs runs each)"
awk -v b="$bm" -v bs="$(stddev berth)" -v r="$rm_" -v rs="$(stddev runc)" 'BEGIN {
    printf "berth-runtime run: mean %.2f ms (± %.2f)\n", b * 1000, bs * 1000
    printf "runc run:          mean %.2f ms (± %.2f)\n", r * 1000, rs * 1000
    printf "ratio berth/runc:  %.3f\n", b / r
}'

# --- Peak RSS -------------------------------------------------------------------------------------
if [ -x /usr/bin/time ]; then
    for pair in "berth-runtime:$berth_cmd" "runc:$runc_cmd"; do
        name=${pair%%:*}; cmd=${pair#*:}
        /usr/bin/time -f %M -o "$tmp/rss" $cmd >/dev/null 2>&1 || { echo "bench: $cmd failed under time" >&2; exit 1; }
        printf "%-18s peak RSS %s KiB\n" "$name:" "$(tail -1 "$tmp/rss")"
    done
else
    echo "peak RSS: skipped (/usr/bin/time missing: apt-get install -y time)"
fi

# --- Exec trampoline: execve count ----------------------------------------------------------------
if command -v strace >/dev/null 2>&1; then
    for pair in "berth-runtime:$berth_cmd" "runc:$runc_cmd"; do
        name=${pair%%:*}; cmd=${pair#*:}
        strace -f -qq -c -e trace=execve,execveat -o "$tmp/strace" $cmd >/dev/null 2>&1 || { echo "bench: $cmd failed under strace" >&2; exit 1; }
        counts=$(awk '$NF == "execve" || $NF == "execveat" { printf "%s%s=%s", sep, $NF, $4; sep = " " }' "$tmp/strace")
        printf "%-18s %s (one run, strace -f)\n" "$name:" "${counts:-no execs seen}"
    done
    echo "(berth: runtime execve + sealed-memfd trampoline execveat + container execve)"
else
    echo "execve count: skipped (strace missing)"
fi

# --- Optional: through Docker ---------------------------------------------------------------------
if [ "${BENCH_DOCKER:-0}" = 1 ]; then
    for b in dockerd containerd docker ip; do need "$b" docker.io; done
    . "$here/scripts/private-dockerd.sh"
    docker_cleanup=docker_down
    dockerd_up "$tmp/docker" "{\"runtimes\": {\"berth\": {\"path\": \"$berth\"}}}" || exit 1
    tar -C "$bundle/rootfs" -c . | $dk import - busybox:latest >/dev/null
    echo
    hyperfine -N --warmup 2 --runs "${BENCH_DOCKER_RUNS:-20}" --export-json "$tmp/hyperfine-docker.json" \
        -n "docker runc" "$dk run --rm --network none busybox true" \
        -n "docker berth" "$dk run --rm --network none --runtime berth busybox true"
    jq -r '.results[] | "\(.command): mean \(.mean * 1000 | floor) ms"' "$tmp/hyperfine-docker.json"
    jq -r '(.results | map({(.command): .mean}) | add) as $m | "ratio docker berth/runc: \($m["docker berth"] / $m["docker runc"] * 1000 | round / 1000)"' "$tmp/hyperfine-docker.json"
fi
