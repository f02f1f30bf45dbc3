import Foundation
import Testing
@testable import BerthCLI

@Suite struct TableWriterTests {
    @Test func dockerPadding() {
        // minwidth 10, padding 3: a column is max(10, widest cell + 3) wide; the last cell is not padded.
        #expect(TableWriter().format("CONTAINER ID\tIMAGE\tNAMES\nabc\tbusybox\tweb\n")
            == "CONTAINER ID   IMAGE     NAMES\nabc            busybox   web\n")
        #expect(TableWriter().format("a\tb\n") == "a         b\n")
        #expect(TableWriter().format("\tb\n") == "          b\n")
        #expect(TableWriter().format("a\tb") == "a         b")
        #expect(TableWriter().format("") == "")
        #expect(TableWriter().format("no tabs\nat all\n") == "no tabs\nat all\n")
    }

    @Test func columnBlocksAreContiguousLines() {
        // text/tabwriter's documentation example: the b and c cells are in distinct column blocks.
        let w = TableWriter(minWidth: 0, tabWidth: 8, padding: 1, padChar: ".")
        #expect(w.format("aaaa\tbbb\td\naa\tb\tdd\na\t\naa\tcccc\teee\n")
            == "aaaa.bbb.d\naa...b...dd\na....\naa...cccc.eee\n")
        // A line without tabs ends every block.
        #expect(TableWriter().format("long-cell-value\tx\nbreak\nb\ty\n") == "long-cell-value   x\nbreak\nb         y\n")
    }

    @Test func widthCountsCharactersNotBytes() {
        #expect(TableWriter().format("héllo\tx\nab\ty\n") == "héllo     x\nab        y\n")
        #expect(TableWriter().format("e\u{301}\tx\n") == "e\u{301}         x\n")
        // East Asian wide characters take two columns, as go-runewidth measures them for docker.
        #expect(TableWriter().format("名前\tx\n") == "名前      x\n")
    }

    @Test func tabPadding() {
        let w = TableWriter(minWidth: 0, tabWidth: 8, padding: 1, padChar: "\t")
        #expect(w.format("a\tb\nabcdefghij\tc\n") == "a\t\tb\nabcdefghij\tc\n")
    }
}

let psTable = "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Ports}}\\t{{.Names}}"
let psHeaders = [
    "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "RunningFor": "CREATED", "CreatedAt": "CREATED AT",
    "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES", "Size": "SIZE", "Labels": "LABELS", "State": "STATE",
]
var psRows: [[String: Any]] { [
    ["ID": "4c01db0b339c", "Image": "busybox", "Command": "\"sleep 600\"", "RunningFor": "2 minutes ago",
     "Status": "Up 2 minutes", "Ports": "", "Names": "web", "Labels": "a=1", "State": "running"],
    ["ID": "9f1e7c2d7b10", "Image": "nginx:alpine", "Command": "\"/docker-entrypoint.…\"", "RunningFor": "3 hours ago",
     "Status": "Exited (0) 1 second ago", "Ports": "0.0.0.0:8080->80/tcp", "Names": "proxy", "Labels": "", "State": "exited"],
] }

