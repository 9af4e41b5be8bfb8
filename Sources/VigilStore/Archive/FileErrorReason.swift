import Foundation

/// The system's reason for a failed file operation, such as "Not a directory" or "No space left
/// on device": Foundation's own message on Linux names only its error domain and code.
public func fileErrorReason(_ error: any Error) -> String {
    let nsError = error as NSError
    let underlying = (nsError.userInfo[NSUnderlyingErrorKey] as? any Error).map { $0 as NSError }
    for candidate in [underlying, nsError].compactMap({ $0 }) where candidate.domain == NSPOSIXErrorDomain {
        if let code = Int32(exactly: candidate.code) { return String(cString: strerror(code)) }
    }
    return "\(error)"
}
