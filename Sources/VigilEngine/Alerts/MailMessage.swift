import Foundation

/// One e-mail as it goes over SMTP: RFC 5322 headers and a `multipart/alternative` body with a
/// plain-text and an HTML part, each UTF-8 in base64, lines ending in CRLF.
struct MailMessage: Sendable {
    var from: String
    var recipients: [String]
    var subject: String
    /// This message's `Message-ID`, without the angle brackets.
    var messageID: String
    /// The message this one follows in its thread (`In-Reply-To` and `References`), if any.
    var thread: String?
    var date: Date
    var text: String
    var html: String
    /// Further headers (`X-Vigil-…`); names and values are ASCII without line breaks.
    var extraHeaders: [(String, String)] = []

    /// The message's bytes, as the `DATA` command sends them before dot-stuffing.
    func rendered() -> [UInt8] {
        // Base64 lines never hold "=_", so no part can contain the boundary.
        let boundary = "=_vigil_alternative"
        var headers: [(String, String)] = [
            ("From", from), ("To", recipients.joined(separator: ", ")), ("Subject", Self.encodedWord(subject)),
            ("Date", Self.dateText(date)), ("Message-ID", "<\(messageID)>"),
        ]
        if let thread { headers += [("In-Reply-To", "<\(thread)>"), ("References", "<\(thread)>")] }
        headers += extraHeaders.map { ($0.0, Self.singleLine($0.1)) }
        headers += [("MIME-Version", "1.0"), ("Content-Type", "multipart/alternative; boundary=\"\(boundary)\"")]
        var lines = headers.map { "\($0.0): \($0.1)" }
        lines.append("")
        for (type, content) in [("text/plain", text), ("text/html", html)] {
            lines += ["--\(boundary)", "Content-Type: \(type); charset=utf-8", "Content-Transfer-Encoding: base64", ""]
            lines += Self.base64Lines(content)
        }
        lines.append("--\(boundary)--")
        return Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    /// `text` as one header line: ASCII as it is, anything else as an RFC 2047 encoded word.
    static func encodedWord(_ text: String) -> String {
        let line = singleLine(text)
        guard !line.unicodeScalars.allSatisfy({ $0.isASCII }) else { return line }
        return "=?UTF-8?B?\(Data(line.utf8).base64EncodedString())?="
    }

    /// `text` with every line break and control character turned into a space, so nothing in it
    /// can start a header of its own.
    static func singleLine(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
    }

    /// Base64 of `text`'s UTF-8, in lines of 76 characters.
    static func base64Lines(_ text: String) -> [String] {
        let encoded = Data(text.utf8).base64EncodedString()
        return stride(from: 0, to: encoded.count, by: 76).map { start in
            let from = encoded.index(encoded.startIndex, offsetBy: start)
            return String(encoded[from..<(encoded.index(from, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex)])
        }
    }

    /// An RFC 5322 date in UTC: `Sun, 06 Dec 2026 01:23:54 +0000`.
    static func dateText(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}
