#!/usr/bin/env python3
# A minimal berth-lifecycled wire client for benchmarks (scripts/bench-containers.sh,
# scripts/bench-network.sh): one process and one unix-socket connection per invocation, JSON-RPC 2.0
# with NDJSON framing (Specs/lifecycle-protocol.md), python3 standard library only. Progress
# notifications (no "id") are skipped. Run it as `python3 -I -S` to keep the interpreter's own
# start-up small.
#
# usage: bench-lifecycle-client.py SOCKET ping
#            system.ping only: the cost of this client itself (interpreter, connect, one round trip)
#        bench-lifecycle-client.py SOCKET cycle [IMAGE [CMD...]]
#            container.create → start → wait → remove (force) of IMAGE (default busybox) running
#            CMD (default `true`), one request after the other; fails unless StatusCode is 0
#        bench-lifecycle-client.py SOCKET cycle-json BODY
#            the same cycle with BODY as the create body: Docker's container create JSON
#            (`{"Image":"busybox","Cmd":["true"],"HostConfig":{"NetworkMode":"bridge"}}`), or the
#            whole container.create params if it has a "config" key; fails unless StatusCode is 0
#        bench-lifecycle-client.py SOCKET steps N [BODY]
#            N cycles of busybox `true` (or of BODY, as with cycle-json) on one connection; prints
#            each request's median and p99 time; with BERTH_BENCH_STEPS_JSON=FILE also writes every
#            request's times (seconds) there as {"create": [...], "start": [...], ...}
#        bench-lifecycle-client.py SOCKET spawn N [WINDOW [IMAGE [CMD...]]]
#            create + start N containers (default CMD `sleep 600`), WINDOW containers in flight at
#            once (default 8) on the one connection; prints the IDs and the time taken (stderr)
#        bench-lifecycle-client.py SOCKET remove-all [WINDOW]
#            container.list {"all":true}, then container.remove {"force":true} of every container
# Errors go to stderr and, if BERTH_BENCH_CLIENT_LOG names a file, are appended to it too
# (hyperfine discards a failed run's stderr).
import json
import os
import socket
import sys
import time


class WireError(Exception):
    pass


class Client:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.reader = self.sock.makefile("rb")
        self.next_id = 0

    def send(self, method, params):
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        self.sock.sendall(json.dumps(msg, separators=(",", ":")).encode() + b"\n")
        return self.next_id

    def receive(self):
        """The next response (a message with an id); notifications are skipped."""
        while True:
            line = self.reader.readline()
            if not line:
                raise WireError("berth-lifecycled closed the connection")
            msg = json.loads(line)
            if msg.get("id") is not None:
                return msg

    def call(self, method, params):
        rid = self.send(method, params)
        msg = self.receive()
        if msg["id"] != rid:
            raise WireError("response to request %s while waiting for %s" % (msg["id"], rid))
        return result(method, msg)


def result(method, msg):
    if "error" in msg:
        e = msg["error"]
        raise WireError("%s: %s (code %s)" % (method, e.get("message"), e.get("code")))
    return msg.get("result")


def config(image, cmd):
    return {"config": {"Image": image, "Cmd": cmd, "HostConfig": {"NetworkMode": "none"}}}


def create_params(body):
    """cycle-json's BODY: a Docker create body, or container.create's params ({"config": …})."""
    p = json.loads(body)
    if not isinstance(p, dict):
        raise ValueError("the create body must be a JSON object: %s" % body)
    return p if "config" in p else {"config": p}


def cycle(c, image, cmd, times=None, params=None):
    def timed(step, method, params):
        t0 = time.monotonic()
        r = c.call(method, params)
        if times is not None:
            times.setdefault(step, []).append(time.monotonic() - t0)
        return r
    cid = timed("create", "container.create", params or config(image, cmd))["Id"]
    timed("start", "container.start", {"id": cid})
    status = timed("wait", "container.wait", {"id": cid})
    timed("remove", "container.remove", {"id": cid, "force": True})
    if status.get("StatusCode") != 0:
        raise WireError("container exited with %s" % json.dumps(status))


