import Foundation
import Glibc

/// A real `docker-registry` (distribution 2.8) on 127.0.0.1 with a free port and temp storage, for
/// pull and push tests. Optional authentication: htpasswd (Basic, bcrypt made by python3's `crypt`)
/// or token (a python3 token service issuing RS256 JWTs whose `x5c` header carries a self-signed
/// certificate that the registry trusts through `rootcertbundle`).
///
/// Everything it starts is stopped, and its directory removed, by `stop()` — call it in a `defer`.
/// A watchdog shell also stops them if the test process dies first.
public final class TestRegistry: @unchecked Sendable {
    public enum Auth: Sendable {
        case none
        /// Basic auth against an htpasswd file with this one user.
        case htpasswd(username: String, password: String)
        /// Bearer tokens from a token service that grants any scope to this user (and nothing to
        /// anonymous callers). `identityToken` is accepted by its OAuth2 refresh-token grant.
        case token(username: String, password: String, identityToken: String? = nil)
    }

    /// The temp directory (`/tmp/berth-test-registry-…`): storage, config, logs.
    public let dir: String
    public let port: Int
    /// `127.0.0.1:<port>`: the registry part of references.
    public let host: String
    public let auth: Auth
    /// Port of the token service in `.token` mode.
    public private(set) var tokenPort: Int?
    private var processes: [pid_t] = []
    private var stopped = false

    /// `user:password` for skopeo's `--creds`, when the registry has auth.
    public var credentialsArgument: String? {
        switch auth {
        case .none: return nil
        case .htpasswd(let u, let p), .token(let u, let p, _): return "\(u):\(p)"
        }
    }

    public static var available: Bool {
        access("/usr/bin/docker-registry", X_OK) == 0 && access("/usr/bin/skopeo", X_OK) == 0
            && access("/usr/bin/python3", X_OK) == 0
    }

