/// Merges the Prometheus text expositions of several processes into one: each metric family
/// once, with its `# HELP` and `# TYPE`, followed by every process's samples of it.
///
/// Every ShardFlow process renders its own metrics (with swift-prometheus); the one scrape
/// endpoint of a host gathers them, and a family several processes export (the reducers'
/// `shardflow_reducer_items_processed_total{reducer="0"}`, `{reducer="1"}`, …) must appear as
/// one family. Help texts missing from an exposition come from `help` (metrics made through
/// the swift-metrics API carry none).
public struct ExpositionMerger: Sendable {
    struct Family: Sendable {
        var help: String?
        var type: String?
        var samples: [Substring] = []
    }

    private var families: [String: Family] = [:]
    private var order: [String] = []
    /// Help text by family name, for families whose exposition has none.
    public var help: [String: String]

    public init(help: [String: String] = [:]) {
        self.help = help
    }

    /// Adds one exposition (lines of `# HELP`, `# TYPE` and samples).
    public mutating func add(_ text: String) {
        var current: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                guard let name = parts.first.map(String.init) else { continue }
                let value = parts.count > 1 ? String(parts[1]) : ""
                touch(name)
                if line.hasPrefix("# HELP ") { families[name]!.help = families[name]!.help ?? value } else { families[name]!.type = families[name]!.type ?? value }
                current = name
            } else if line.hasPrefix("#") {
                continue
            } else {
                let name = Self.familyName(of: line, current: current)
                touch(name)
                families[name]!.samples.append(line)
            }
        }
    }

    /// The merged exposition.
    public func text() -> String {
        var output = ""
        for name in order {
            let family = families[name]!
            if let help = family.help ?? help[name] { output += "# HELP \(name) \(help)\n" }
            if let type = family.type { output += "# TYPE \(name) \(type)\n" }
            for sample in family.samples {
                output += sample
                output += "\n"
            }
        }
        return output
    }

    private mutating func touch(_ name: String) {
        if families[name] == nil {
            families[name] = Family()
            order.append(name)
        }
    }

    /// The family a sample line belongs to: the family of the last `# TYPE` when the sample is
    /// one of its series (a histogram's `_bucket`, `_sum`, `_count`), else its own name.
    static func familyName(of line: Substring, current: String?) -> String {
        let end = line.firstIndex { $0 == "{" || $0 == " " } ?? line.endIndex
        let name = String(line[..<end])
        if let current, name == current || name == current + "_bucket" || name == current + "_sum" || name == current + "_count" {
            return current
        }
        return name
    }
}
