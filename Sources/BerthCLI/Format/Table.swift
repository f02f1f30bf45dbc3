/// Go's text/tabwriter as docker's formatter configures it (`tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`):
/// tab-terminated cells of consecutive lines form a column block, padded to the widest cell plus
/// `padding` and at least `minWidth`; the last cell of a line is not padded. Widths are display
/// columns (docker's fork measures with go-runewidth: East Asian wide characters count two).
public struct TableWriter: Sendable {
    public var minWidth: Int
    public var tabWidth: Int
    public var padding: Int
    public var padChar: Character

    public init(minWidth: Int = 10, tabWidth: Int = 1, padding: Int = 3, padChar: Character = " ") {
        self.minWidth = minWidth
        self.tabWidth = tabWidth
        self.padding = padding
        self.padChar = padChar
    }

    struct Cell {
        var text: String
        var width: Int
        var htab: Bool
    }

    /// Aligns `text` (cells end with `\t`, lines with `\n`) and returns it.
    public func format(_ text: String) -> String {
        var lines: [[Cell]] = [[]]
        var current = String.UnicodeScalarView()
        func terminate(htab: Bool) {
            let s = String(current)
            lines[lines.count - 1].append(Cell(text: s, width: displayWidth(s), htab: htab))
            current = String.UnicodeScalarView()
        }
        for u in text.unicodeScalars {
            switch u {
            case "\t", "\u{0B}": terminate(htab: u == "\t")
            case "\n", "\u{0C}": terminate(htab: false); lines.append([])
            default: current.append(u)
            }
        }
        if !current.isEmpty { terminate(htab: false) }

        var out = ""
        var widths: [Int] = []

        func writePadding(_ textWidth: Int, _ cellWidth: Int) {
            if padChar == "\t" {
                guard tabWidth > 0 else { return }
                let rounded = (cellWidth + tabWidth - 1) / tabWidth * tabWidth
                out += String(repeating: "\t", count: (rounded - textWidth + tabWidth - 1) / tabWidth)
            } else {
                out += String(repeating: padChar, count: max(cellWidth - textWidth, 0))
            }
        }
        func writeLines(_ line0: Int, _ line1: Int) {
            for i in line0..<line1 {
                for (j, c) in lines[i].enumerated() {
                    out += c.text
                    if j < widths.count { writePadding(c.width, widths[j]) }
                }
                if i + 1 < lines.count { out += "\n" }
            }
        }
        // Go's recursive column-block formatter, cell by cell.
        func format(_ start: Int, _ line1: Int) {
            var line0 = start
            let column = widths.count
            var this = line0
            while this < line1 {
                if column >= lines[this].count - 1 { this += 1; continue }
                writeLines(line0, this)
                line0 = this
                var width = minWidth
                while this < line1 {
                    let line = lines[this]
                    if column >= line.count - 1 { break }
                    width = max(width, line[column].width + padding)
                    this += 1
                }
                widths.append(width)
                format(line0, this)
                widths.removeLast()
                line0 = this
            }
            writeLines(line0, line1)
        }
        format(0, lines.count)
        return out
    }
}

/// Display columns of `s`: one per character, two for East Asian wide and fullwidth characters
/// and wide emoji (what go-runewidth counts for docker's tables).
func displayWidth(_ s: String) -> Int {
    var width = 0
    for ch in s {
        guard let u = ch.unicodeScalars.first?.value else { continue }
        switch u {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
            0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
            0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD:
            width += 2
        default:
            width += 1
        }
    }
    return width
}
