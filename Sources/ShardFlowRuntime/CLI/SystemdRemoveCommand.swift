import ArgumentParser

/// `shardflow systemd remove`: stops the group (an ordered drain), disables every unit and
/// instance, removes the unit files, the sysusers and tmpfiles entries and /run/shardflow;
/// with `--purge` also the configuration, drop-ins, data and the system user.
public struct SystemdRemoveCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Stop and remove a group installed as systemd units.",
        discussion: """
            Keeps /etc/shardflow (your configuration and KCL properties), drop-ins in \
            /etc/systemd/system/shardflow*.d and /var/lib/shardflow (output, dead letters) unless \
            --purge is given, which also deletes the shardflow user. The streams' checkpoints \
            live in their KCL lease tables, not on this host. --dry-run prints the commands.
            """
    )

    @Flag(help: "Also remove the configuration, drop-ins, the data in /var/lib/shardflow and the shardflow user.")
    var purge = false

    @Flag(help: "Print what would be done, change nothing.")
    var dryRun = false

    @Option(help: .hidden)
    var root: String = "/"

    public init() {}

    public func run() throws {
        let host = SystemdHost(root: root, dryRun: dryRun)
        try host.run(["systemctl", "stop", "shardflow.target"], mayFail: true)
        let fixed = ["shardflow.target", "shardflow-router.socket", "shardflow-router.service", "shardflow-metrics.socket", "shardflow-metrics.service"]
        let units = Array(Set(host.enabledUnits() + fixed)).sorted()
        try host.run(["systemctl", "disable"] + units, mayFail: true)
        // Anything still running (started by hand, or a socket outside the target).
        try host.run(["systemctl", "stop", "shardflow*"], mayFail: true)
        for file in SystemdDeployment().units.map(\.path) { try host.remove("/etc/systemd/system/" + file) }
        try host.remove("/etc/systemd/system/shardflow.target.wants")
        try host.remove("/usr/lib/sysusers.d/shardflow.conf")
        try host.remove("/usr/lib/tmpfiles.d/shardflow.conf")
        if purge {
            for unit in SystemdDeployment().units.map(\.path) { try host.remove("/etc/systemd/system/\(unit).d") }
            for instance in units where instance.contains("@") { try host.remove("/etc/systemd/system/\(instance).d") }
        }
        try host.run(["systemctl", "daemon-reload"])
        try host.run(["systemctl", "reset-failed", "shardflow*"], mayFail: true)
        try host.remove("/run/shardflow")
        if purge {
            try host.remove("/etc/shardflow")
            try host.remove("/var/lib/shardflow")
            try host.run(["userdel", "shardflow"], mayFail: true)
            try host.run(["groupdel", "shardflow"], mayFail: true)
        } else {
            print("# kept /etc/shardflow and /var/lib/shardflow (and any drop-ins): --purge removes them and the shardflow user")
        }
        print(dryRun ? "# dry run: nothing was changed" : "# removed")
    }
}