@Suite struct ListFormatTests {
    @Test func defaultTableLikeDockerPs() throws {
        let f = ListFormat(format: nil, defaultTable: psTable, headers: psHeaders)
        #expect(f.isTable)
        #expect(try f.render(psRows) == """
            CONTAINER ID   IMAGE          COMMAND                  CREATED         STATUS                    PORTS                  NAMES
            4c01db0b339c   busybox        "sleep 600"              2 minutes ago   Up 2 minutes                                     web
            9f1e7c2d7b10   nginx:alpine   "/docker-entrypoint.…"   3 hours ago     Exited (0) 1 second ago   0.0.0.0:8080->80/tcp   proxy

            """)
    }

    @Test func emptyTablePrintsTheHeader() throws {
        let f = ListFormat(format: "table", defaultTable: psTable, headers: psHeaders)
        #expect(try f.render([]) == "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n")
    }

    @Test func customTable() throws {
        let f = ListFormat(format: "table {{.ID}}\t{{.Names}}", defaultTable: psTable, headers: psHeaders)
        #expect(try f.render(psRows) == "CONTAINER ID   NAMES\n4c01db0b339c   web\n9f1e7c2d7b10   proxy\n")
        // docker's literal \t works too, and spaces after "table" are trimmed.
        let g = ListFormat(format: "table   {{.Names}}\\t{{.State}}", defaultTable: psTable, headers: psHeaders)
        #expect(try g.render(psRows) == "NAMES     STATE\nweb       running\nproxy     exited\n")
    }

    @Test func headerFunctionsLeaveHeadersAlone() throws {
        let f = ListFormat(format: "table {{upper .Names}}\t{{json .Labels}}\t{{truncate .ID 4}}", defaultTable: psTable, headers: psHeaders)
        #expect(try f.render([psRows[0]]) == "NAMES     LABELS    CONTAINER ID\nWEB       \"a=1\"     4c01\n")
    }

    @Test func fieldsWithoutHeaderGetTheirWords() throws {
        let f = ListFormat(format: "table {{.ID}}\t{{.RunningFor}}\t{{.IPAddress}}", defaultTable: psTable)
        #expect(try f.render([["ID": "x", "RunningFor": "now", "IPAddress": "10.0.0.2"]])
            == "ID        RUNNING FOR   IP ADDRESS\nx         now           10.0.0.2\n")
        #expect(ListFormat.defaultHeader("LocalVolumes") == "LOCAL VOLUMES")
        #expect(ListFormat.defaultHeader("ID") == "ID")
        #expect(ListFormat.defaultHeader("CreatedAt") == "CREATED AT")
    }

    @Test func rawTemplateHasNoHeaderNorAlignment() throws {
        let f = ListFormat(format: "{{.Names}}\t{{.State}}", defaultTable: psTable, headers: psHeaders)
        #expect(!f.isTable)
        #expect(try f.render(psRows) == "web\trunning\nproxy\texited\n")
        #expect(try f.render([]) == "")
    }

    @Test func quiet() throws {
        let f = ListFormat(format: nil, defaultTable: psTable, quiet: true, headers: psHeaders)
        #expect(try f.render(psRows) == "4c01db0b339c\n9f1e7c2d7b10\n")
        // An explicit format wins over -q, as in docker.
        let g = ListFormat(format: "{{.Names}}", defaultTable: psTable, quiet: true, headers: psHeaders)
        #expect(try g.render(psRows) == "web\nproxy\n")
    }

    @Test func jsonLines() throws {
        let f = ListFormat(format: "json", defaultTable: psTable, headers: psHeaders)
        #expect(!f.isTable)
        #expect(f.template == "{{json .}}")
        #expect(try f.render([["ID": "a", "Size": 12], ["ID": "b", "Size": 0]]) == "{\"ID\":\"a\",\"Size\":12}\n{\"ID\":\"b\",\"Size\":0}\n")
    }

    @Test func errorsReadLikeDockers() {
        let f = ListFormat(format: "{{foo}}", defaultTable: psTable)
        #expect(failure { _ = try f.render(psRows) } == #"template parsing error: template: :1: function "foo" not defined"#)
        let g = ListFormat(format: "{{.Names.X}}", defaultTable: psTable)
        #expect(failure { _ = try g.render(psRows) }
            == #"template parsing error: template: :1:8: executing "" at <.Names.X>: can't evaluate field X in type string"#)
    }
}

@Suite struct InspectFormatTests {
    let container: [String: Any] = [
        "Id": "4c01db0b339c", "Args": [Any](), "Config": ["Labels": [String: Any]()],
        "Cmd": ["sh", "-c", "a && b > c"], "State": ["Running": true, "Pid": 42, "Health": NSNull()],
    ]

    @Test func indentedJSON() throws {
        #expect(try inspectFormat(nil, values: [container]) == """
            [
                {
                    "Args": [],
                    "Cmd": [
                        "sh",
                        "-c",
                        "a \\u0026\\u0026 b \\u003e c"
                    ],
                    "Config": {
                        "Labels": {}
                    },
                    "Id": "4c01db0b339c",
                    "State": {
                        "Health": null,
                        "Pid": 42,
                        "Running": true
                    }
                }
            ]

            """)
        #expect(try inspectFormat(nil, values: []) == "[]\n")
        #expect(try inspectFormat("", values: [["A": 1], ["A": 2]]) == "[\n    {\n        \"A\": 1\n    },\n    {\n        \"A\": 2\n    }\n]\n")
    }

    @Test func compactJSON() throws {
        #expect(try inspectFormat("json", values: [["b": 1, "a": "x"], ["c": [1, 2]]]) == #"[{"a":"x","b":1},{"c":[1,2]}]"# + "\n")
    }

    @Test func templatePerValue() throws {
        #expect(try inspectFormat("{{.Id}} {{.State.Pid}}", values: [container, container]) == "4c01db0b339c 42\n4c01db0b339c 42\n")
        #expect(try inspectFormat("{{json .Cmd}}", values: [container]) == #"["sh","-c","a && b > c"]"# + "\n")
        #expect(try inspectFormat("{{.Id}}", values: []) == "\n")
        #expect(failure { _ = try inspectFormat("{{.Id", values: [container]) } == "template parsing error: template: :1: unclosed action")
    }
}
