import Foundation
import Testing
@testable import BerthCLI

/// A JSON document as JSONSerialization gives it (NSNumber booleans and numbers, NSNull).
func jsonValue(_ text: String) -> Any {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) ?? NSNull()
}

func render(_ template: String, _ value: Any) throws(TemplateError) -> String {
    try GoTemplate(template).render(value)
}

func renderJSON(_ template: String, _ json: String) throws(TemplateError) -> String {
    try render(template, jsonValue(json))
}

/// The message of the error `body` throws, nil if it succeeds.
func failure(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let error as TemplateError {
        return error.message
    } catch {
        return "unexpected \(error)"
    }
}

@Suite struct TemplateFieldTests {
    let container = #"{"Id":"4c01db0b339c","Name":"/web","State":{"Status":"running","Running":true,"Pid":4242,"ExitCode":0,"Health":null},"Config":{"Cmd":["sh","-c","sleep 600"],"Labels":{"com.docker.compose.project":"demo","a":"1"}},"SizeRw":0}"#

    @Test func textOnly() throws {
        #expect(try render("plain text", [String: Any]()) == "plain text")
        #expect(try render("", [String: Any]()) == "")
    }

    @Test func fieldsAndChains() throws {
        #expect(try renderJSON("{{.Id}}", container) == "4c01db0b339c")
        #expect(try renderJSON("{{.State.Status}} {{.State.Pid}}", container) == "running 4242")
        #expect(try renderJSON("{{ .State.Running }}", container) == "true")
        #expect(try renderJSON("{{.SizeRw}}", container) == "0")
    }

    @Test func dotAndRoot() throws {
        #expect(try render("{{.}}", "hello") == "hello")
        #expect(try renderJSON("{{with .State}}{{$.Id}} {{.Status}}{{end}}", container) == "4c01db0b339c running")
    }

    @Test func missingKeysPrintNoValue() throws {
        #expect(try renderJSON("{{.Nope}}", container) == "<no value>")
        #expect(try renderJSON("{{.Nope.Deeper.Still}}", container) == "<no value>")
        #expect(try renderJSON("{{.State.Nope}}", container) == "<no value>")
    }

    @Test func nullsBehaveLikeGoNilInterfaces() throws {
        // Go digs a nil interface{} to the invalid value: it prints <no value>, but <nil> as an argument.
        #expect(try renderJSON("{{.State.Health}}", container) == "<no value>")
        #expect(try renderJSON("{{print .State.Health}}", container) == "<nil>")
        #expect(try renderJSON("{{printf \"%v\" .State.Health}}", container) == "<nil>")
        #expect(try renderJSON("{{json .State.Health}}", container) == "null")
        #expect(try renderJSON("{{if .State.Health}}yes{{else}}no{{end}}", container) == "no")
        #expect(failure { _ = try renderJSON("{{.State.Health.Status}}", container) }
            == #"template: :1:8: executing "" at <.State.Health.Status>: nil pointer evaluating interface {}.Status"#)
    }

    @Test func fieldOfNonMapIsAnError() {
        #expect(failure { _ = try renderJSON("{{.Name.First}}", container) }
            == #"template: :1:7: executing "" at <.Name.First>: can't evaluate field First in type string"#)
        #expect(failure { _ = try renderJSON("x\n  {{.State.Pid.X}}", container) }
            == #"template: :2:10: executing "" at <.State.Pid.X>: can't evaluate field X in type int"#)
        #expect(failure { _ = try renderJSON("{{.Name \"x\"}}", container) }
            == #"template: :1:2: executing "" at <.Name>: Name is not a method but has arguments"#)
    }

