/// The type of a workflow parameter or a step type's parameter.
public enum ParameterType: String, Sendable, Hashable, Codable, CaseIterable {
    case string, number, integer, boolean, duration, list, object, any

    /// Whether `value` is of this type.
    public func accepts(_ value: JSONValue) -> Bool {
        switch (self, value) {
        case (.any, _): true
        case (.string, .string), (.number, .number), (.boolean, .bool), (.list, .array), (.object, .object): true
        case let (.integer, .number(number)): number == number.rounded()
        case let (.duration, .string(text)): WorkflowDuration(text) != nil
        case let (.duration, .number(seconds)): seconds >= 0 && seconds <= WorkflowDuration.maximum.seconds
        default: false
        }
    }
}
