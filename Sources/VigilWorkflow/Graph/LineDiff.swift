/// A unified diff of two texts, line by line (longest common subsequence).
public enum LineDiff {
    /// `--- a` / `+++ b` headers and hunks with `context` lines around each change; empty when equal.
    public static func unified(_ old: String, _ new: String, oldName: String, newName: String, context: Int = 3) -> String {
        let a = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let operations = diff(a, b)
        guard operations.contains(where: { $0.kind != " " }) else { return "" }
        var output = "--- \(oldName)\n+++ \(newName)\n"
        var index = 0
        while index < operations.count {
            guard let firstChange = operations[index...].firstIndex(where: { $0.kind != " " }) else { break }
            let start = max(index, firstChange - context)
            var end = firstChange
            while end < operations.count {
                if operations[end].kind != " " {
                    end += 1
                    continue
                }
                let nextChange = operations[end...].firstIndex { $0.kind != " " } ?? operations.count
                if nextChange - end > 2 * context || nextChange == operations.count {
                    end = min(operations.count, end + context)
                    break
                }
                end = nextChange
            }
            let hunk = operations[start..<end]
            let oldStart = (hunk.first?.oldLine ?? 0) + 1, newStart = (hunk.first?.newLine ?? 0) + 1
            let oldCount = hunk.filter { $0.kind != "+" }.count, newCount = hunk.filter { $0.kind != "-" }.count
            output += "@@ -\(oldStart),\(oldCount) +\(newStart),\(newCount) @@\n"
            for operation in hunk { output += "\(operation.kind)\(operation.text)\n" }
            index = end
        }
        return output
    }

    struct Operation {
        let kind: Character
        let text: String
        let oldLine: Int
        let newLine: Int
    }

    static func diff(_ a: [String], _ b: [String]) -> [Operation] {
        var lengths = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                lengths[i][j] = a[i] == b[j] ? lengths[i + 1][j + 1] + 1 : max(lengths[i + 1][j], lengths[i][j + 1])
            }
        }
        var operations: [Operation] = []
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count, j < b.count, a[i] == b[j] {
                operations.append(Operation(kind: " ", text: a[i], oldLine: i, newLine: j))
                i += 1
                j += 1
            } else if j < b.count, i == a.count || lengths[i][j + 1] >= lengths[i + 1][j] {
                operations.append(Operation(kind: "+", text: b[j], oldLine: i, newLine: j))
                j += 1
            } else {
                operations.append(Operation(kind: "-", text: a[i], oldLine: i, newLine: j))
                i += 1
            }
        }
        return operations
    }
}
