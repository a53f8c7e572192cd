/// Receives a connection's events on its event loop.
protocol ConnectionDelegate: AnyObject, Sendable {
    func connectionDidBecomeActive(_ connection: Connection)
    func connection(_ connection: Connection, didReceive frame: Frame)
    func connectionDidCompleteRead(_ connection: Connection)
    func connectionDidClose(_ connection: Connection)
}
