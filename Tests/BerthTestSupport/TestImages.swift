import Foundation
import BerthImage

/// One entry of a test layer. Paths are relative to the image root (`bin/sh`, not `/bin/sh`).
public enum TestLayerEntry: Sendable {
    case file(String, contents: [UInt8], mode: Int = 0o644)
    /// A copy of a file of this machine.
    case hostFile(String, source: String, mode: Int = 0o755)
    /// A directory tree of this machine, copied under `path` (sockets and devices skipped).
    case hostTree(String, source: String)
    case directory(String, mode: Int = 0o755)
    case symlink(String, target: String)
    /// `size` pseudo-random bytes from `seed` (incompressible: for size and benchmark tests).
    case random(String, size: Int, seed: Int)
    /// Deletes `path` from the layers below: a `.wh.<name>` entry.
    case whiteout(String)
    /// Hides everything the layers below have in directory `path`: `path/.wh..wh..opq`.
    case opaque(String)

    /// A text file.
    public static func text(_ path: String, _ s: String, mode: Int = 0o644) -> TestLayerEntry {
        .file(path, contents: Array(s.utf8), mode: mode)
    }

    var json: [String: Any] {
        switch self {
        case .file(let p, let c, let m): return ["type": "file", "path": p, "content": Data(c).base64EncodedString(), "mode": m]
        case .hostFile(let p, let s, let m): return ["type": "hostfile", "path": p, "source": s, "mode": m]
        case .hostTree(let p, let s): return ["type": "tree", "path": p, "source": s]
        case .directory(let p, let m): return ["type": "dir", "path": p, "mode": m]
        case .symlink(let p, let t): return ["type": "symlink", "path": p, "target": t]
        case .random(let p, let n, let seed): return ["type": "random", "path": p, "size": n, "seed": seed]
        case .whiteout(let p):
            let parts = p.split(separator: "/")
            let dir = parts.dropLast().joined(separator: "/")
            let name = ".wh." + (parts.last.map(String.init) ?? "")
            return ["type": "file", "path": dir.isEmpty ? name : dir + "/" + name, "content": "", "mode": 0o644]
        case .opaque(let d):
            let dir = d.hasSuffix("/") ? String(d.dropLast()) : d
            return ["type": "file", "path": dir + "/.wh..wh..opq", "content": "", "mode": 0o644]
        }
    }
}

/// A layer written into a layout: its descriptor (compressed) and diff ID (uncompressed).
public struct TestLayer: Sendable {
    public var descriptor: Descriptor
    public var diffID: Digest
}

/// An image written into an OCI layout.
public struct TestImage: Sendable {
    /// The layout directory (`oci:<layoutPath>:<tag>` for skopeo).
    public var layoutPath: String
    public var tag: String?
    public var manifestDescriptor: Descriptor
    public var manifest: Manifest
    public var manifestBytes: [UInt8]
    public var configDescriptor: Descriptor
    public var config: ImageConfig
    public var layers: [TestLayer]

    /// `oci:<layout>:<tag>`, as skopeo and umoci name it.
    public var ociReference: String { "oci:\(layoutPath):\(tag ?? "latest")" }
    /// Where a blob of this image is on disk.
    public func blobPath(_ digest: Digest) -> String { OCILayoutBuilder.blobPath(layoutPath, digest) }
}

/// Writes an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`) with layers built by
/// python3's tarfile (deterministic: owner root, fixed mtime), so the same input gives the same digests.
public final class OCILayoutBuilder: @unchecked Sendable {
    public let path: String
    private var tagged: [Descriptor] = []

    /// Creates (or reuses) a layout at `path`.
    public init(path: String) throws {
        self.path = path
        try Fixtures.mkdirAll(path + "/blobs/sha256")
        try Fixtures.write(path + "/oci-layout", #"{"imageLayoutVersion":"1.0.0"}"#)
        try writeIndex()
    }

    public static func blobPath(_ layout: String, _ digest: Digest) -> String {
        "\(layout)/blobs/\(digest.algorithm)/\(digest.encoded)"
    }

    /// Stores bytes as a blob and returns its digest.
    @discardableResult
    public func addBlob(_ bytes: [UInt8]) throws -> Digest {
        let d = Digest.sha256(of: bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: OCILayoutBuilder.blobPath(path, d)))
        return d
    }