def percentile(xs, q):  # linear interpolation between closest ranks (numpy's default)
    xs = sorted(xs)
    k = (len(xs) - 1) * q
    f = int(k)
    c = min(f + 1, len(xs) - 1)
    return xs[f] + (xs[c] - xs[f]) * (k - f)


def steps(c, n, params=None):
    times = {}
    for _ in range(n):
        cycle(c, "busybox", ["true"], times, params)
    if os.environ.get("BERTH_BENCH_STEPS_JSON"):
        with open(os.environ["BERTH_BENCH_STEPS_JSON"], "w") as f:
            json.dump(times, f)
    for step in ("create", "start", "wait", "remove"):
        t = times[step]
        print("  %-16s median %6.1f ms   p99 %6.1f ms" % ("container." + step, percentile(t, 0.5) * 1e3, percentile(t, 0.99) * 1e3))


def spawn(c, n, window, image, cmd):
    """create then start n containers, `window` of them in flight at once."""
    t0 = time.monotonic()
    pending = {}  # request id -> (stage, container id)
    created = 0
    ids = []

    def create():
        nonlocal created
        created += 1
        pending[c.send("container.create", config(image, cmd))] = ("create", None)

    for _ in range(min(window, n)):
        create()
    while pending:
        msg = c.receive()
        stage, cid = pending.pop(msg["id"])
        r = result("container." + stage, msg)
        if stage == "create":
            cid = r["Id"]
            ids.append(cid)
            pending[c.send("container.start", {"id": cid})] = ("start", cid)
        elif created < n:
            create()
    elapsed = time.monotonic() - t0
    print("\n".join(ids))
    sys.stderr.write("spawned %d containers in %.2f s (%d in flight)\n" % (n, elapsed, window))


def remove_all(c, window):
    ids = [x["Id"] for x in c.call("container.list", {"all": True})]
    pending = {}
    failed = []
    queue = list(ids)
    while queue or pending:
        while queue and len(pending) < window:
            cid = queue.pop()
            pending[c.send("container.remove", {"id": cid, "force": True})] = cid
        msg = c.receive()
        cid = pending.pop(msg["id"])
        if "error" in msg:
            failed.append("%s: %s" % (cid[:12], msg["error"].get("message")))
    for f in failed:
        sys.stderr.write("remove %s\n" % f)
    sys.stderr.write("removed %d of %d containers\n" % (len(ids) - len(failed), len(ids)))
    return 1 if failed else 0


def main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: bench-lifecycle-client.py SOCKET ping|cycle|cycle-json|steps|spawn|remove-all ...\n")
        return 2
    c = Client(argv[1])
    op, rest = argv[2], argv[3:]
    if op == "ping":
        c.call("system.ping", {})
    elif op == "cycle":
        cycle(c, rest[0] if rest else "busybox", rest[1:] or ["true"])
    elif op == "cycle-json":
        if len(rest) != 1:
            sys.stderr.write("usage: bench-lifecycle-client.py SOCKET cycle-json BODY\n")
            return 2
        cycle(c, None, None, params=create_params(rest[0]))
    elif op == "steps":
        steps(c, int(rest[0]) if rest else 30, create_params(rest[1]) if len(rest) > 1 else None)
    elif op == "spawn":
        n = int(rest[0])
        window = int(rest[1]) if len(rest) > 1 else 8
        spawn(c, n, window, rest[2] if len(rest) > 2 else "busybox", rest[3:] or ["sleep", "600"])
    elif op == "remove-all":
        return remove_all(c, int(rest[0]) if rest else 8)
    else:
        sys.stderr.write("bench-lifecycle-client: unknown operation %s\n" % op)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (WireError, OSError, ValueError, KeyError) as e:
        message = "bench-lifecycle-client %s: %s\n" % (" ".join(sys.argv[2:]), e)
        sys.stderr.write(message)
        if os.environ.get("BERTH_BENCH_CLIENT_LOG"):
            with open(os.environ["BERTH_BENCH_CLIENT_LOG"], "a") as f:
                f.write(time.strftime("%H:%M:%S ") + message)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
