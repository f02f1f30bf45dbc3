import ArgumentParser
import Foundation

/// `berth system df`: TYPE, TOTAL, ACTIVE, SIZE, RECLAIMABLE from `GET /system/df`, computed as
/// the docker CLI computes them; `-v` lists each image, container and volume.
struct SystemDF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "df", abstract: "Show docker disk usage", usage: "berth system df [OPTIONS]", helpNames: [.long])

    @Option(name: .customLong("format"), help: "Format output using a custom template") var format: String?
    @Flag(name: [.short, .customLong("verbose")], help: "Show detailed information on space usage") var verbose = false

    static let headers = ["Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE"]

    func run() throws {
        let du = try CLI.client().json("GET", "/system/df") as? [String: Any] ?? [:]
        if verbose && format == nil {
            CommandSupport.out(try Self.verbose(du))
            return
        }
        let fmt = ListFormat(format: format, quiet: false,
                             defaultTable: "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
                             quietTemplate: "", headers: Self.headers)
        CommandSupport.out(try fmt.render(Self.summary(du)))
    }

    static func percent(_ part: Int64, _ total: Int64) -> String {
        total > 0 ? "\(humanSize(part)) (\(part * 100 / total)%)" : humanSize(part)
    }

    static func isActive(_ state: String) -> Bool {
        state.contains("running") || state.contains("paused") || state.contains("restarting")
    }

    /// The four summary rows.
    static func summary(_ du: [String: Any]) -> [[String: Any]] {
        let images = du["Images"] as? [[String: Any]] ?? []
        let containers = du["Containers"] as? [[String: Any]] ?? []
        let volumes = du["Volumes"] as? [[String: Any]] ?? []
        let cache = du["BuildCache"] as? [[String: Any]] ?? []
        let layers = CommandSupport.int(du["LayersSize"])

        var used: Int64 = 0
        var unknown = false
        for i in images where CommandSupport.int(i["Containers"]) != 0 {
            let size = CommandSupport.int(i["Size"]), shared = CommandSupport.int(i["SharedSize"])
            if size == -1 || shared == -1 { unknown = true }
            used += size - shared
        }
        let imageRow: [String: Any] = [
            "Type": "Images", "TotalCount": String(images.count),
            "Active": String(images.filter { CommandSupport.int($0["Containers"]) > 0 }.count),
            "Size": humanSize(layers), "Reclaimable": unknown ? "N/A" : percent(layers - used, layers),
        ]
        let cSize = containers.reduce(Int64(0)) { $0 + CommandSupport.int($1["SizeRw"]) }
        let cFree = containers.filter { !isActive($0["State"] as? String ?? "") }.reduce(Int64(0)) { $0 + CommandSupport.int($1["SizeRw"]) }
        let containerRow: [String: Any] = [
            "Type": "Containers", "TotalCount": String(containers.count),
            "Active": String(containers.filter { isActive($0["State"] as? String ?? "") }.count),
            "Size": humanSize(cSize), "Reclaimable": percent(cFree, cSize),
        ]
        var vSize: Int64 = 0, vFree: Int64 = 0, vActive = 0
        for v in volumes {
            let u = v["UsageData"] as? [String: Any] ?? [:]
            let size = CommandSupport.int(u["Size"]), refs = CommandSupport.int(u["RefCount"])
            if refs > 0 { vActive += 1 }
            guard size >= 0 else { continue }
            vSize += size
            if refs == 0 { vFree += size }
        }
        let volumeRow: [String: Any] = [
            "Type": "Local Volumes", "TotalCount": String(volumes.count), "Active": String(vActive),
            "Size": humanSize(vSize), "Reclaimable": percent(vFree, vSize),
        ]
        let bSize = cache.reduce(Int64(0)) { $0 + CommandSupport.int($1["Size"]) }
        let bFree = cache.filter { ($0["InUse"] as? Bool) != true && ($0["Shared"] as? Bool) != true }
            .reduce(Int64(0)) { $0 + CommandSupport.int($1["Size"]) }
        let cacheRow: [String: Any] = [
            "Type": "Build Cache", "TotalCount": String(cache.count),
            "Active": String(cache.filter { ($0["InUse"] as? Bool) == true }.count),
            "Size": humanSize(bSize), "Reclaimable": humanSize(bFree),
        ]
        return [imageRow, containerRow, volumeRow, cacheRow]
    }

    /// `system df -v`: a table per kind, as docker's.
    static func verbose(_ du: [String: Any]) throws -> String {
        var out = "Images space usage:\n\n"
        let images = du["Images"] as? [[String: Any]] ?? []
        let imageRows = images.flatMap { ImageRows.rows($0, digests: false, noTrunc: false) }
        out += try ListFormat(format: nil, quiet: false,
                              defaultTable: "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
                              quietTemplate: "", headers: ImageRows.headers).render(imageRows)
        out += "\nContainers space usage:\n\n"
        let containers = (du["Containers"] as? [[String: Any]] ?? []).map { c -> [String: Any] in
            let id = c["Id"] as? String ?? ""
            var command = c["Command"] as? String ?? ""
            command = "\"" + History.ellipsis(command, 20) + "\""
            let names = (c["Names"] as? [String] ?? []).map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 }
            let volumes = (c["Mounts"] as? [[String: Any]] ?? []).filter { $0["Type"] as? String == "volume" }.count
            let created = CommandSupport.int(c["Created"])
            return ["ID": CommandSupport.shortID(id), "Image": c["Image"] as? String ?? "", "Command": command,
                    "LocalVolumes": String(volumes), "Size": humanSize(CommandSupport.int(c["SizeRw"])),
                    "RunningFor": ago(Date(timeIntervalSince1970: TimeInterval(created))), "Status": c["Status"] as? String ?? "",
                    "Names": names.joined(separator: ",")]
        }
        out += try ListFormat(format: nil, quiet: false,
                              defaultTable: "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}",
                              quietTemplate: "", headers: ["ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND",
                                                           "LocalVolumes": "LOCAL VOLUMES", "Size": "SIZE", "RunningFor": "CREATED",
                                                           "Status": "STATUS", "Names": "NAMES"]).render(containers)
        out += "\nLocal Volumes space usage:\n\n"
        let volumes = (du["Volumes"] as? [[String: Any]] ?? []).map { v -> [String: Any] in
            let u = v["UsageData"] as? [String: Any] ?? [:]
            let size = CommandSupport.int(u["Size"])
            return ["Name": v["Name"] as? String ?? "", "Links": String(CommandSupport.int(u["RefCount"])),
                    "Size": size < 0 ? "N/A" : humanSize(size)]
        }
        out += try ListFormat(format: nil, quiet: false, defaultTable: "table {{.Name}}\t{{.Links}}\t{{.Size}}", quietTemplate: "",
                              headers: ["Name": "VOLUME NAME", "Links": "LINKS", "Size": "SIZE"]).render(volumes)
        let cacheSize = (du["BuildCache"] as? [[String: Any]] ?? []).reduce(Int64(0)) { $0 + CommandSupport.int($1["Size"]) }
        out += "\nBuild cache usage: \(humanSize(cacheSize))\n\n"
        out += try ListFormat(format: nil, quiet: false,
                              defaultTable: "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}",
                              quietTemplate: "", headers: ["ID": "CACHE ID", "CacheType": "CACHE TYPE", "Size": "SIZE",
                                                           "CreatedSince": "CREATED", "LastUsedSince": "LAST USED",
                                                           "UsageCount": "USAGE", "Shared": "SHARED"]).render([])
        return out
    }
}