    /// Builds a tar layer (gzip-compressed unless `gzipLevel` is nil) from `entries`, in order.
    public func addLayer(_ entries: [TestLayerEntry], gzipLevel: Int? = 6) throws -> TestLayer {
        let scratch = path + "/.tmp-\(UInt32.random(in: 0...UInt32.max))"
        try Fixtures.mkdirAll(scratch)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let spec: [String: Any] = [
            "output": scratch + "/layer", "gzip": gzipLevel.map { $0 as Any } ?? NSNull(),
            "entries": entries.map(\.json),
        ]
        try JSONSerialization.data(withJSONObject: spec).write(to: URL(fileURLWithPath: scratch + "/spec.json"))
        try Fixtures.write(scratch + "/mklayer.py", layerScript)
        let r = try Command.run("/usr/bin/python3", [scratch + "/mklayer.py", scratch + "/spec.json"], timeout: 900)
        guard r.status == 0 else { throw HarnessError("building a test layer failed: \(r)") }
        struct Out: Decodable { var digest: String; var diffID: String; var size: Int64 }
        let out = try JSONDecoder().decode(Out.self, from: Data(r.stdout.utf8))
        let digest = try Digest(parsing: out.digest)
        let diffID = try Digest(parsing: out.diffID)
        let dest = OCILayoutBuilder.blobPath(path, digest)
        if rename(scratch + "/layer", dest) != 0 { throw HarnessError("rename layer to \(dest): errno \(errno)") }
        let mediaType = gzipLevel == nil ? MediaType.ociLayer : MediaType.ociLayerGzip
        return TestLayer(descriptor: Descriptor(mediaType: mediaType, digest: digest, size: out.size), diffID: diffID)
    }

    /// Writes an image config and manifest over `layers`; tags the manifest when `tag` is given.
    public func addImage(layers: [TestLayer], config: ContainerConfig, platform: Platform = .host,
                         tag: String? = nil, created: String = "2024-01-01T00:00:00Z") throws -> TestImage {
        var image = ImageConfig(architecture: platform.architecture, os: platform.os, config: config,
                                rootfs: RootFS(diffIDs: layers.map(\.diffID)),
                                history: layers.map { _ in History(created: created, createdBy: "berth test fixture") },
                                created: created)
        image.variant = platform.variant
        let configBytes = try CanonicalJSON.encode(image)
        let configDigest = try addBlob(configBytes)
        let configDescriptor = Descriptor(mediaType: MediaType.ociConfig, digest: configDigest, size: Int64(configBytes.count))
        let manifest = Manifest(config: configDescriptor, layers: layers.map(\.descriptor))
        let manifestBytes = try CanonicalJSON.encode(manifest)
        let manifestDigest = try addBlob(manifestBytes)
        var descriptor = Descriptor(mediaType: MediaType.ociManifest, digest: manifestDigest, size: Int64(manifestBytes.count))
        descriptor.platform = platform
        if let tag { try self.tag(descriptor, as: tag) }
        return TestImage(layoutPath: path, tag: tag, manifestDescriptor: descriptor, manifest: manifest,
                         manifestBytes: manifestBytes, configDescriptor: configDescriptor, config: image, layers: layers)
    }

    /// Writes an OCI index over `manifests` (their descriptors should carry `platform`).
    public func addIndex(_ manifests: [Descriptor], tag: String? = nil) throws -> (descriptor: Descriptor, bytes: [UInt8]) {
        let bytes = try CanonicalJSON.encode(Index(manifests: manifests))
        let d = try addBlob(bytes)
        let descriptor = Descriptor(mediaType: MediaType.ociIndex, digest: d, size: Int64(bytes.count))
        if let tag { try self.tag(descriptor, as: tag) }
        return (descriptor, bytes)
    }

    /// Names `descriptor` `tag` in `index.json` (`org.opencontainers.image.ref.name`).
    public func tag(_ descriptor: Descriptor, as tag: String) throws {
        var d = descriptor
        d.platform = nil
        d.annotations = ["org.opencontainers.image.ref.name": tag]
        tagged.removeAll { $0.annotations?["org.opencontainers.image.ref.name"] == tag }
        tagged.append(d)
        try writeIndex()
    }

    private func writeIndex() throws {
        try Data(try CanonicalJSON.encode(Index(manifests: tagged))).write(to: URL(fileURLWithPath: path + "/index.json"))
    }
}

