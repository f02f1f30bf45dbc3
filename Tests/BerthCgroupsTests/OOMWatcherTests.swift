@testable import BerthCgroups
import Glibc
import Testing

/// OOM notification on the fake filesystem: v1 through a real eventfd whose number the test
/// reads back from the cgroup.event_control write, v2 by polling memory.events. The inotify
/// path runs against a regular file, which needs no cgroup.
@Suite(.serialized) struct OOMWatcherTests {
    let memory = "/sys/fs/cgroup/memory/berth/ctr"
    let unified = "/sys/fs/cgroup/berth/ctr"

    func v1() throws -> (CgroupManager, FakeCgroupFS) {
        let fs = FakeCgroupFS(["\(memory)/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
                               "\(memory)/cgroup.event_control": ""])
        let manager = try CgroupManager(layout: Fixtures.hybridLayout, cgroupsPath: nil, containerID: "ctr", fs: fs)
        return (manager, fs)
    }

    func v2(events: String = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n") throws -> (CgroupManager, FakeCgroupFS) {
        let fs = FakeCgroupFS(["\(unified)/memory.events": events])
        let manager = try CgroupManager(layout: Fixtures.unifiedLayout, cgroupsPath: nil, containerID: "ctr", fs: fs)
        return (manager, fs)
    }

    /// The eventfd the watcher registered, from "<eventfd> <oom_control fd>".
    func registeredEventFD(_ fs: FakeCgroupFS) throws -> Int32 {
        let registration = try #require(fs.written("/cgroup.event_control").last)
        let fds = registration.split(separator: " ").compactMap { Int32($0) }
        try #require(fds.count == 2, "registration \"\(registration)\"")
        #expect(fcntl(fds[1], F_GETFD) >= 0, "the oom_control descriptor stays open")
        return fds[0]
    }

    /// What the kernel does on an OOM (or a cgroup removal): add to the eventfd counter.
    func signal(_ eventFD: Int32) {
        var one: UInt64 = 1
        #expect(write(eventFD, &one, 8) == 8)
    }

    func elapsed(_ body: () -> Bool) -> (Bool, Int) {
        let start = monotonicMilliseconds()
        let result = body()
        return (result, monotonicMilliseconds() - start)
    }

    // MARK: v1

    @Test func v1ReportsEachSignalOnceAndTimesOut() throws {
        let (manager, fs) = try v1()
        let watcher = try manager.oomWatcher()
        let eventFD = try registeredEventFD(fs)

        let (quiet, waited) = elapsed { watcher.wait(timeoutMs: 50) }
        #expect(!quiet)
        #expect(waited >= 45)

        signal(eventFD)
        signal(eventFD)  // two OOMs before the next wait are one report
        let (oom, fast) = elapsed { watcher.wait(timeoutMs: 5000) }
        #expect(oom)
        #expect(fast < 1000)
        #expect(!watcher.wait(timeoutMs: 0))
        #expect(!watcher.cgroupRemoved)
    }

    @Test func v1CgroupRemovalIsNotAnOOM() throws {
        let (manager, fs) = try v1()
        let watcher = try manager.oomWatcher()
        let eventFD = try registeredEventFD(fs)
        try fs.rmdir(memory)  // the kernel signals registered eventfds when the cgroup goes
        signal(eventFD)
        #expect(!watcher.wait(timeoutMs: 1000))
        #expect(watcher.cgroupRemoved)
        let (again, waited) = elapsed { watcher.wait(timeoutMs: 30) }
        #expect(!again)
        #expect(waited >= 25)  // waits out the timeout rather than spinning a caller's loop
    }

    @Test func v1CloseReleasesTheDescriptors() throws {
        let (manager, fs) = try v1()
        let watcher = try manager.oomWatcher()
        let eventFD = try registeredEventFD(fs)
        #expect(isEventFD(eventFD))
        watcher.close()
        #expect(!isEventFD(eventFD))
        #expect(!watcher.wait(timeoutMs: 0))
        watcher.close()  // idempotent
    }

    @Test func v1DeinitClosesToo() throws {
        let (manager, fs) = try v1()
        var watcher: OOMWatcher? = try manager.oomWatcher()
        let eventFD = try registeredEventFD(fs)
        #expect(watcher != nil && isEventFD(eventFD))
        watcher = nil
        #expect(!isEventFD(eventFD))
    }

    @Test func v1FailuresCloseWhatWasOpened() throws {
        let (manager, fs) = try v1()
        fs.fail("\(memory)/cgroup.event_control", errno: EINVAL)
        #expect(throws: CgroupError.self) { try manager.oomWatcher() }

        let noMemory = try CgroupManager(
            layout: .v1(hierarchies: [V1Hierarchy(mountPoint: "/cg/pids", subsystems: ["pids"])]),
            cgroupsPath: nil, containerID: "ctr", fs: fs)
        let error = #expect(throws: CgroupError.self) { try noMemory.oomWatcher() }
        #expect(error?.description.contains("memory cgroup controller is not mounted") == true)

        let missing = try CgroupManager(layout: Fixtures.hybridLayout, cgroupsPath: "/other", containerID: "x", fs: fs)
        #expect(throws: CgroupError.self) { try missing.oomWatcher() }
    }

