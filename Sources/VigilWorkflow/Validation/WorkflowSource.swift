/// Where each part of a step was written, kept beside the spec so later checks can point at it.
struct StepSource {
    var nameLocation: SourceLocation
    var usesLocation: SourceLocation?
    var needs: [(name: String, location: SourceLocation)] = []
    var condition: YAMLNode.Scalar?
    var with: [YAMLNode.Entry] = []
    var withLocation: SourceLocation?
    var approvalRoles: [(name: String, location: SourceLocation)] = []
}

extension YAMLNode.Scalar {
    /// The location of character `offset` of the scalar's text, exact for one-line scalars.
    func location(ofCharacter offset: Int) -> SourceLocation {
        guard !text.contains("\n") else { return location }
        return location.advanced(by: offset + (isQuoted ? 1 : 0))
    }
}
