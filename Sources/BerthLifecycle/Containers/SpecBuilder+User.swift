import BerthOCI

// `User` and `GroupAdd` resolved against the image's /etc/passwd and /etc/group, as runc's
// libcontainer/user.GetExecUserPath and GetAdditionalGroupsPath do for dockerd, errors included.

struct PasswdEntry: Equatable {
    var name: String
    var uid: Int
    var gid: Int
}

struct GroupEntry: Equatable {
    var name: String
    var gid: Int
    var members: [String]
}

enum UserDatabase {
    /// `name:password:uid:gid:gecos:home:shell`; a field that is not a number reads as 0, as in runc.
    static func passwd(_ text: String) -> [PasswdEntry] {
        lines(text).map { f in
            PasswdEntry(name: f[0], uid: f.count > 2 ? Int(f[2]) ?? 0 : 0, gid: f.count > 3 ? Int(f[3]) ?? 0 : 0)
        }
    }

    /// `name:password:gid:member,member`.
    static func group(_ text: String) -> [GroupEntry] {
        lines(text).map { f in
            GroupEntry(name: f[0], gid: f.count > 2 ? Int(f[2]) ?? 0 : 0,
                       members: f.count > 3 ? f[3].split(separator: ",").map(String.init) : [])
        }
    }

    private static func lines(_ text: String) -> [[String]] {
        text.split(separator: "\n").compactMap { raw in
            let line = raw.trimmingCharacters(in: " \t\r")
            if line.isEmpty || line.hasPrefix("#") { return nil }
            return line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        }
    }
}

extension SpecBuilder {
    static let maxID = 2_147_483_647

    /// The process user for `spec` ("", "name", "uid", "uid:gid", "name:group", …) plus `groupAdd`.
    func resolveUser(_ spec: String, groupAdd: [String], rootfs: String) throws(SpecBuildError) -> User {
        func fail(_ m: String, field: String = "User") -> SpecBuildError { SpecBuildError(field: field, message: m) }
        let passwdText: String?, groupText: String?
        do {
            passwdText = try files.readRootfsFile(rootfs: rootfs, "/etc/passwd")
            groupText = try files.readRootfsFile(rootfs: rootfs, "/etc/group")
        } catch {
            throw fail("reading the image's user database: \(error)")
        }
        let users = passwdText.map(UserDatabase.passwd)
        let groups = groupText.map(UserDatabase.group)

        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let userArg = parts.first ?? "", groupArg = parts.count > 1 ? parts[1] : ""
        let uidArg = Int(userArg), gidArg = Int(groupArg)

        var uid = 0, gid = 0
        var sgids: [Int] = []
        var matchedName = ""
        let match = users?.first { u in
            if userArg.isEmpty { return u.uid == 0 }
            if let n = uidArg { return u.uid == n }
            return u.name == userArg
        }
        if let m = match {
            matchedName = m.name; uid = m.uid; gid = m.gid
        } else if !userArg.isEmpty {
            guard let n = uidArg else {
                throw fail("unable to find user \(userArg): no matching entries in passwd file")
            }
            guard (0...Self.maxID).contains(n) else { throw fail("uids and gids must be in range 0-\(Self.maxID)") }
            uid = n
        }

        if !groupArg.isEmpty || !matchedName.isEmpty {
            let found = (groups ?? []).filter { g in
                if groupArg.isEmpty { return g.members.contains(matchedName) }
                if let n = gidArg { return g.gid == n }
                return g.name == groupArg
            }
            if !groupArg.isEmpty {
                if let g = found.first {
                    gid = g.gid
                } else {
                    guard let n = gidArg else {
                        throw fail("unable to find group \(groupArg): no matching entries in group file")
                    }
                    guard (0...Self.maxID).contains(n) else { throw fail("uids and gids must be in range 0-\(Self.maxID)") }
                    gid = n
                }
            } else {
                sgids = found.map(\.gid)
            }
        }

        // GroupAdd: names or numbers, each once (Docker collects them in a set).
        var added: [Int] = []
        for name in groupAdd {
            if let g = (groups ?? []).first(where: { $0.name == name || String($0.gid) == name }) {
                if !added.contains(g.gid) { added.append(g.gid) }
                continue
            }
            guard let n = Int(name) else { throw fail("Unable to find group \(name)", field: "HostConfig.GroupAdd") }
            guard (0...Self.maxID).contains(n) else {
                throw fail("uids and gids must be in range 0-\(Self.maxID)", field: "HostConfig.GroupAdd")
            }
            if !added.contains(n) { added.append(n) }
        }
        // The primary group is listed too (moby 20.10.18, CVE-2022-36109): a process can't drop
        // it with setgroups() to get past a file's negative group permissions.
        let additional = ([gid] + sgids + added).map { UInt32($0) }
        return User(uid: UInt32(uid), gid: UInt32(gid), additionalGids: additional)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> Substring {
        var s = self
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return s
    }
}
