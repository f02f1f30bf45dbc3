import Foundation

/// The files of a build context directory that survive .dockerignore.
public enum BuildContext {
    /// Relative "/"-separated paths under `root` that survive `ignore`, directories included (so
    /// empty directories and their modes travel), sorted. Symbolic links are listed, never followed.
    /// The parent directories of a re-included path (`!` exception under an excluded directory) are
    /// listed too, so a receiver can create them. `alwaysInclude` paths (the Dockerfile in use) are
    /// kept even when a pattern excludes them.
    public static func files(root: String, ignore: DockerIgnore?, alwaysInclude: [String]) throws -> [String] {
        let forced = Set(alwaysInclude.map(cleanPath))
        var kept: Set<String> = []
        try walk(root: root, relative: "", ignore: ignore, forced: forced, kept: &kept)
        for path in forced where path != "." {
            var isDirectory: ObjCBool = false
            let full = root + "/" + path
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory) || isSymlink(full) {
                kept.insert(path)
            }
        }
        // Every kept path's parents travel with it.
        for path in kept {
            var parent = (path as NSString).deletingLastPathComponent
            while !parent.isEmpty && parent != "." && kept.insert(parent).inserted {
                parent = (parent as NSString).deletingLastPathComponent
            }
        }
        return kept.sorted()
    }

    private static func walk(root: String, relative: String, ignore: DockerIgnore?, forced: Set<String>, kept: inout Set<String>) throws {
        let directory = relative.isEmpty ? root : root + "/" + relative
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw DockerfileError(line: 0, "read build context directory \(directory): \(error.localizedDescription)")
        }
        for name in names.sorted() {
            let path = relative.isEmpty ? name : relative + "/" + name
            let full = root + "/" + path
            let excluded = ignore?.excludes(path) ?? false
            if !excluded { kept.insert(path) }
            guard !isSymlink(full) else { continue }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), isDirectory.boolValue else {
                continue
            }
            if excluded, let ignore, ignore.canSkipDirectory(path), !forced.contains(where: { $0.hasPrefix(path + "/") }) {
                continue
            }
            try walk(root: root, relative: path, ignore: ignore, forced: forced, kept: &kept)
        }
    }

    private static func isSymlink(_ path: String) -> Bool {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return attributes?[.type] as? FileAttributeType == .typeSymbolicLink
    }
}
