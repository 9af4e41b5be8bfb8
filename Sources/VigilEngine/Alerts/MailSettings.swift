import Foundation

/// An e-mail channel's server, sender, recipients and credentials.
///
/// ```yaml
/// channels:
///   risk-mail:
///     type: email
///     url: smtp://mail.example.com:587        # smtps://…:465 for TLS from the first byte
///     from: vigil@example.com
///     to: [risk@example.com, mlops@example.com]
///     username: vigil
///     password: "${SMTP_PASSWORD}"
///     ca_file: /etc/ssl/private-ca.pem        # optional: a private CA to trust
/// ```
public struct MailSettings: Sendable, Equatable {
    /// How the connection to the SMTP server is protected.
    public enum Security: String, Sendable, CaseIterable {
        /// Plain TCP, upgraded with `STARTTLS` before anything else is said; a server that does
        /// not offer it gets nothing. The default for `smtp://`.
        case starttls
        /// TLS from the first byte (SMTPS). What `smtps://` means.
        case tls
        /// No encryption at all: for a relay on the same host or network only, and never with a
        /// password (`tls: none`).
        case none
    }

    public var host: String
    public var port: Int
    public var security: Security
    /// The envelope sender and the `From:` header.
    public var from: String
    public var recipients: [String]
    /// The login for `AUTH` (PLAIN, or LOGIN when that is all the server offers); the password
    /// is the channel's secret.
    public var username: String?
    /// A PEM file of CA certificates to trust instead of the system's.
    public var trustedCertificates: String?

    public init(host: String, port: Int, security: Security = .starttls, from: String, recipients: [String], username: String? = nil, trustedCertificates: String? = nil) {
        self.host = host
        self.port = port
        self.security = security
        self.from = from
        self.recipients = recipients
        self.username = username
        self.trustedCertificates = trustedCertificates
    }

    /// The domain of the sender's address, for `Message-ID`s.
    var senderDomain: String {
        from.split(separator: "@").last.map(String.init) ?? "vigil.local"
    }

    /// Whether `address` can go into an envelope and a header as it is: one `local@domain`, with
    /// no spaces, angle brackets, commas or line breaks that could smuggle in another header or
    /// recipient.
    static func isPlainAddress(_ address: String) -> Bool {
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty && address.utf8.count <= 254
            && address.unicodeScalars.allSatisfy { $0.value > 32 && $0.value < 127 && !"<>,;:\"()[]\\".unicodeScalars.contains($0) }
    }
}
