extension Int {
    /// "1 mapper", "3 mappers": the count followed by the noun, pluralised with an "s".
    func counted(_ noun: String) -> String {
        "\(self) \(noun)\(self == 1 ? "" : "s")"
    }
}
