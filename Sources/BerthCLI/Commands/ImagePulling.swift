import BerthEngineClient
import Foundation

/// `POST /images/create?fromImage=…`: the pull, its JSON messages shown as docker shows them.
enum ImagePulling {
    /// `busybox` → `busybox:latest`; references with a tag or digest stay as they are.
    static func normalized(_ ref: String) -> String {
        if ref.contains("@") { return ref }
        let lastComponent = ref.split(separator: "/").last ?? ""
        return lastComponent.contains(":") ? ref : ref + ":latest"
    }

    /// Splits `repo:tag` / `repo@digest` into fromImage and tag, as the docker CLI sends them.
    static func split(_ ref: String) -> (String, String) {
        if let at = ref.firstIndex(of: "@") { return (String(ref[..<at]), String(ref[ref.index(after: at)...])) }
        let n = normalized(ref)
        let colon = n.lastIndex(of: ":")!
        return (String(n[..<colon]), String(n[n.index(after: colon)...]))
    }

    static func pull(_ client: EngineClient, reference: String, platform: String?, quiet: Bool, output: Int32,
                     allTags: Bool = false) throws {
        let (repo, tag) = split(reference)
        var q: [(String, String)] = [("fromImage", repo)]
        if !allTags { q.append(("tag", tag)) }
        if let platform { q.append(("platform", platform)) }
        let reader = try client.open("POST", "/images/create", query: q, headers: [("X-Registry-Auth", RegistryAuth.header(for: repo))])
        try JSONMessages.display(reader, output: output, quiet: quiet)
    }
}

/// Docker's JSON message stream (pull, push, load, import, build): each `{"status","id","progress"}`
/// as a line (a progress bar on a terminal), `{"error"}` thrown.
enum JSONMessages {
    static func display(_ reader: BodyReader, output: Int32, quiet: Bool) throws {
        let renderer = ProgressRenderer(fd: output, tty: isatty(output) == 1)
        while let line = try reader.nextLine() {
            guard !line.isEmpty, let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            if let err = obj["error"] as? String ?? (obj["errorDetail"] as? [String: Any])?["message"] as? String {
                renderer.finish()
                throw CLIError(code: 1, err)
            }
            if quiet { continue }
            renderer.show(obj)
        }
        renderer.finish()
    }
}