    /// Whether `fd` is an open eventfd. Other suites run in parallel and may reuse a closed
    /// number, but not for an eventfd in the same instant (the OOM host test is the only other).
    func isEventFD(_ fd: Int32) -> Bool {
        var buffer = [CChar](repeating: 0, count: 256)
        let count = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
        guard count > 0 else { return false }
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self).contains("eventfd")
    }

    // MARK: v2

    @Test func v2ReportsIncreasesOfOomKillOrOom() throws {
        let (manager, fs) = try v2(events: "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
        let watcher = try manager.oomWatcher()
        #expect(!watcher.usesInotify)  // the fake cannot watch: polling
        #expect(!watcher.wait(timeoutMs: 0))  // earlier OOMs are not reported

        fs.seed(["\(unified)/memory.events": "low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\n"])
        #expect(watcher.wait(timeoutMs: 0))
        #expect(!watcher.wait(timeoutMs: 0))

        fs.seed(["\(unified)/memory.events": "low 0\nhigh 0\nmax 3\noom 3\noom_kill 2\n"])  // OOM without a kill
        #expect(watcher.wait(timeoutMs: 0))
        fs.seed(["\(unified)/memory.events": "low 0\nhigh 0\nmax 3\noom 3\noom_kill 3\n"])
        #expect(watcher.wait(timeoutMs: 0))
    }

    @Test func v2PollsWithinTheTimeout() throws {
        let (manager, fs) = try v2()
        let watcher = try manager.oomWatcher()
        // Unchanged at the first two reads of this wait, then the kernel counts an OOM kill.
        fs.script("\(unified)/memory.events", ["oom 0\noom_kill 0\n", "oom 0\noom_kill 0\n", "oom 1\noom_kill 1\n"])
        let (oom, waited) = elapsed { watcher.wait(timeoutMs: 5000) }
        #expect(oom)
        #expect(waited >= 2 * OOMWatcher.pollIntervalMs - 10)
        #expect(waited < 4000)

        let (quiet, timeout) = elapsed { watcher.wait(timeoutMs: 250) }
        #expect(!quiet)
        #expect(timeout >= 245 && timeout < 2000)
    }

    @Test func v2CgroupRemovalEndsTheWatch() throws {
        let (manager, fs) = try v2()
        let watcher = try manager.oomWatcher()
        try fs.rmdir(unified)
        #expect(!watcher.wait(timeoutMs: 1000))
        #expect(watcher.cgroupRemoved)
    }

    @Test func v2NeedsMemoryEvents() throws {
        let fs = FakeCgroupFS(["\(unified)/cgroup.procs": ""])
        let manager = try CgroupManager(layout: Fixtures.unifiedLayout, cgroupsPath: nil, containerID: "ctr", fs: fs)
        let error = #expect(throws: CgroupError.self) { try manager.oomWatcher() }
        #expect(error?.description.contains("memory.events does not exist") == true)
    }

    /// Real inotify on a regular file standing in for memory.events; a child process changes it
    /// while the watcher waits.
    @Test func v2InotifyWakesOnModification() throws {
        var template = Array("/tmp/berth-oom-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) != nil }
        try #require(created)
        let directory = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let events = directory + "/memory.events"
        let fs = HostCgroupFS()
        defer {
            unlink(events)
            rmdir(directory)
        }
        try writeFile(events, "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n")

        let manager = CgroupManager(paths: ["": directory], layout: .v2(mountPoint: "/tmp"), fs: fs)
        let watcher = try manager.oomWatcher()
        #expect(watcher.usesInotify)
        #expect(!watcher.wait(timeoutMs: 20))

        let pid = try spawn(["/bin/sh", "-c", "sleep 0.3; printf 'low 0\\nhigh 0\\nmax 1\\noom 1\\noom_kill 1\\n' > \(events)"])
        let (oom, waited) = elapsed { watcher.wait(timeoutMs: 10_000) }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        #expect(oom)
        #expect(waited >= 250 && waited < 9000, "woke after \(waited) ms")

        unlink(events)
        #expect(!watcher.wait(timeoutMs: 2000))
        #expect(watcher.cgroupRemoved)
    }

    private func writeFile(_ path: String, _ text: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        try #require(fd >= 0)
        defer { close(fd) }
        let bytes = Array(text.utf8)
        try #require(write(fd, bytes, bytes.count) == bytes.count)
    }
}

/// posix_spawn of `argv` with the test's stdio.
func spawn(_ argv: [String], stdin: Int32? = nil) throws -> pid_t {
    var pid: pid_t = 0
    let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { cArgs.forEach { free($0) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if let stdin { posix_spawn_file_actions_adddup2(&actions, stdin, 0) }
    let rc = posix_spawn(&pid, argv[0], &actions, nil, cArgs, environ)
    try #require(rc == 0, "posix_spawn \(argv[0]): \(rc)")
    return pid
}
