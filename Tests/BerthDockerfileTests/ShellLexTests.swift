import Testing
@testable import BerthDockerfile

@Suite struct ShellLexTests {
    let lex = ShellLex(escape: "\\")
    let env = ["A": "a", "EMPTY": "", "SP": "x  y", "HOME": "/root"]

    @Test(arguments: [
        ("$A", "a"), ("${A}", "a"), ("${A}b", "ab"), ("$Ab", ""), ("$UNSET-", "-"),
        ("${UNSET:-def}", "def"), ("${EMPTY:-def}", "def"), ("${A:-def}", "a"),
        ("${UNSET-def}", "def"), ("${EMPTY-def}", ""), ("${A:+alt}", "alt"), ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"), ("${UNSET+alt}", ""), ("${UNSET:-${A}x}", "ax"),
        ("'$A'", "$A"), ("\"$A\"", "a"), ("\\$A", "$A"), ("\"\\$A\"", "$A"), ("a\\ b", "a b"),
        ("\"a\\b\"", "a\\b"), ("it\"'\"s", "it's"), ("$", "$"), ("a$", "a$"), ("${A?}", "a"),
        ("$1x", "x"), ("\\\\", "\\"),
    ])
    func processWord(input: String, expected: String) throws {
        let lex = ShellLex(escape: "\\")
        #expect(try lex.processWord(input, env: env) == expected)
    }

    @Test func processWordsSplitsOnUnquotedWhitespace() throws {
        #expect(try lex.processWords("a  \"b c\" 'd e'f $SP \"$SP\"", env: env) == ["a", "b c", "d ef", "x", "y", "x  y"])
        #expect(try lex.processWords("  ", env: env) == [])
        #expect(try lex.processWords("\"\" x", env: env) == ["x"])
    }

    @Test func backtickEscape() throws {
        let tick = ShellLex(escape: "`")
        #expect(try tick.processWord("c:\\path `$A", env: env) == "c:\\path $A")
        #expect(try tick.processWord("\"``\"", env: env) == "`")
    }

    @Test func requiredVariables() throws {
        #expect(throws: DockerfileError(line: 0, "UNSET: need it")) {
            try lex.processWord("${UNSET:?need it}", env: env)
        }
        #expect(throws: DockerfileError(line: 0, "EMPTY: is not allowed to be empty")) {
            try lex.processWord("${EMPTY:?}", env: env)
        }
        #expect(throws: DockerfileError(line: 0, "UNSET: is not allowed to be unset")) {
            try lex.processWord("${UNSET?}", env: env)
        }
        #expect(try lex.processWord("${EMPTY?x}", env: env) == "")
    }

    @Test func syntaxErrors() {
        #expect(throws: DockerfileError(line: 0, "syntax error: missing '}'")) { try lex.processWord("${A", env: env) }
        #expect(throws: DockerfileError(line: 0, "syntax error: missing '}'")) { try lex.processWord("${A:-x", env: env) }
        #expect(throws: DockerfileError(line: 0, "syntax error: missing '}'")) { try lex.processWord("${", env: env) }
        #expect(throws: DockerfileError(line: 0, "syntax error: bad substitution")) { try lex.processWord("${}", env: env) }
        #expect(throws: DockerfileError(line: 0, "unsupported modifier (x) in substitution")) { try lex.processWord("${A:x}", env: env) }
        #expect(throws: DockerfileError(line: 0, "unexpected end of statement while looking for matching double-quote")) {
            try lex.processWord("\"abc", env: env)
        }
        #expect(throws: DockerfileError(line: 0, "unexpected end of statement while looking for matching single-quote")) {
            try lex.processWord("'abc", env: env)
        }
    }

    @Test func heredocExpansionKeepsQuotes() throws {
        #expect(try lex.expandHeredoc("say \"$A\" '$A' \\$A\n", env: env) == "say \"a\" '$A' $A\n")
    }
}
