import Glibc

// `exec --cgroup [controller[,controller…]:]path`: runc's SubCgroupPaths. A process can join
// an existing cgroup below the container's, per hierarchy on v1. Error texts match runc's
// (libcontainer newSetnsProcess and WriteCgroupProc), which its integration tests grep for.

extension CgroupManager {
    /// Moves `pid` into `<container cgroup>/<subCgroup>` for the hierarchies of `controllers`
    /// (all of them when nil or empty) and into the container cgroup itself for the other
    /// hierarchies. A nil or empty `subCgroup` (or `/`) means the container cgroup itself.
    ///
    /// Several `--cgroup` flags with different paths need `add(pid:subCgroups:)`: calling this
    /// twice would move the earlier controllers back to the container cgroup.
    public func add(pid: Int32, subCgroup: String?, controllers: [String]?) throws(CgroupError) {
        let sub = subCgroup ?? ""
        var subCgroups: [String: String] = [:]
        if let controllers, !controllers.isEmpty {
            for controller in controllers { subCgroups[controller] = sub }
        } else {
            subCgroups[""] = sub
        }
        try add(pid: pid, subCgroups: subCgroups)
    }

    /// Moves `pid` like runc's `Process.SubCgroupPaths`: key `""` puts it in that sub cgroup in
    /// every hierarchy (the only form on v2); other keys are controller names (`memory`,
    /// `cpu`, …) whose hierarchy gets the sub cgroup; hierarchies not named get the container
    /// cgroup itself. An empty map is the container cgroup everywhere.
    ///
    /// Everything is checked before any write: unknown controllers (`unknown controller
    /// "name"`), paths leaving the container cgroup (`.. is not a sub cgroup path`) and missing
    /// sub cgroups (`adding pid 42 to cgroups: open <dir>/cgroup.procs: no such file or
    /// directory`). Errors carry these texts as their whole `description`.
    public func add(pid: Int32, subCgroups: [String: String]) throws(CgroupError) {
        // Directory → path below it ("" = the directory itself).
        var relative: [String: String] = [:]
        if let sub = subCgroups[""] {
            // runc: one path for every controller; per-controller entries are ignored then.
            let cleaned = try CgroupManager.subCgroupPath(sub)
            for directory in directories { relative[directory] = cleaned }
        } else {
            let controllers = subCgroups.keys.sorted()
            for controller in controllers where paths[controller] == nil {
                throw CgroupError.verbatim("unknown controller \"\(controller)\"",
                                           operation: "add pid \(pid) to sub cgroup")
            }
            for controller in controllers {
                guard let sub = subCgroups[controller], let directory = paths[controller] else { continue }
                let cleaned = try CgroupManager.subCgroupPath(sub)
                // cpu and cpuacct can share a hierarchy; one process has one cgroup in it.
                if let other = relative[directory], other != cleaned {
                    throw CgroupError.verbatim(
                        "conflicting sub cgroups for \(directory): \"\(other.isEmpty ? "/" : other)\" and \"\(cleaned.isEmpty ? "/" : cleaned)\" (the controllers share a hierarchy)",
                        operation: "add pid \(pid) to sub cgroup", path: directory)
                }
                relative[directory] = cleaned
            }
        }

        let targets = directories.map { joinPath($0, relative[$0] ?? "") }
        // No partial move because a later sub cgroup is missing.
        for target in targets where !fs.exists(target) {
            throw CgroupManager.addError(pid, target, ENOENT, cause: nil)
        }
        for target in targets {
            try writeProcs(pid, target)
        }
    }

    /// `sub` cleaned lexically to `/a/b`, or `""` for the container cgroup itself; runc's
    /// "… is not a sub cgroup path" when `..` climbs out of the container cgroup.
    static func subCgroupPath(_ sub: String) throws(CgroupError) -> String {
        var components: [Substring] = []
        for component in sub.split(separator: "/") {
            switch component {
            case ".": continue
            case "..":
                if components.popLast() == nil {
                    throw CgroupError.verbatim("\(sub) is not a sub cgroup path", operation: "add pid to sub cgroup")
                }
            default: components.append(component)
            }
        }
        return components.isEmpty ? "" : "/" + components.joined(separator: "/")
    }

    /// Writes `pid` to `directory`/cgroup.procs, retrying EINVAL a few times like runc (a task
    /// still in TASK_NEW state cannot be moved yet).
    private func writeProcs(_ pid: Int32, _ directory: String) throws(CgroupError) {
        var attempt = 1
        while true {
            do {
                try fs.write(directory + "/cgroup.procs", String(pid))
                return
            } catch {
                if error.errno == EINVAL && attempt < 5 {
                    attempt += 1
                    sleepMilliseconds(30)
                    continue
                }
                throw CgroupManager.addError(pid, directory, error.errno, cause: error)
            }
        }
    }

    /// runc's `error adding pid N to cgroups: …` minus "error ", with Go's `open`/`write` path
    /// error and lowercase errno text.
    static func addError(_ pid: Int32, _ directory: String, _ code: Int32?, cause: CgroupError?) -> CgroupError {
        let file = directory + "/cgroup.procs"
        let prefix = "adding pid \(pid) to cgroups: "
        guard let code else {
            return .verbatim(prefix + (cause?.description ?? "cannot write \(file)"),
                             operation: "add pid \(pid) to", path: file)
        }
        // Failures of open(2) versus write(2) (ESRCH, EBUSY, EINVAL, …): the kernel decides
        // whether a move is allowed when the pid is written.
        let step = [ENOENT, ENOTDIR, EACCES, ELOOP, ENAMETOOLONG].contains(code) ? "open" : "write"
        return .verbatim(prefix + "\(step) \(file): \(goErrnoText(code))",
                         operation: "add pid \(pid) to", path: file, errno: code)
    }
}