    /// Starts the registry (and token service) and waits until `/v2/` answers.
    public init(auth: Auth = .none) throws {
        var template = Array("/tmp/berth-test-registry-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw HarnessError("mkdtemp failed: errno \(errno)") }
        dir = String(cString: p)
        self.auth = auth
        let chosen: Int
        do { chosen = try TestRegistry.freePort() } catch {
            try? FileManager.default.removeItem(atPath: dir)
            throw error
        }
        port = chosen
        host = "127.0.0.1:\(chosen)"
        do { try start() } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    private func start() throws {
        try Fixtures.mkdirAll(dir + "/storage")
        var authYAML = ""
        switch auth {
        case .none:
            break
        case .htpasswd(let user, let password):
            let r = try Command.run("/usr/bin/python3", ["-W", "ignore", "-c",
                "import crypt,sys; print(sys.argv[1] + ':' + crypt.crypt(sys.argv[2], crypt.mksalt(crypt.METHOD_BLOWFISH)))",
                user, password])
            guard r.status == 0, r.stdout.contains(":$2") else { throw HarnessError("making a bcrypt htpasswd failed: \(r)") }
            try Fixtures.write(dir + "/htpasswd", r.stdout)
            authYAML = """
            auth:
              htpasswd:
                realm: berth-test
                path: \(dir)/htpasswd

            """
        case .token(let user, let password, let identityToken):
            let tport = try TestRegistry.freePort()
            tokenPort = tport
            let cert = try Command.run("/usr/bin/openssl", [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/token.key", "-out", dir + "/token.crt",
                "-days", "2", "-subj", "/CN=berth-test-token-issuer",
            ])
            guard cert.status == 0 else { throw HarnessError("openssl req failed: \(cert)") }
            try Fixtures.write(dir + "/tokenserver.py", tokenServerScript)
            let log = dir + "/tokenserver.log"
            let pid = try spawn("/usr/bin/python3", [dir + "/tokenserver.py", String(tport), dir + "/token.key",
                                                     dir + "/token.crt", "berth-test-issuer", "berth-test-registry",
                                                     user, password, identityToken ?? "", dir + "/token-requests.log"], log: log)
            processes.append(pid)
            try waitForHTTP(port: tport, path: "/healthz", what: "token service", log: log)
            authYAML = """
            auth:
              token:
                realm: http://127.0.0.1:\(tport)/token
                service: berth-test-registry
                issuer: berth-test-issuer
                rootcertbundle: \(dir)/token.crt

            """
        }
        let config = """
        version: 0.1
        log:
          level: info
          accesslog:
            disabled: false
        storage:
          filesystem:
            rootdirectory: \(dir)/storage
          delete:
            enabled: true
        http:
          addr: 127.0.0.1:\(port)
          secret: berth-test-secret
        \(authYAML)
        """
        try Fixtures.write(dir + "/config.yml", config)
        let log = dir + "/registry.log"
        processes.append(try spawn("/usr/bin/docker-registry", ["serve", dir + "/config.yml"], log: log))
        try waitForHTTP(port: port, path: "/v2/", what: "docker-registry", log: log)
    }

    /// Stops what this registry started (SIGTERM, then SIGKILL after 5s) and removes its directory.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        for pid in processes.reversed() {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            var waited = 0
            while waitpid(pid, &status, WNOHANG) == 0 {
                if waited >= 500 { kill(pid, SIGKILL); waitpid(pid, &status, 0); break }
                usleep(10_000)
                waited += 1
            }
        }
        processes.removeAll()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// The registry's log so far (for failure messages).
    public var log: String { (try? Fixtures.read(dir + "/registry.log")) ?? "" }
    /// The token service's log of requests: one line per request, `GET|POST <path> <user or ->`.
    public var tokenRequests: [String] {
        ((try? Fixtures.read(dir + "/token-requests.log")) ?? "").split(separator: "\n").map(String.init)
    }

    // MARK: skopeo

    /// `skopeo copy` of `source` (e.g. `TestImage.ociReference`) to `<host>/<repository>:<tag>`.
    /// `all` copies every manifest of an index; `format: "v2s2"` converts to Docker media types.
    public func push(_ source: String, to repository: String, tag: String, all: Bool = false, format: String? = nil) throws {
        var args = ["--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false"]
        if all { args.append("--all") }
        if let format { args += ["--format", format] }
        if let c = credentialsArgument { args += ["--dest-creds", c] }
        args += [source, "docker://\(host)/\(repository):\(tag)"]
        let r = try skopeo(args)
        guard r.status == 0 else { throw HarnessError("skopeo copy \(source) to \(host)/\(repository):\(tag) failed: \(r)\nregistry log:\n\(log.suffix(2000))") }
    }

    /// `skopeo inspect` (with `raw`, the manifest bytes) of `<host>/<reference>`.
    public func inspect(_ reference: String, raw: Bool = false) throws -> String {
        var args = ["--insecure-policy", "inspect", "--tls-verify=false"]
        if raw { args.append("--raw") }
        if let c = credentialsArgument { args += ["--creds", c] }
        args.append("docker://\(host)/\(reference)")
        let r = try skopeo(args)
        guard r.status == 0 else { throw HarnessError("skopeo inspect \(host)/\(reference) failed: \(r)") }
        return r.stdout
    }

    private func skopeo(_ args: [String]) throws -> Command.Result {
        try Fixtures.mkdirAll(dir + "/home")
        return try Command.run("/usr/bin/skopeo", args, env: [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=\(dir)/home",
            "XDG_RUNTIME_DIR=\(dir)/home", "REGISTRY_AUTH_FILE=\(dir)/home/auth.json",
        ], timeout: 600)
    }

    // MARK: processes

    /// Starts a program in its own process group with output to `log`, plus a watchdog that kills it
    /// (and removes `dir`) if this test process exits without calling `stop()`.
    private func spawn(_ path: String, _ args: [String], log: String) throws -> pid_t {
        let pid = try TestRegistry.spawnProcess(path, args, log: log)
        let me = getpid()
        let watchdog = "while kill -0 \(me) 2>/dev/null && kill -0 \(pid) 2>/dev/null; do sleep 1; done; "
            + "if ! kill -0 \(me) 2>/dev/null; then kill \(pid) 2>/dev/null; sleep 1; rm -rf '\(dir)'; fi"
        processes.insert(try TestRegistry.spawnProcess("/bin/sh", ["-c", watchdog], log: "/dev/null"), at: 0)
        return pid
    }

    /// Spawns a background process in its own process group (nothing aimed at the test runner's
    /// group reaches it), with default signal handling, stdin from /dev/null and stdout+stderr
    /// appended to `log`.
    public static func spawnProcess(_ path: String, _ args: [String], log: String,
                                    env: [String] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/tmp"]) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t(); sigemptyset(&none)
        var all = sigset_t(); sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attr, 0)
        let argv = ([path] + args).map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attr, argv, envp)
        guard rc == 0 else { throw HarnessError("spawn \(path): errno \(rc)") }
        return pid
    }

    /// A TCP port nobody listens on right now.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: errno \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard bound == 0 else { throw HarnessError("bind: errno \(errno)") }
        let named = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        guard named == 0 else { throw HarnessError("getsockname: errno \(errno)") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// The status code of `GET <path>` on 127.0.0.1:`port`, or nil when nothing answers.
    public static func httpStatus(port: Int, path: String) -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { return nil }
        let req = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        guard req.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == req.count else { return nil }
        var buf = [UInt8](repeating: 0, count: 64)
        let n = recv(fd, &buf, buf.count, 0)
        guard n > 12 else { return nil }
        let line = String(decoding: buf[0..<n], as: UTF8.self)
        let parts = line.split(separator: " ")
        return parts.count > 1 ? Int(parts[1]) : nil
    }

    private func waitForHTTP(port: Int, path: String, what: String, log: String) throws {
        for _ in 0..<300 {
            if TestRegistry.httpStatus(port: port, path: path) != nil { return }
            for pid in processes {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid {
                    processes.removeAll { $0 == pid }
                    throw HarnessError("\(what) exited early: \((try? Fixtures.read(log)) ?? "")")
                }
            }
            usleep(50_000)
        }
        throw HarnessError("\(what) did not answer on 127.0.0.1:\(port) within 15s: \((try? Fixtures.read(log)) ?? "")")
    }
}

