import ArgumentParser

extension Extractor.Mode: ExpressibleByArgument {}

extension Extractor.KeySelector: ExpressibleByArgument {}