    @Test func numbersPrintLikeGo() throws {
        #expect(try render("{{.A}} {{.B}} {{.C}} {{.D}}", ["A": 5.0, "B": 1.5, "C": 12_345_678.0, "D": 1e6] as [String: Any])
            == "5 1.5 1.2345678e+07 1e+06")
        #expect(try render("{{.A}} {{.B}} {{.C}}", ["A": 123_456.0, "B": 0.0001, "C": 0.00001] as [String: Any]) == "123456 0.0001 1e-05")
        #expect(try render("{{.A}} {{.B}}", ["A": -2.5, "B": 0.1] as [String: Any]) == "-2.5 0.1")
        #expect(try renderJSON("{{.a}} {{.b}} {{.c}}", #"{"a":12345678901234,"b":1e3,"c":-7}"#) == "12345678901234 1000 -7")
    }

    @Test func jsonBooleansAreNotNumbers() throws {
        let doc = #"{"t":true,"f":false,"one":1,"zero":0}"#
        #expect(try renderJSON("{{.t}} {{.f}} {{.one}} {{.zero}}", doc) == "true false 1 0")
        #expect(try renderJSON("{{json .}}", doc) == #"{"f":false,"one":1,"t":true,"zero":0}"#)
        #expect(try renderJSON("{{if .one}}a{{end}}{{if .zero}}b{{end}}{{if .f}}c{{end}}", doc) == "a")
        #expect(try render("{{.B}} {{.I}}", ["B": true, "I": 3] as [String: Any]) == "true 3")
    }

    @Test func listsAndMapsPrintLikeGo() throws {
        #expect(try renderJSON("{{.Config.Cmd}}", container) == "[sh -c sleep 600]")
        #expect(try renderJSON("{{.Config.Labels}}", container) == "map[a:1 com.docker.compose.project:demo]")
        #expect(try renderJSON("{{.}}", #"[1,null,"x",{"b":2,"a":[]}]"#) == "[1 <nil> x map[a:[] b:2]]")
    }

    @Test func methods() throws {
        let labels = ["com.example": "v1"]
        let row: [String: Any] = [
            "Label": TemplateMethod { args in labels[(args.first as? String) ?? ""] ?? "" },
            "Names": "web",
        ]
        #expect(try render(#"{{.Label "com.example"}}|{{.Label "none"}}|{{.Names}}"#, row) == "v1||web")
        #expect(try render(#"{{"com.example" | .Label}}"#, row) == "v1")
    }
}

@Suite struct TemplateSyntaxTests {
    @Test func trimMarkers() throws {
        #expect(try render("a  \n {{- .X -}} \n  b", ["X": "x"]) == "axb")
        #expect(try render("a {{- .X}} b", ["X": "x"]) == "ax b")
        #expect(try render("a {{.X -}} b", ["X": "x"]) == "a xb")
        #expect(try render("{{-3}}", [String: Any]()) == "-3")
        #expect(try render("{{- 3 -}}", [String: Any]()) == "3")
    }

    @Test func comments() throws {
        #expect(try render("a{{/* note */}}b", [String: Any]()) == "ab")
        #expect(try render("a {{- /* note */ -}} b", [String: Any]()) == "ab")
        #expect(failure { _ = try GoTemplate("{{/* x */ .X}}") } == "template: :1: comment ends before closing delimiter")
    }

    @Test func literals() throws {
        #expect(try render(#"{{"a\tb\u00e9"}}"#, [String: Any]()) == "a\tbé")
        #expect(try render("{{`raw\\n`}}", [String: Any]()) == "raw\\n")
        #expect(try render("{{'a'}} {{0x1F}} {{1.5}} {{true}} {{false}}", [String: Any]()) == "97 31 1.5 true false")
        #expect(failure { _ = try render("{{nil}}", [String: Any]()) } == #"template: :1:2: executing "" at <nil>: nil is not a command"#)
    }

    @Test func variables() throws {
        #expect(try render("{{$x := .A}}{{$x}}-{{$x = \"b\"}}{{$x}}", ["A": "a"]) == "a-b")
        #expect(try render("{{$m := .M}}{{$m.K}}", ["M": ["K": "v"]]) == "v")
        #expect(try render("{{$}}", "root") == "root")
        // A variable declared in a block ends with the block.
        #expect(failure { _ = try GoTemplate("{{if true}}{{$x := 1}}{{end}}{{$x}}") } == #"template: :1: undefined variable "$x""#)
    }

