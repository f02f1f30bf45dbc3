import ArgumentParser
import Foundation
import Glibc

/// `berth login [SERVER]`: `POST /auth` (berthd asks the registry), then the credentials go into
/// berth's config.json as docker stores them (`auths.<server>.auth`, mode 0600).
struct Login: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Authenticate to a registry", usage: "berth login [OPTIONS] [SERVER]", helpNames: [.long])

    @Option(name: [.short, .customLong("username")], help: "Username") var username: String?
    @Option(name: [.short, .customLong("password")], help: "Password or Personal Access Token (PAT)") var password: String?
    @Flag(name: .customLong("password-stdin"), help: "Take the Password or Personal Access Token (PAT) from stdin") var passwordStdin = false
    @Argument(help: "The registry (Docker Hub when absent)") var server: String?

    func run() throws {
        var user = username?.trimmingCharacters(in: .whitespaces)
        var pass = password
        if passwordStdin {
            if password != nil { throw CLIError("--password and --password-stdin are mutually exclusive") }
            if (user ?? "").isEmpty { throw CLIError("Must provide --username with --password-stdin") }
            var text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            pass = text
        } else if password != nil {
            CommandSupport.err("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n")
        }
        let address = RegistryAuth.serverKey(server ?? "")
        if (user ?? "").isEmpty || (pass ?? "").isEmpty {
            guard isatty(0) == 1 else { throw CLIError("Error: Cannot perform an interactive login from a non TTY device") }
            if (user ?? "").isEmpty {
                CommandSupport.out("Username: "); CLI.flush()
                user = readLine()?.trimmingCharacters(in: .whitespaces)
                if (user ?? "").isEmpty { throw CLIError("Error: Non-null Username Required") }
            }
            if (pass ?? "").isEmpty {
                pass = Self.readSecret("Password: ")
                if (pass ?? "").isEmpty { throw CLIError("Error: Password Required") }
            }
        }
        let body: [String: Any] = ["username": user ?? "", "password": pass ?? "", "serveraddress": address]
        let r = try CLI.client().json("POST", "/auth", body: body) as? [String: Any] ?? [:]
        var config = CLIConfig.load()
        config.store(CLIConfig.Credentials(username: user ?? "", password: pass ?? ""), for: address)
        try config.save()
        CommandSupport.err("WARNING! Your credentials are stored unencrypted in '\(config.path)'.\n"
            + "Configure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n\n")
        CommandSupport.out((r["Status"] as? String ?? "Login Succeeded") + "\n")
    }

    /// Reads a line from the terminal with echo off.
    static func readSecret(_ prompt: String) -> String? {
        CommandSupport.out(prompt); CLI.flush()
        var old = termios()
        let haveTerm = tcgetattr(0, &old) == 0
        if haveTerm {
            var t = old
            t.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(0, TCSANOW, &t)
        }
        defer {
            if haveTerm { var o = old; tcsetattr(0, TCSANOW, &o) }
            CommandSupport.out("\n")
        }
        return readLine()
    }
}
