import ArgumentParser

extension RouterStateMachine.Ordering: ExpressibleByArgument {}
