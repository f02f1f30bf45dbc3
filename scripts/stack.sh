#!/bin/bash
# Starts or stops the installed stack (berthd, which starts berth-lifecycled): as the systemd unit
# berthd.service where systemd runs, else in the background with its log in /var/log/berth/berthd.log
# and its pid in /run/berth/berthd.pid.
# usage: stack.sh start|stop|status [BIN_DIR]   (default /usr/local/bin)
set -euo pipefail
cmd=${1:?usage: stack.sh start|stop|status [BIN_DIR]}
bin=${2:-/usr/local/bin}
sock=/run/berth/berth.sock
pidfile=/run/berth/berthd.pid
log=/var/log/berth/berthd.log
systemd() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }
up() { "$bin/berth" -H "unix://$sock" version --format '{{.Server.Version}}' >/dev/null 2>&1 \
       || curl -sf --max-time 2 --unix-socket "$sock" http://berthd/_ping >/dev/null 2>&1; }

case $cmd in
start)
    if up; then echo "berthd is already running on unix://$sock"; exit 0; fi
    if systemd && [ -f /etc/systemd/system/berthd.service ]; then
        systemctl daemon-reload
        systemctl enable --now berthd.service
    else
        mkdir -p /var/log/berth /run/berth
        setsid "$bin/berthd" --pidfile "$pidfile" >>"$log" 2>&1 </dev/null &
    fi
    for _ in $(seq 100); do up && break; sleep 0.1; done
    up || { echo "berthd did not come up; its log: $log" >&2; tail -20 "$log" >&2 2>/dev/null; exit 1; }
    echo "berthd is running on unix://$sock (log: $(systemd && [ -f /etc/systemd/system/berthd.service ] && echo 'journalctl -u berthd' || echo "$log"))"
    ;;
stop)
    if systemd && [ -f /etc/systemd/system/berthd.service ]; then systemctl stop berthd.service; exit 0; fi
    [ -f "$pidfile" ] || { echo "berthd is not running (no $pidfile)"; exit 0; }
    pid=$(cat "$pidfile")
    # Only the berthd this pidfile names, and only if it is berthd.
    if [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = berthd ]; then
        kill -TERM "$pid"
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    echo "berthd stopped (containers keep running; the next berthd reattaches)"
    ;;
status)
    if up; then echo "berthd is running on unix://$sock"; else echo "berthd is not running"; exit 3; fi
    ;;
*) echo "usage: stack.sh start|stop|status [BIN_DIR]" >&2; exit 2 ;;
esac