/// Ready-made images for registry, pull and run tests. Each writes into the layout directory given.
public enum TestImages {
    /// A busybox root: /bin/busybox from busybox-static, a symlink per applet (sh, ls, cat, echo,
    /// true, false, sleep, wget, id, env, …), /etc/passwd, /etc/group, /tmp (1777), /root, /dev,
    /// /proc, /sys, /var/run.
    public static func busyboxEntries() throws -> [TestLayerEntry] {
        var entries: [TestLayerEntry] = ["bin", "dev", "etc", "proc", "sys", "root", "var", "var/run"].map { .directory($0) }
        entries.append(.directory("tmp", mode: 0o1777))
        entries.append(.hostFile("bin/busybox", source: "/bin/busybox", mode: 0o755))
        let list = try Command.run("/bin/busybox", ["--list"])
        guard list.status == 0 else { throw HarnessError("busybox --list: \(list)") }
        for applet in list.stdout.split(separator: "\n").map(String.init).sorted() where applet != "busybox" && !applet.isEmpty {
            entries.append(.symlink("bin/\(applet)", target: "busybox"))
        }
        entries.append(.text("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"))
        entries.append(.text("etc/group", "root:x:0:\nnogroup:x:65534:\n"))
        return entries
    }

    /// The config of the busybox images: `Cmd ["sh"]`, `Env PATH=…`.
    public static var busyboxConfig: ContainerConfig {
        var c = ContainerConfig()
        c.cmd = ["sh"]
        c.env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        return c
    }

    /// (a) One busybox layer.
    public static func busybox(in layout: String, tag: String = "latest", platform: Platform = .host) throws -> TestImage {
        let b = try OCILayoutBuilder(path: layout)
        let layer = try b.addLayer(try busyboxEntries())
        return try b.addImage(layers: [layer], config: busyboxConfig, platform: platform, tag: tag)
    }

    /// (b) Three layers: busybox; then /data/a, /data/b and /opq/{x,y}; then a whiteout of /data/a,
    /// /opq made opaque, and a new /opq/z. The final tree has /data/b and /opq/z only.
    public static func multiLayer(in layout: String, tag: String = "multi", platform: Platform = .host) throws -> TestImage {
        let b = try OCILayoutBuilder(path: layout)
        let base = try b.addLayer(try busyboxEntries())
        let second = try b.addLayer([
            .directory("data"), .text("data/a", "a from layer 2\n"), .text("data/b", "b from layer 2\n"),
            .directory("opq"), .text("opq/x", "x from layer 2\n"), .text("opq/y", "y from layer 2\n"),
        ])
        let third = try b.addLayer([
            .directory("data"), .whiteout("data/a"),
            .directory("opq"), .opaque("opq"), .text("opq/z", "z from layer 3\n"),
        ])
        var config = busyboxConfig
        config.labels = ["org.berth.test": "multi-layer"]
        return try b.addImage(layers: [base, second, third], config: config, platform: platform, tag: tag)
    }

    /// (c) An OCI index with linux/amd64 and linux/arm64 entries that share the busybox layer but have
    /// distinct configs (the arm64 one says `architecture: arm64`, so its manifest digest differs).
    public static func multiPlatform(in layout: String, tag: String = "multiarch") throws
        -> (index: Descriptor, indexBytes: [UInt8], amd64: TestImage, arm64: TestImage) {
        let b = try OCILayoutBuilder(path: layout)
        let layer = try b.addLayer(try busyboxEntries())
        let amd64 = try b.addImage(layers: [layer], config: busyboxConfig, platform: Platform(architecture: "amd64"))
        let arm64 = try b.addImage(layers: [layer], config: busyboxConfig, platform: Platform(architecture: "arm64", variant: "v8"))
        let (index, bytes) = try b.addIndex([amd64.manifestDescriptor, arm64.manifestDescriptor], tag: tag)
        return (index, bytes, amd64, arm64)
    }

    /// (d) Any image: one layer per entry list, on a busybox base when `busyboxBase`.
    public static func custom(in layout: String, tag: String, layers: [[TestLayerEntry]], busyboxBase: Bool = false,
                              config: ContainerConfig? = nil, platform: Platform = .host, gzipLevel: Int? = 6) throws -> TestImage {
        let b = try OCILayoutBuilder(path: layout)
        var built: [TestLayer] = []
        if busyboxBase { built.append(try b.addLayer(try busyboxEntries())) }
        for entries in layers { built.append(try b.addLayer(entries, gzipLevel: gzipLevel)) }
        return try b.addImage(layers: built, config: config ?? busyboxConfig, platform: platform, tag: tag)
    }

