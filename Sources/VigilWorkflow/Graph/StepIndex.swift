/// A workflow's steps by name, with the `needs` graph as adjacency lists: what the checks and
/// renderings ask of the graph, each in time linear in steps and edges.
struct StepIndex {
    let steps: [StepSpec]
    /// A step's position in the file, by name (the first, when a name repeats).
    let positions: [String: Int]

    init(_ steps: [StepSpec]) {
        self.steps = steps
        positions = Dictionary(steps.enumerated().map { ($0.element.name, $0.offset) }) { first, _ in first }
    }

    subscript(name: String) -> StepSpec? { positions[name].map { steps[$0] } }

    func contains(_ name: String) -> Bool { positions[name] != nil }

    /// Whether `ancestor` is among the steps `step` needs, directly or through others: a search
    /// that stops when it finds it, so a direct need costs one look.
    func isUpstream(_ ancestor: String, of step: String) -> Bool {
        guard let start = self[step] else { return false }
        if start.needs.contains(ancestor) { return true }
        var seen: Set<String> = [step]
        var stack = start.needs
        while let next = stack.popLast() {
            guard seen.insert(next).inserted else { continue }
            if next == ancestor { return true }
            stack += self[next]?.needs ?? []
        }
        return false
    }

    /// The first cycle in `needs`, as the path of names that closes it (first name repeated at
    /// the end), found by an iterative depth-first search, so a chain of any length fits the stack.
    func firstCycle() -> [String]? {
        var state = [UInt8](repeating: 0, count: steps.count)  // 0 new, 1 on the path, 2 done
        for root in steps.indices where state[root] == 0 {
            var path: [(step: Int, next: Int)] = [(root, 0)]
            state[root] = 1
            while let (step, next) = path.last {
                let needs = steps[step].needs
                guard next < needs.count else {
                    state[step] = 2
                    path.removeLast()
                    continue
                }
                path[path.count - 1].next += 1
                guard let need = positions[needs[next]], need != step else { continue }
                if state[need] == 1 {
                    let start = path.firstIndex { $0.step == need }!
                    return path[start...].map { steps[$0.step].name } + [steps[need].name]
                }
                if state[need] == 0 {
                    state[need] = 1
                    path.append((need, 0))
                }
            }
        }
        return nil
    }

    /// Steps in an order where every step comes after the steps it needs, file order among those
    /// that are ready together (Kahn's algorithm with a heap on file position). Steps on a cycle
    /// are left out.
    func topologicalOrder() -> [StepSpec] {
        var waiting = [Int](repeating: 0, count: steps.count)
        var dependents = [[Int]](repeating: [], count: steps.count)
        for (index, step) in steps.enumerated() {
            for need in Set(step.needs) {
                guard let position = positions[need], position != index else { continue }
                waiting[index] += 1
                dependents[position].append(index)
            }
        }
        var ready = MinHeap(steps.indices.filter { waiting[$0] == 0 })
        var order: [StepSpec] = []
        order.reserveCapacity(steps.count)
        while let next = ready.pop() {
            order.append(steps[next])
            for dependent in dependents[next] {
                waiting[dependent] -= 1
                if waiting[dependent] == 0 { ready.push(dependent) }
            }
        }
        return order
    }
}

/// A binary min-heap of positions.
private struct MinHeap {
    private var items: [Int] = []

    init(_ items: [Int]) {
        for item in items { push(item) }
    }

    mutating func push(_ item: Int) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Int? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        guard !items.isEmpty else { return top }
        items[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < items.count, items[left] < items[smallest] { smallest = left }
            if right < items.count, items[right] < items[smallest] { smallest = right }
            guard smallest != parent else { return top }
            items.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
