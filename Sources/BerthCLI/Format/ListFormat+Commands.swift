/// The argument order the commands use (quiet beside format, the quiet template named as such).
extension ListFormat {
    init(format: String?, quiet: Bool, defaultTable: String, quietTemplate: String, headers: [String: String]) {
        self.init(format: format, defaultTable: defaultTable, quiet: quiet, quietFormat: quietTemplate, headers: headers)
    }
}