    /// A big image for benchmarks: busybox base plus three layers of pseudo-random data of
    /// `totalBytes / 3` each (incompressible, so the compressed size is about `totalBytes`).
    public static func large(in layout: String, tag: String = "large", totalBytes: Int = 200 << 20) throws -> TestImage {
        let each = max(1, totalBytes / 3)
        let layers: [[TestLayerEntry]] = (0..<3).map { i in
            [.directory("data"), .random("data/blob\(i)", size: each, seed: i + 1)]
        }
        return try custom(in: layout, tag: tag, layers: layers, busyboxBase: true, gzipLevel: 1)
    }
}

/// Reads a JSON spec and writes a tar (optionally gzip) layer; prints digest, diffID and size.
private let layerScript = #"""
import sys, json, tarfile, gzip, hashlib, io, os, random, base64, stat

MTIME = 1704067200

class Sink:
    """Counts and hashes what is written to the file (the compressed blob)."""
    def __init__(self, f):
        self.f, self.h, self.n = f, hashlib.sha256(), 0
    def write(self, b):
        self.f.write(b); self.h.update(b); self.n += len(b); return len(b)
    def flush(self):
        self.f.flush()

class Tee:
    """Hashes the uncompressed tar stream (the diff ID) on its way to the compressor."""
    def __init__(self, out):
        self.out, self.h = out, hashlib.sha256()
    def write(self, b):
        self.h.update(b); self.out.write(b); return len(b)
    def flush(self):
        pass

class RandomReader:
    def __init__(self, size, seed):
        self.left, self.rng = size, random.Random(seed)
    def read(self, n=-1):
        if n < 0 or n > self.left: n = self.left
        n = min(n, 1 << 20)
        self.left -= n
        return self.rng.randbytes(n)

def info(path, kind, mode):
    ti = tarfile.TarInfo(path)
    ti.type, ti.mode, ti.uid, ti.gid, ti.uname, ti.gname, ti.mtime = kind, mode, 0, 0, "root", "root", MTIME
    return ti

spec = json.load(open(sys.argv[1]))
raw = open(spec["output"], "wb")
sink = Sink(raw)
gz = gzip.GzipFile(fileobj=sink, mode="wb", mtime=0, compresslevel=spec["gzip"]) if spec.get("gzip") is not None else None
tee = Tee(gz if gz else sink)
tar = tarfile.open(fileobj=tee, mode="w|", format=tarfile.PAX_FORMAT)
for e in spec["entries"]:
    p, t = e["path"].lstrip("/"), e["type"]
    if t == "dir":
        tar.addfile(info(p, tarfile.DIRTYPE, e["mode"]))
    elif t == "symlink":
        ti = info(p, tarfile.SYMTYPE, 0o777); ti.linkname = e["target"]; tar.addfile(ti)
    elif t == "file":
        data = base64.b64decode(e["content"])
        ti = info(p, tarfile.REGTYPE, e["mode"]); ti.size = len(data); tar.addfile(ti, io.BytesIO(data))
    elif t == "hostfile":
        ti = info(p, tarfile.REGTYPE, e["mode"]); ti.size = os.path.getsize(e["source"])
        with open(e["source"], "rb") as f: tar.addfile(ti, f)
    elif t == "random":
        ti = info(p, tarfile.REGTYPE, 0o644); ti.size = e["size"]; tar.addfile(ti, RandomReader(e["size"], e["seed"]))
    elif t == "tree":
        src = e["source"].rstrip("/")
        for root, dirs, files in os.walk(src):
            dirs.sort(); files.sort()
            rel = os.path.relpath(root, src)
            base = p if rel == "." else p + "/" + rel
            st = os.lstat(root)
            tar.addfile(info(base, tarfile.DIRTYPE, stat.S_IMODE(st.st_mode)))
            for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
                full = os.path.join(root, name); st = os.lstat(full); arc = base + "/" + name
                if stat.S_ISLNK(st.st_mode):
                    ti = info(arc, tarfile.SYMTYPE, 0o777); ti.linkname = os.readlink(full); tar.addfile(ti)
                elif stat.S_ISREG(st.st_mode):
                    try:
                        with open(full, "rb") as f:
                            ti = info(arc, tarfile.REGTYPE, stat.S_IMODE(st.st_mode)); ti.size = st.st_size; tar.addfile(ti, f)
                    except (PermissionError, OSError):
                        pass
    else:
        raise SystemExit("unknown entry type " + t)
tar.close()
if gz: gz.close()
raw.close()
print(json.dumps({"digest": "sha256:" + sink.h.hexdigest(), "diffID": "sha256:" + tee.h.hexdigest(), "size": sink.n}))
"""#
