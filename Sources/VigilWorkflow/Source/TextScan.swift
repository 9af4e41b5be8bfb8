import Foundation

/// A quick pass over a workflow file's text for what would make YAML parsing slow, deep or
/// exponential, so it can be refused with a position before the parser runs.
struct TextScan {
    let text: String
    let file: String

    func firstProblem() -> Diagnostic? {
        var line = 1
        var flowDepth = 0
        var quote: Character?
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            defer { line += 1 }
            var column = 0
            var atIndentation = quote == nil
            var previous: Character = " "
            var index = rawLine.startIndex
            while index < rawLine.endIndex {
                let character = rawLine[index]
                column += 1
                defer {
                    previous = character
                    index = rawLine.index(after: index)
                }
                if character == "\0" {
                    return Diagnostic(at(line, column), "the file holds a NUL byte; workflow files are text")
                }
                if let open = quote {
                    if character == open && !(open == "\"" && previous == "\\") { quote = nil }
                    continue
                }
                if atIndentation {
                    if character == " " || character == "-" || character == "?" || character == "\t" {
                        if column > YAMLLoader.Limits.maximumIndentation {
                            return Diagnostic(at(line, column), "nesting is deeper than \(YAMLLoader.Limits.maximumIndentation) columns of indentation")
                        }
                        continue
                    }
                    atIndentation = false
                }
                switch character {
                case "#" where previous == " " || previous == "\t" || column == 1:
                    index = rawLine.index(before: rawLine.endIndex)
                case "'" where isTokenStart(previous), "\"" where isTokenStart(previous):
                    quote = character
                case "[", "{":
                    flowDepth += 1
                    if flowDepth > YAMLLoader.Limits.maximumFlowDepth {
                        return Diagnostic(at(line, column), "nesting is deeper than \(YAMLLoader.Limits.maximumFlowDepth) levels")
                    }
                case "]", "}":
                    flowDepth = max(0, flowDepth - 1)
                case "*" where isTokenStart(previous):
                    if aliasIsKey(rawLine[rawLine.index(after: index)...], after: rawLine[..<index]) {
                        return Diagnostic(at(line, column), "an alias cannot be used as a mapping key")
                    }
                default:
                    break
                }
            }
        }
        return nil
    }

    private func at(_ line: Int, _ column: Int) -> SourceLocation {
        SourceLocation(file: file, line: line, column: column)
    }

    private func isTokenStart(_ previous: Character) -> Bool {
        previous == " " || previous == "\t" || previous == "[" || previous == "{" || previous == "," || previous == ":"
    }

    /// Whether `*name` is followed by `:` (an implicit key) or preceded by `? ` (an explicit key).
    private func aliasIsKey(_ rest: Substring, after before: Substring) -> Bool {
        let name = rest.prefix { !" \t,[]{}:".contains($0) }
        let following = rest.dropFirst(name.count).drop { $0 == " " || $0 == "\t" }
        if following.first == ":" { return true }
        return before.trimmingCharacters(in: .whitespaces).hasSuffix("?")
    }
}
