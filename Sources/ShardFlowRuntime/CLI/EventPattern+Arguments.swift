import ArgumentParser

extension EventPattern {
    /// Parses a `--filter` argument, with the reason when it cannot be used.
    public static func argument(_ text: String) throws -> EventPattern {
        do {
            return try EventPattern(text)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// Reads `--filter-file`: one pattern per line; empty lines and lines starting with `#` are
    /// skipped. An unusable pattern is an error naming the file and line.
    public static func patterns(inFile path: String) throws -> [EventPattern] {
        guard let bytes = try CheckpointStore.readFile(path) else {
            throw ValidationError("the filter file \(path) does not exist")
        }
        var patterns: [EventPattern] = []
        for (number, line) in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = line.trimmed
            guard !text.isEmpty, !text.hasPrefix("#") else { continue }
            do {
                patterns.append(try EventPattern(text))
            } catch {
                throw ValidationError("\(path):\(number + 1): \(error)")
            }
        }
        return patterns
    }
}