/// A token service for distribution's token auth: checks Basic credentials, grants the requested
/// scopes to the configured user (none to anonymous callers), signs RS256 with openssl, and puts the
/// certificate in the JWT's `x5c` header (distribution 2.8 verifies it against `rootcertbundle`).
private let tokenServerScript = #"""
import sys, json, base64, time, subprocess, uuid, urllib.parse, http.server

port, keyfile, certfile, issuer, service, user, password, identity, reqlog = sys.argv[1:10]
pem = open(certfile).read()
der_b64 = "".join(l for l in pem.splitlines() if l and not l.startswith("-----"))

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def sign(subject, scopes):
    access = []
    if subject:
        for s in scopes:
            for one in s.split(" "):
                parts = one.split(":")
                if len(parts) >= 3:
                    access.append({"type": parts[0], "name": ":".join(parts[1:-1]), "actions": parts[-1].split(",")})
    now = int(time.time())
    claims = {"iss": issuer, "sub": subject, "aud": service, "exp": now + 300, "nbf": now - 30, "iat": now,
              "jti": uuid.uuid4().hex, "access": access}
    header = {"typ": "JWT", "alg": "RS256", "x5c": [der_b64]}
    signing_input = b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(claims).encode())
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", keyfile], input=signing_input.encode(),
                         capture_output=True, check=True).stdout
    return signing_input + "." + b64u(sig)

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def record(self, who):
        with open(reqlog, "a") as f:
            f.write("%s %s %s\n" % (self.command, self.path, who))

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        if u.path == "/healthz":
            return self.reply(200, {})
        if u.path != "/token":
            return self.reply(404, {"details": "not found"})
        q = urllib.parse.parse_qs(u.query)
        subject = ""
        auth = self.headers.get("Authorization")
        if auth:
            if not auth.startswith("Basic "):
                self.record("bad-scheme")
                return self.reply(401, {"details": "unsupported authorization scheme"})
            name, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            if name != user or secret != password:
                self.record("denied:" + name)
                return self.reply(401, {"details": "incorrect username or password"})
            subject = name
        self.record(subject or "-")
        token = sign(subject, q.get("scope", []))
        self.reply(200, {"token": token, "access_token": token, "expires_in": 300})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        if form.get("grant_type") != ["refresh_token"] or not identity or form.get("refresh_token") != [identity]:
            self.record("denied-refresh")
            return self.reply(401, {"details": "invalid refresh token"})
        self.record("refresh:" + user)
        token = sign(user, form.get("scope", []))
        self.reply(200, {"access_token": token, "expires_in": 300, "refresh_token": identity})

    def log_message(self, fmt, *args):
        sys.stderr.write(fmt % args + "\n")

http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
"""#

/// A program run in the background for a test (a fake server), stopped by `stop()` (SIGTERM, then
/// SIGKILL after 5s). Only ever signals the process it started.
public final class BackgroundProcess: @unchecked Sendable {
    public let pid: pid_t
    public let log: String
    private var stopped = false

    public init(_ path: String, _ args: [String], log: String) throws {
        self.log = log
        pid = try TestRegistry.spawnProcess(path, args, log: log)
    }

    deinit { stop() }

    /// Waits until 127.0.0.1:`port` answers HTTP (any status) or the process exits.
    public func waitForHTTP(port: Int, path: String = "/", seconds: Int = 15) throws {
        for _ in 0..<(seconds * 20) {
            if TestRegistry.httpStatus(port: port, path: path) != nil { return }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                stopped = true
                throw HarnessError("\(log): process exited early: \((try? Fixtures.read(log)) ?? "")")
            }
            usleep(50_000)
        }
        throw HarnessError("nothing answered on 127.0.0.1:\(port) within \(seconds)s: \((try? Fixtures.read(log)) ?? "")")
    }

    /// kill -9 and reap, as a crash.
    public func crash() {
        guard !stopped else { return }
        stopped = true
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    public func stop() {
        guard !stopped else { return }
        stopped = true
        kill(pid, SIGTERM)
        var status: Int32 = 0
        for _ in 0..<500 {
            if waitpid(pid, &status, WNOHANG) != 0 { return }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
    }
}
