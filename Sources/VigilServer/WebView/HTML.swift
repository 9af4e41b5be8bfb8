import Foundation

/// Small helpers for the server-rendered pages: escaping, the page frame, tables.
enum HTML {
    /// Text made safe for HTML content and attribute values.
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// A whole page: title, navigation (unless `standalone`), body. No scripts: everything reads
    /// without JavaScript.
    static func page(title: String, principal: String?, body: String, standalone: Bool = false) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title)) · Vigil</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1b1f24}nav a{margin-right:1rem}
        table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border-bottom:1px solid #d0d7de;padding:.25rem .6rem;text-align:left;vertical-align:top}
        th{background:#f6f8fa}.state-failed,.state-rolled_back{color:#cf222e}.state-succeeded,.state-promoted{color:#1a7f37}
        .muted{color:#57606a}svg{background:#fff;border:1px solid #d0d7de}
        </style></head>
        <body>\(standalone ? "" : navigation(principal: principal))
        <h1>\(escape(title))</h1>
        \(body)
        </body></html>
        """
    }

    static func navigation(principal: String?) -> String {
        "<nav><strong>Vigil</strong> <a href=\"/ui/runs\">Runs</a><a href=\"/ui/alerts\">Open alerts</a><a href=\"/ui/approvals\">Approvals</a><a href=\"/ui/models\">Models</a>"
            + (principal.map { "<span class=\"muted\">signed in as \(escape($0))</span>" } ?? "") + "</nav>"
    }

    /// A table: a header row, then rows of already-escaped cells.
    static func table(_ header: [String], _ rows: [[String]], id: String? = nil) -> String {
        let head = header.map { "<th>\(escape($0))</th>" }.joined()
        let body = rows.map { "<tr>" + $0.map { "<td>\($0)</td>" }.joined() + "</tr>" }.joined(separator: "\n")
        return "<table\(id.map { " id=\"\($0)\"" } ?? "")><thead><tr>\(head)</tr></thead><tbody>\n\(body)\n</tbody></table>"
    }

    static func time(_ date: Date?) -> String {
        guard let date else { return "" }
        return escape(ISO8601DateFormatter().string(from: date))
    }
}