    @Test func pipelines() throws {
        #expect(try render("{{.Name | upper}}", ["Name": "web"]) == "WEB")
        #expect(try render(#"{{.Name | printf "%s-%s" "x"}}"#, ["Name": "web"]) == "x-web")
        #expect(try render(#"{{join (split .S ",") "|"}}"#, ["S": "a,b,c"]) == "a|b|c")
        #expect(try render(#"{{(index .M "k").Sub}}"#, ["M": ["k": ["Sub": "deep"]]]) == "deep")
        #expect(try render(#"{{len (index .L 1)}}"#, ["L": ["a", "bcd"]]) == "3")
    }

    @Test func ifElse() throws {
        let t = #"{{if eq .S "running"}}up{{else if eq .S "paused"}}paused{{else}}down{{end}}"#
        #expect(try render(t, ["S": "running"]) == "up")
        #expect(try render(t, ["S": "paused"]) == "paused")
        #expect(try render(t, ["S": "exited"]) == "down")
        #expect(try render("{{if .L}}some{{else}}none{{end}}", ["L": [Any]()]) == "none")
        #expect(try render("{{if .M}}some{{else}}none{{end}}", ["M": ["a": 1]]) == "some")
        #expect(try render("{{if .Missing}}some{{else}}none{{end}}", [String: Any]()) == "none")
    }

    @Test func with() throws {
        #expect(try render("{{with .A}}[{{.B}}]{{end}}", ["A": ["B": "b"]]) == "[b]")
        #expect(try render("{{with .A}}[{{.}}]{{else}}empty{{end}}", ["A": ""]) == "empty")
        #expect(try render("{{with $v := .A}}{{$v}}{{end}}", ["A": "x"]) == "x")
        #expect(try render("{{with .A}}a{{else with .B}}{{.}}{{end}}", ["B": "b"]) == "b")
    }

    @Test func range() throws {
        #expect(try render("{{range .L}}<{{.}}>{{end}}", ["L": ["a", "b"]]) == "<a><b>")
        #expect(try render("{{range $i, $v := .L}}{{$i}}={{$v}},{{end}}", ["L": ["a", "b"]]) == "0=a,1=b,")
        #expect(try render("{{range $v := .L}}{{$v}}{{end}}", ["L": ["a", "b"]]) == "ab")
        #expect(try render("{{range $k, $v := .M}}{{$k}}:{{$v}} {{end}}", ["M": ["b": 2, "a": 1, "C": 3]]) == "C:3 a:1 b:2 ")
        #expect(try render("{{range .M}}{{.}}{{end}}", ["M": ["b": "2", "a": "1"]]) == "12")
        #expect(try render("{{range .L}}x{{else}}empty{{end}}", ["L": [Any]()]) == "empty")
        #expect(try render("{{range .Missing}}x{{else}}empty{{end}}", [String: Any]()) == "empty")
        #expect(try render("{{range .L}}{{if eq . 2}}{{continue}}{{end}}{{if eq . 4}}{{break}}{{end}}{{.}}{{end}}", ["L": [1, 2, 3, 4, 5]]) == "13")
        #expect(try render("{{range 3}}{{.}}{{end}}", [String: Any]()) == "012")
        #expect(try render("{{range $p, $conf := .Ports}}{{$p}}->{{(index $conf 0).HostPort}} {{end}}",
            jsonValue(#"{"Ports":{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}],"443/tcp":[{"HostPort":"8443"}]}}"#))
            == "443/tcp->8443 80/tcp->8080 ")
        #expect(failure { _ = try render("{{range .S}}{{end}}", ["S": "abc"]) }
            == #"template: :1:8: executing "" at <.S>: range can't iterate over abc"#)
    }

