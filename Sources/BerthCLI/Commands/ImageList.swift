import ArgumentParser
import Foundation

/// The flags of `berth images` / `berth image ls`.
struct ImageListOptions: ParsableArguments {
    @Flag(name: [.short, .customLong("all")], help: "Show all images (default hides intermediate images)") var all = false
    @Flag(name: .customLong("digests"), help: "Show digests") var digests = false
    @Option(name: [.short, .customLong("filter")], help: "Filter output based on conditions provided") var filter: [String] = []
    @Option(name: .customLong("format"), help: "Format output using a custom template") var format: String?
    @Flag(name: .customLong("no-trunc"), help: "Don't truncate output") var noTrunc = false
    @Flag(name: [.short, .customLong("quiet")], help: "Only show image IDs") var quiet = false
    @Flag(name: .customLong("tree"), help: "List multi-platform images as a tree (EXPERIMENTAL)") var tree = false
    @Argument(help: "Repository and tag to list") var reference: String?

    func run() throws {
        var flags = filter
        if let reference { flags.append("reference=\(reference)") }
        var q = try CommandSupport.filterQuery(flags)
        if all { q.append(("all", "1")) }
        let list = try CLI.client().json("GET", "/images/json", query: q) as? [[String: Any]] ?? []
        let rows = list.flatMap { ImageRows.rows($0, digests: digests, noTrunc: noTrunc) }
        var table = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
        if digests { table = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}" }
        let fmt = ListFormat(format: format, quiet: quiet, defaultTable: table, quietTemplate: "{{.ID}}", headers: ImageRows.headers)
        // -q lists each image once, however many tags it has.
        var seen = Set<String>()
        let shown = quiet ? rows.filter { seen.insert($0["ID"] as? String ?? "").inserted } : rows
        CommandSupport.out(try fmt.render(shown))
    }
}

struct Images: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images", abstract: "List images", usage: "berth images [OPTIONS] [REPOSITORY[:TAG]]", helpNames: [.long])
    @OptionGroup var options: ImageListOptions
    func run() throws { try options.run() }
}

struct ImageList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List images", usage: "berth image ls [OPTIONS] [REPOSITORY[:TAG]]",
        helpNames: [.long], aliases: ["list"])
    @OptionGroup var options: ImageListOptions
    func run() throws { try options.run() }
}

/// An image summary as docker's image table rows: one per repository and tag (per digest too with
/// `--digests`), `<none>` for dangling images.
enum ImageRows {
    static let headers = [
        "ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST", "CreatedSince": "CREATED",
        "CreatedAt": "CREATED AT", "Size": "SIZE", "Containers": "CONTAINERS", "SharedSize": "SHARED SIZE",
        "UniqueSize": "UNIQUE SIZE", "VirtualSize": "VIRTUAL SIZE",
    ]

    /// `name:tag` → (familiar name, tag); `name@digest` → (familiar name, digest).
    static func split(_ ref: String, at sep: Character) -> (String, String)? {
        guard let i = sep == "@" ? ref.firstIndex(of: "@") : ref.lastIndex(of: ":"),
              sep == "@" || !ref[ref.index(after: i)...].contains("/") else { return nil }
        return (ImageReference.familiar(String(ref[..<i])), String(ref[ref.index(after: i)...]))
    }

    static func rows(_ img: [String: Any], digests showDigests: Bool, noTrunc: Bool) -> [[String: Any]] {
        let tags = (img["RepoTags"] as? [String] ?? []).filter { $0 != "<none>:<none>" }
        let repoDigests = (img["RepoDigests"] as? [String] ?? []).filter { $0 != "<none>@<none>" }
        var base = fields(img, noTrunc: noTrunc)
        if tags.isEmpty && repoDigests.isEmpty {
            base["Repository"] = "<none>"; base["Tag"] = "<none>"; base["Digest"] = "<none>"
            return [base]
        }
        var byRepoTags: [String: [String]] = [:], byRepoDigests: [String: [String]] = [:]
        var order: [String] = []
        for t in tags { if let (r, tag) = split(t, at: ":") { if byRepoTags[r] == nil { order.append(r) }; byRepoTags[r, default: []].append(tag) } }
        for d in repoDigests { if let (r, dg) = split(d, at: "@") { byRepoDigests[r, default: []].append(dg) } }
        var out: [[String: Any]] = []
        func row(_ repo: String, _ tag: String, _ digest: String) {
            var r = base
            r["Repository"] = repo; r["Tag"] = tag; r["Digest"] = digest
            out.append(r)
        }
        for repo in order {
            let ds = showDigests ? (byRepoDigests[repo] ?? []) : []
            byRepoDigests[repo] = nil
            for tag in byRepoTags[repo] ?? [] {
                if ds.isEmpty { row(repo, tag, "<none>") } else { for d in ds { row(repo, tag, d) } }
            }
        }
        for repo in byRepoDigests.keys.sorted() {
            if showDigests { for d in byRepoDigests[repo] ?? [] { row(repo, "<none>", d) } } else { row(repo, "<none>", "<none>") }
        }
        return out
    }

    static func fields(_ img: [String: Any], noTrunc: Bool) -> [String: Any] {
        let id = img["Id"] as? String ?? ""
        let created = CommandSupport.int(img["Created"])
        let size = CommandSupport.int(img["Size"])
        let containers = CommandSupport.int(img["Containers"])
        let shared = CommandSupport.int(img["SharedSize"])
        return [
            "ID": noTrunc ? id : CommandSupport.shortID(id),
            "CreatedSince": ago(Date(timeIntervalSince1970: TimeInterval(created))),
            "CreatedAt": CommandSupport.goTime(created),
            "Size": humanSize(size), "VirtualSize": humanSize(size),
            "Containers": containers < 0 ? "N/A" : String(containers),
            "SharedSize": shared < 0 ? "N/A" : humanSize(shared),
            "UniqueSize": shared < 0 ? "N/A" : humanSize(size - shared),
        ]
    }
}
