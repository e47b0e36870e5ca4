/// Why a message was not accepted. Every case is a reason to drop or answer FORMERR, never to crash.
public enum WireError: Error, Equatable, Sendable {
    case truncated
    case labelTooLong
    case nameTooLong
    case badPointer
    case badLabelType
    case trailingBytes
    case duplicateOPT
    case badOPT
    case notAResponse
    case idMismatch
    case questionMismatch
    case ldns(String)
}