    @Test func parseErrors() {
        #expect(failure { _ = try GoTemplate("{{foo}}") } == #"template: :1: function "foo" not defined"#)
        #expect(failure { _ = try GoTemplate("a\nb {{.X | bar}}") } == #"template: :2: function "bar" not defined"#)
        #expect(failure { _ = try GoTemplate("{{.A") } == "template: :1: unclosed action")
        #expect(failure { _ = try GoTemplate("{{if .A}}x") } == "template: :1: unexpected EOF")
        #expect(failure { _ = try GoTemplate("{{end}}") } == "template: :1: unexpected {{end}}")
        #expect(failure { _ = try GoTemplate("{{else}}") } == "template: :1: unexpected {{else}}")
        #expect(failure { _ = try GoTemplate("{{$x}}") } == #"template: :1: undefined variable "$x""#)
        #expect(failure { _ = try GoTemplate("{{}}") } == "template: :1: missing value for command")
        #expect(failure { _ = try GoTemplate("{{if}}{{end}}") } == "template: :1: missing value for if")
        #expect(failure { _ = try GoTemplate(#"{{"abc}}"#) } == "template: :1: unterminated quoted string")
        #expect(failure { _ = try GoTemplate("{{(.A}}") } == "template: :1: unclosed left paren")
        #expect(failure { _ = try GoTemplate("{{.A | 3}}") } == "template: :1: non executable command in pipeline stage 2")
        #expect(failure { _ = try GoTemplate("{{break}}") } == "template: :1: {{break}} outside {{range}}")
        #expect(failure { _ = try GoTemplate("{{3x}}") } == #"template: :1: bad number syntax: "3x""#)
        #expect(failure { _ = try GoTemplate("{{.A}}{{.B )}}") } == #"template: :1: unexpected right paren"#)
    }
}

@Suite struct TemplateFunctionTests {
    @Test func json() throws {
        let doc = #"{"b":[1,"x",null,true],"a":"<&> a/b \"q\"\n","c":{"z":1.5,"y":1e-7,"w":1e21,"v":12345678}}"#
        #expect(try renderJSON("{{json .}}", doc)
            == #"{"a":"<&> a/b \"q\"\n","b":[1,"x",null,true],"c":{"v":12345678,"w":1e+21,"y":1e-7,"z":1.5}}"#)
        #expect(try renderJSON("{{json .Missing}}", doc) == "null")
        #expect(try renderJSON("{{json .b}}", doc) == #"[1,"x",null,true]"#)
        #expect(try render("{{json .}}", ["s": "tab\there\u{1}\u{2028}"]) == #"{"s":"tab\there\u0001\u2028"}"#)
        #expect(try render("{{json .}}", [String: Any]()) == "{}")
        #expect(try render("{{json .}}", ["D": 100_000_000.0]) == #"{"D":100000000}"#)
    }

    @Test func joinSplit() throws {
        #expect(try render(#"{{join .L ", "}}"#, ["L": ["a", "b", "c"]]) == "a, b, c")
        #expect(try render(#"{{split .S ":"}}"#, ["S": "a:b::c"]) == "[a b  c]")
        #expect(try render(#"{{len (split "" ",")}}"#, [String: Any]()) == "1")
        #expect(failure { _ = try render(#"{{join .S ","}}"#, ["S": "abc"]) }
            == #"template: :1:7: executing "" at <.S>: wrong type for value; expected []string; got string"#)
    }

    @Test func index() throws {
        let doc = jsonValue(#"{"Config":{"Labels":{"com.docker.compose.project":"demo"}},"L":["a","b"],"M":{"k":null}}"#)
        #expect(try render(#"{{index .Config.Labels "com.docker.compose.project"}}"#, doc) == "demo")
        // A missing label is the string map's zero value, as with docker's map[string]string.
        #expect(try render(#"[{{index .Config.Labels "missing"}}]"#, doc) == "[]")
        #expect(try render(#"{{index .L 1}}"#, doc) == "b")
        #expect(try render(#"{{index . "L" 0}}"#, doc) == "a")
        #expect(try render(#"{{index .M "k"}}"#, doc) == "<no value>")
        #expect(failure { _ = try render(#"{{index .L 5}}"#, doc) }
            == #"template: :1:2: executing "" at <index .L 5>: error calling index: index out of range: 5"#)
        #expect(failure { _ = try render(#"{{index .Nope "x"}}"#, doc) }
            == #"template: :1:2: executing "" at <index .Nope "x">: error calling index: index of untyped nil"#)
    }

    @Test func stringFunctions() throws {
        #expect(try render("{{len .S}} {{len .L}} {{len .M}}", ["S": "héllo", "L": [1, 2], "M": ["a": 1]] as [String: Any]) == "6 2 1")
        #expect(try render("{{lower .S}} {{upper .S}}", ["S": "MiXed"]) == "mixed MIXED")
        #expect(try render("{{title .S}}", ["S": "hello world-foo bar_baz"]) == "Hello World-Foo Bar_baz")
        #expect(try render(#"[{{pad .S 2 1}}][{{pad .E 2 1}}]"#, ["S": "x", "E": ""]) == "[  x ][]")
        #expect(try render("{{truncate .S 3}}|{{truncate .S 10}}", ["S": "abcdef"]) == "abc|abcdef")
        #expect(try render("{{slice .S 1 3}} {{slice .L 1}}", ["S": "abcdef", "L": ["a", "b", "c"]] as [String: Any]) == "bc [b c]")
        #expect(failure { _ = try render("{{upper .N}}", ["N": 5]) }
            == #"template: :1:8: executing "" at <.N>: wrong type for value; expected string; got int"#)
        #expect(failure { _ = try render("{{upper .Missing}}", [String: Any]()) }
            == #"template: :1:8: executing "" at <.Missing>: invalid value; expected string"#)
        #expect(failure { _ = try render("{{len .A .B}}", ["A": "x", "B": "y"]) }
            == #"template: :1:2: executing "" at <len>: wrong number of args for len: want 1 got 2"#)
    }

    @Test func printf() throws {
        #expect(try render(#"{{printf "%-10s|" .S}}"#, ["S": "ab"]) == "ab        |")
        #expect(try render(#"{{printf "%10s|" .S}}"#, ["S": "ab"]) == "        ab|")
        #expect(try render(#"{{printf "%5d|%-5d|%05d|%+d" .N .N .N .N}}"#, ["N": 42]) == "   42|42   |00042|+42")
        #expect(try render(#"{{printf "%.2f %.1f %f" .F .F .F}}"#, ["F": 3.14159]) == "3.14 3.1 3.141590")
        #expect(try render(#"{{printf "%q" .S}}"#, ["S": "a\"b\n"]) == #""a\"b\n""#)
        #expect(try render(#"{{printf "%v %v %v" .L .M .B}}"#, ["L": ["a", "b"], "M": ["k": 1], "B": true] as [String: Any])
            == "[a b] map[k:1] true")
        #expect(try render(#"{{printf "%s:%d" .S .N}}"#, ["S": "port", "N": 80] as [String: Any]) == "port:80")
        #expect(try render(#"{{printf "%x %X %c %%" .N .N .C}}"#, ["N": 255, "C": 65]) == "ff FF A %")
        #expect(try render(#"{{printf "%.3s" .S}}"#, ["S": "abcdef"]) == "abc")
        #expect(try render(#"{{printf "%v %g" .F .F}}"#, ["F": 12_345_678.0]) == "1.2345678e+07 1.2345678e+07")
        #expect(try render(#"{{printf "%d" .S}}"#, ["S": "x"]) == "%!d(string=x)")
        #expect(try render(#"{{printf "%s %s" .S}}"#, ["S": "x"]) == "x %!s(MISSING)")
        #expect(try render(#"{{printf "%s" .S .S}}"#, ["S": "x"]) == "x%!(EXTRA string=x)")
        #expect(try render(#"{{printf "%s" .N}}"#, ["N": 1]) == "%!s(int=1)")
        #expect(try render(#"{{printf "%d" .Missing}}"#, [String: Any]()) == "%!d(<nil>)")
        #expect(try render(#"{{printf "%6.2f|%-8v|%08.3f|%e|%g" 3.14159 "ab" -3.14159 1234.5678 0.000012}}"#, [String: Any]())
            == "  3.14|ab      |-003.142|1.234568e+03|1.2e-05")
        #expect(try render(#"{{printf "%t %v" true nil}}|{{printf "%s" (split "a,b" ",")}}|{{printf "%q" (split "a,b" ",")}}"#, [String: Any]())
            == #"true <nil>|[a b]|["a" "b"]"#)
    }

    @Test func argumentErrorsPointAtTheArgument() {
        // Messages as docker 28 prints them.
        #expect(failure { _ = try render("{{upper 5}}", [String: Any]()) } == #"template: :1:8: executing "" at <5>: expected string; found 5"#)
        #expect(failure { _ = try render(#"{{join "abc" ","}}"#, [String: Any]()) }
            == #"template: :1:7: executing "" at <"abc">: can't handle "abc" for arg of type []string"#)
        #expect(failure { _ = try render(#"{{len (index (split "a,b" ",") 5)}}"#, [String: Any]()) }
            == #"template: :1:7: executing "" at <index (split "a,b" ",") 5>: error calling index: index out of range: 5"#)
        #expect(failure { _ = try render(#"{{index (split "a,b" ",") "x"}}"#, [String: Any]()) }
            == #"template: :1:2: executing "" at <index (split "a,b" ",") "x">: error calling index: cannot index slice/array with type string"#)
    }

    @Test func printAndPrintln() throws {
        #expect(try render(#"{{print "a" 1 2 "b" .X}}"#, ["X": true]) == "a1 2btrue")
        #expect(try render(#"{{print .A .B}}"#, ["A": 1, "B": 2]) == "1 2")
        #expect(try render(#"{{println "a" 1}}"#, [String: Any]()) == "a 1\n")
    }

    @Test func comparisons() throws {
        #expect(try render(#"{{eq .S "a"}} {{eq .S "b" "a"}} {{ne .S "a"}}"#, ["S": "a"]) == "true true false")
        #expect(try render("{{eq .N 1}} {{lt .N 2}} {{le .N 1}} {{gt .N 1}} {{ge .N 1}}", ["N": 1]) == "true true true false true")
        #expect(try render("{{eq .F 1}} {{lt .F 2}}", ["F": 1.0]) == "true true")
        #expect(try render(#"{{lt "a" "b"}} {{eq .Missing "x"}}"#, [String: Any]()) == "true false")
        #expect(try renderJSON("{{eq .ExitCode 0}}", #"{"ExitCode":0}"#) == "true")
        #expect(try render("{{eq .B true}}", ["B": true]) == "true")
        #expect(failure { _ = try render(#"{{eq .S 1}}"#, ["S": "a"]) }
            == #"template: :1:2: executing "" at <eq .S 1>: error calling eq: incompatible types for comparison"#)
        #expect(failure { _ = try render(#"{{lt true false}}"#, [String: Any]()) }
            == #"template: :1:2: executing "" at <lt true false>: error calling lt: invalid type for comparison"#)
    }

    @Test func logic() throws {
        #expect(try render(#"{{and .A .B}}|{{and .A .C}}|{{or .C .A}}|{{or .C .D}}"#, ["A": "a", "B": "b", "C": "", "D": 0] as [String: Any])
            == "b||a|0")
        #expect(try render("{{not .A}} {{not .C}}", ["A": "a", "C": ""]) == "false true")
        #expect(try render("{{if and .A (not .C)}}yes{{end}}", ["A": "a", "C": ""]) == "yes")
        // and/or stop at the deciding argument: the error in the second is never reached.
        #expect(try render("{{or .A .A.B.C}}", ["A": "a"]) == "a")
        #expect(try render(#"{{or .Missing "default"}}"#, [String: Any]()) == "default")
    }

    @Test func headerModeKeepsNames() throws {
        let t = try GoTemplate(#"{{upper .A}}|{{json .B}}|{{truncate .C 2}}|{{join .D ","}}|{{pad .E 1 1}}"#)
        #expect(try t.renderHeader(["A": "Name", "B": "LABELS", "C": "STATUS", "D": "NETWORKS", "E": "X"])
            == "Name|LABELS|STATUS|NETWORKS| X ")
        #expect(t.referencedFields == ["A", "B", "C", "D", "E"])
    }
}
