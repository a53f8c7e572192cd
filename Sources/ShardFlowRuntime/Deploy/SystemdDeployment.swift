/// The systemd units, configuration and commands for a ShardFlow group on one host: what
/// `shardflow systemd install` writes, and what `deploy/` holds for the default topology.
///
/// `--reducers N` means the same topology here as under the launcher: reducer template
/// instances `shardflow-reducer@0 … @N-1`, and mappers partitioning over N reducers. Local
/// changes belong in `/etc/shardflow/shardflow.conf` (kept when the units are written again) or
/// in drop-ins (`systemctl edit shardflow-router.service`), never in the generated units.
public struct SystemdDeployment: Sendable {
    public var reducers = 2
    public var mappers = 1
    /// Where the ShardFlow executables are installed.
    public var binDirectory = "/usr/local/bin"
    /// The system user every unit runs as.
    public var user = "shardflow"
    public var runtimeDirectory = "/run/shardflow"
    public var stateDirectory = "/var/lib/shardflow"
    public var configurationPath = "/etc/shardflow/shardflow.conf"
    public var processor = "jsonl:/var/lib/shardflow/output"
    /// Reducer options beyond the processor (batching, retries, dead letters, record age).
    public var reducerOptions = "--dead-letter /var/lib/shardflow/dead-letter"
    /// How records become items, and their key (the mappers' `--extract` and `--key`).
    public var extract = Extractor.Mode.record
    public var key = Extractor.KeySelector.partitionKey
    /// `--filter` patterns, written to ``filtersPath`` (one per line) when there are any.
    public var filters: [EventPattern] = []
    public var filtersPath = "/etc/shardflow/filters.jsonl"
    /// Whether each key's items keep their shard order (the router's `--ordering`).
    public var ordering = RouterStateMachine.Ordering.perKey
    /// Worker options (checkpoint interval, backpressure, stuck records).
    public var workerOptions = ""
    /// The streams: one `shardflow-kcl@<stream>.service` each, reading
    /// `/etc/shardflow/kcl-<stream>.properties`; items carry the stream's name.
    public var streams = ["main"]
    /// The daemon's main class; nil: the Kinesis one, or the DynamoDB Streams adapter's with
    /// `--extract dynamodb`.
    public var kclMainClass: String?
    public var kclClasspath = "/opt/amazon-kinesis-client/lib/*"
    /// Where `shardflow-metrics.socket` listens for Prometheus scrapes.
    public var metricsListen = "127.0.0.1:9464"
    public var java = "/usr/bin/java"
    public var logLevel = "info"

    public init() {}

    /// A generated file: its path relative to the installation root, and its text.
    public struct File: Sendable, Hashable {
        public var path: String
        public var contents: String
    }

    /// Unit files (for `/etc/systemd/system`).
    public var units: [File] {
        [
            File(path: "shardflow.target", contents: target),
            File(path: "shardflow-reducers.target", contents: orderingTarget(of: "reducers", stoppedAfter: "mappers")),
            File(path: "shardflow-mappers.target", contents: orderingTarget(of: "mappers", stoppedAfter: "the router")),
            File(path: "shardflow-router.socket", contents: routerSocket),
            File(path: "shardflow-router.service", contents: routerService),
            File(path: "shardflow-reducer@.socket", contents: reducerSocket),
            File(path: "shardflow-reducer@.service", contents: reducerService),
            File(path: "shardflow-mapper@.service", contents: mapperService),
            File(path: "shardflow-kcl@.service", contents: kclService),
            File(path: "shardflow-metrics.socket", contents: metricsSocket),
            File(path: "shardflow-metrics.service", contents: metricsService),
        ]
    }

    /// The files outside `/etc/systemd/system`, with their paths under an installation root
    /// (the configuration is the one a test compares with `deploy/` too).
    public var systemFiles: [File] {
        [
            File(path: "usr/lib/sysusers.d/shardflow.conf", contents: sysusers),
            File(path: "usr/lib/tmpfiles.d/shardflow.conf", contents: tmpfiles),
        ]
    }

    /// Every file, with its path under an installation root.
    public var files: [File] {
        units.map { File(path: "etc/systemd/system/" + $0.path, contents: $0.contents) } + [
            File(path: String(configurationPath.dropFirst()), contents: configuration),
        ] + systemFiles + (filters.isEmpty ? [] : [File(path: String(filtersPath.dropFirst()), contents: filtersFile)])
    }

    /// The `--filter-file` of the mappers.
    public var filtersFile: String {
        "# Event patterns (one per line): mappers process only items matching one of them.\n"
            + filters.map { $0.text.replacingNewlines() + "\n" }.joined()
    }

    /// Where stream `name`'s KCL properties go.
    public func propertiesPath(of stream: String) -> String { "/etc/shardflow/kcl-\(stream).properties" }

    /// The units `systemctl enable` takes for this topology.
    public var enabledUnits: [String] {
        ["shardflow.target", "shardflow-router.socket"]
            + (0..<reducers).map { "shardflow-reducer@\($0).socket" }
            + (0..<mappers).map { "shardflow-mapper@\($0).service" }
            + streams.map { "shardflow-kcl@\($0).service" }
            + ["shardflow-metrics.socket"]
    }

    /// The commands that enable and start this topology once the files are in place: each
    /// works pasted as it is, in this order.
    public var commands: [String] {
        [
            "systemd-sysusers /usr/lib/sysusers.d/shardflow.conf",
            "systemd-tmpfiles --create /usr/lib/tmpfiles.d/shardflow.conf",
        ] + streams.flatMap {
            [
                "# your KCL properties of stream \($0) (streamName, applicationName, regionName…), readable by \(user):",
                "install -m 0640 -g \(user) \($0).properties \(propertiesPath(of: $0))",
            ]
        } + [
            "systemctl daemon-reload",
            "systemctl enable " + enabledUnits.joined(separator: " "),
            "systemctl start shardflow.target",
            "# later: shardflow systemd scale --reducers N (--mappers M) changes the counts; shardflow systemd remove takes it all away",
        ]
    }

    private var mapperOptions: String {
        "--extract \(extract.rawValue) --key \(key)" + (filters.isEmpty ? "" : " --filter-file \(filtersPath)")
    }

    private var routerOptions: String { "--ordering \(ordering.rawValue) --mappers \(mappers)" }

    // MARK: Units

    private var target: String {
        """
        # ShardFlow: one group on this host — a router, reducers, mappers and the KCL
        # MultiLangDaemons whose shard workers feed them. Generated by `shardflow systemd`.
        # The units it starts are the ones enabled into it (shardflow.target.wants/):
        #   systemctl enable shardflow-reducer@{0..N-1}.socket shardflow-mapper@{0..M-1}.service …
        # `systemctl stop shardflow.target` drains in order: the daemons (workers checkpoint what
        # is complete), then the router, the mappers, the reducers (each finishing what it holds).
        [Unit]
        Description=ShardFlow stream processing group
        Documentation=https://github.com/shardflow/shardflow/blob/main/docs/operations.md
        # The KCL daemons talk to Kinesis and DynamoDB. The two targets only order the stop.
        Wants=network-online.target shardflow-reducers.target shardflow-mappers.target
        After=network-online.target

        [Install]
        WantedBy=multi-user.target

        """
    }

    private func orderingTarget(of members: String, stoppedAfter before: String) -> String {
        """
        # Orders ShardFlow's \(members): on `systemctl stop shardflow.target` they stop only after \(before)
        # (it carries no units of its own).
        [Unit]
        Description=ShardFlow \(members) (stop order)
        PartOf=shardflow.target
        # No implicit ordering: shardflow.target wants it, and the default dependencies of a
        # target would order it after shardflow.target, a cycle through the mappers.
        DefaultDependencies=no

        """
    }

    private var routerSocket: String {
        """
        # The router's listening socket. systemd owns it, so workers and mappers that connect
        # while the router restarts wait in the backlog instead of failing.
        [Unit]
        Description=ShardFlow router socket
        PartOf=shardflow.target

        [Socket]
        ListenStream=\(runtimeDirectory)/router-0.sock
        # The name the router looks for in LISTEN_FDNAMES (sd_listen_fds_with_names).
        FileDescriptorName=router
        SocketUser=\(user)
        SocketGroup=\(user)
        # Only the ShardFlow user may connect; the router also checks SO_PEERCRED.
        SocketMode=0600
        DirectoryMode=0750
        # Room for connections made while the router restarts.
        Backlog=512

        [Install]
        WantedBy=shardflow.target

        """
    }

    private var routerService: String {
        """
        # The stage-router: workers (the KCL daemons' children) send records here, mappers pull
        # them. Started by its socket on the first connection.
        [Unit]
        Description=ShardFlow router
        Documentation=https://github.com/shardflow/shardflow/blob/main/docs/operations.md
        Requires=shardflow-router.socket
        # Stopped before the mappers (stop runs the start order backwards).
        After=shardflow-router.socket shardflow-mappers.target
        PartOf=shardflow.target
        # Give up restarting after 10 failures in 2 minutes (then: systemctl reset-failed).
        StartLimitIntervalSec=120
        StartLimitBurst=10

        [Service]
        # READY=1, STATUS= and WATCHDOG=1 come through sd_notify.
        Type=notify
        User=\(user)
        Group=\(user)
        EnvironmentFile=\(configurationPath)
        ExecStart=\(binDirectory)/shardflow-router --index 0 --runtime-dir ${SHARDFLOW_RUNTIME_DIR} --log-level ${SHARDFLOW_LOG_LEVEL} $SHARDFLOW_ROUTER_OPTIONS
        Restart=on-failure
        RestartSec=1s
        \(watchdog)
        # SIGTERM drains: workers are told to stop sending; queued records still go out.
        TimeoutStopSec=40s
        \(commonHardening)
        # Only Unix sockets: no network at all.
        RestrictAddressFamilies=AF_UNIX
        PrivateNetwork=yes
        IPAddressDeny=any
        MemoryDenyWriteExecute=yes

        [Install]
        WantedBy=shardflow.target

        """
    }

    private var reducerSocket: String {
        """
        # Reducer %i's listening socket (instance = reducer index, 0..N-1). Enable one instance
        # per reducer: systemctl enable --now shardflow-reducer@{0..N-1}.socket
        [Unit]
        Description=ShardFlow reducer %i socket
        PartOf=shardflow.target

        [Socket]
        ListenStream=\(runtimeDirectory)/reducer-%i.sock
        # The name the reducer looks for in LISTEN_FDNAMES.
        FileDescriptorName=reducer
        SocketUser=\(user)
        SocketGroup=\(user)
        SocketMode=0600
        DirectoryMode=0750
        # Mappers reconnect at once when the reducer restarts; they wait here meanwhile.
        Backlog=512

        [Install]
        WantedBy=shardflow.target

        """
    }

    private var reducerService: String {
        """
        # Reducer %i: processes the items whose key hashes to it, acknowledges each one back to
        # its shard's worker. Started by its socket.
        [Unit]
        Description=ShardFlow reducer %i
        Documentation=https://github.com/shardflow/shardflow/blob/main/docs/processors.md
        Requires=shardflow-reducer@%i.socket
        After=shardflow-reducer@%i.socket
        # Stopped after the mappers, so it finishes what they sent.
        Before=shardflow-reducers.target
        PartOf=shardflow.target
        StartLimitIntervalSec=120
        StartLimitBurst=10

        [Service]
        Type=notify
        User=\(user)
        Group=\(user)
        EnvironmentFile=\(configurationPath)
        # $SHARDFLOW_REDUCER_OPTIONS (unbraced) splits into several arguments.
        ExecStart=\(binDirectory)/shardflow-reducer --index %i --runtime-dir ${SHARDFLOW_RUNTIME_DIR} --processor ${SHARDFLOW_PROCESSOR} --log-level ${SHARDFLOW_LOG_LEVEL} $SHARDFLOW_REDUCER_OPTIONS
        Restart=on-failure
        RestartSec=1s
        \(watchdog)
        # SIGTERM drains: queued items are processed and acknowledged before exit.
        TimeoutStopSec=90s
        # SIGTERM the reducer only: an exec: processor child keeps serving the drain, and is
        # stopped by the reducer (then SIGKILLed with the rest if the timeout passes).
        KillMode=mixed
        # /var/lib/shardflow: jsonl: output and dead letters.
        StateDirectory=shardflow
        StateDirectoryMode=0750
        \(commonHardening)
        # An exec: processor runs under these settings too: no MemoryDenyWriteExecute (a JIT such
        # as node's needs it) and the network is allowed (add PrivateNetwork=yes in a drop-in when
        # your processor makes no calls). Widen RestrictAddressFamilies the same way if needed.
        RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6

        [Install]
        WantedBy=shardflow.target

        """
    }

    private var mapperService: String {
        """
        # Mapper %i: pulls records from the router, extracts items (KPL de-aggregation, lines,
        # DynamoDB changes…) and sends each to reducer partition(key, SHARDFLOW_REDUCERS). Enable
        # M instances: systemctl enable --now shardflow-mapper@{0..M-1}.service
        [Unit]
        Description=ShardFlow mapper %i
        Documentation=https://github.com/shardflow/shardflow/blob/main/docs/architecture.md
        # Connecting to the sockets starts the router and reducers.
        Wants=shardflow-router.socket
        # Stopped after the router and before the reducers.
        After=shardflow-router.socket sockets.target shardflow-reducers.target
        Before=shardflow-mappers.target
        PartOf=shardflow.target
        StartLimitIntervalSec=120
        StartLimitBurst=10

        [Service]
        # READY=1 once connected to every reducer (the router, started after it, comes next).
        Type=notify
        User=\(user)
        Group=\(user)
        EnvironmentFile=\(configurationPath)
        ExecStart=\(binDirectory)/shardflow-mapper --index %i --routers 1 --reducers ${SHARDFLOW_REDUCERS} --ready-on reducers --runtime-dir ${SHARDFLOW_RUNTIME_DIR} --log-level ${SHARDFLOW_LOG_LEVEL} $SHARDFLOW_MAPPER_OPTIONS
        Restart=on-failure
        RestartSec=1s
        \(watchdog)
        # Waiting for reducers that are still starting counts against this.
        TimeoutStartSec=60s
        TimeoutStopSec=20s
        \(commonHardening)
        RestrictAddressFamilies=AF_UNIX
        PrivateNetwork=yes
        IPAddressDeny=any
        MemoryDenyWriteExecute=yes

        [Install]
        WantedBy=shardflow.target

        """
    }

    private var metricsSocket: String {
        """
        # The group's Prometheus scrape endpoint: http://\(metricsListen)/metrics. systemd holds
        # the socket and starts shardflow-metrics.service on the first scrape. To listen
        # elsewhere, a drop-in (systemctl edit shardflow-metrics.socket):
        #   [Socket]
        #   ListenStream=
        #   ListenStream=HOST:PORT
        [Unit]
        Description=ShardFlow metrics socket
        PartOf=shardflow.target

        [Socket]
        ListenStream=\(metricsListen)
        # The name shardflow metrics looks for in LISTEN_FDNAMES.
        FileDescriptorName=metrics
        NoDelay=yes

        [Install]
        WantedBy=shardflow.target

        """
    }

    private var metricsService: String {
        """
        # Gathers every process's metrics from its control socket in ${SHARDFLOW_RUNTIME_DIR}/control
        # on each scrape, so the endpoint outlives any one of them. Started by its socket.
        [Unit]
        Description=ShardFlow metrics endpoint
        Documentation=https://github.com/shardflow/shardflow/blob/main/docs/operations.md#metrics-status-and-stuck-records
        Requires=shardflow-metrics.socket
        After=shardflow-metrics.socket
        PartOf=shardflow.target

        [Service]
        Type=notify
        User=\(user)
        Group=\(user)
        EnvironmentFile=\(configurationPath)
        ExecStart=\(binDirectory)/shardflow metrics --runtime-dir ${SHARDFLOW_RUNTIME_DIR} --log-level ${SHARDFLOW_LOG_LEVEL} $SHARDFLOW_METRICS_OPTIONS
        Restart=on-failure
        RestartSec=1s
        TimeoutAbortSec=5s
        \(commonHardening)
        # Scrapes arrive over TCP on the socket systemd passes; processes answer on Unix sockets.
        RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
        MemoryDenyWriteExecute=yes

        [Install]
        WantedBy=shardflow.target

        """
    }

    private var kclService: String {
        """
        # The Java KCL MultiLangDaemon of stream %i: takes shard leases (in DynamoDB) and runs one
        # shardflow-worker per leased shard, which feeds the router; every item carries the
        # stream's name %i. Reads \(propertiesPath(of: "%i")) (readable by \(user)). `shardflow
        # kcl` writes the properties the workers need next to yours and execs java. One instance
        # per stream: systemctl enable --now shardflow-kcl@orders.service shardflow-kcl@users.service
        [Unit]
        Description=ShardFlow KCL MultiLangDaemon of stream %i
        Documentation=https://github.com/shardflow/shardflow/blob/main/docs/operations.md
        Requires=shardflow-router.socket
        # Stopped first: its workers hand their shards back before the router drains.
        After=shardflow-router.socket shardflow-router.service network-online.target
        Wants=network-online.target
        PartOf=shardflow.target
        StartLimitIntervalSec=300
        StartLimitBurst=10

        [Service]
        # Java does not speak sd_notify; the service is up once java runs.
        Type=exec
        # Workers (java's children) report shard progress (STATUS=) to this unit.
        NotifyAccess=all
        User=\(user)
        Group=\(user)
        EnvironmentFile=\(configurationPath)
        ExecStart=\(binDirectory)/shardflow kcl --stream %i --properties \(propertiesPath(of: "%i")) --kcl-main-class ${SHARDFLOW_KCL_MAIN_CLASS} --kcl-classpath ${SHARDFLOW_KCL_CLASSPATH} --java ${SHARDFLOW_JAVA} --runtime-dir ${SHARDFLOW_RUNTIME_DIR} --routers 1 --log-level ${SHARDFLOW_LOG_LEVEL} $SHARDFLOW_WORKER_OPTIONS
        # The daemon exits whenever a worker fails (its design): restart it; it resumes from the
        # last checkpoints.
        Restart=on-failure
        RestartSec=5s
        # SIGTERM to java only: its shutdown hook sends shutdownRequested to every worker, which
        # checkpoints what is complete (shutdownGraceMillis) before the workers are ended.
        KillMode=mixed
        # The JVM exits 143 after its shutdown hook: a clean stop.
        SuccessExitStatus=143
        TimeoutStopSec=60s
        TimeoutAbortSec=5s
        # /var/lib/shardflow: the merged properties (shardflow-kcl-%i.properties).
        StateDirectory=shardflow
        StateDirectoryMode=0750
        \(hardening(strictSystemCalls: false))
        # The daemon reaches Kinesis, DynamoDB and CloudWatch; workers use the Unix socket.
        RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
        # No MemoryDenyWriteExecute: the JVM compiles code at run time.

        [Install]
        WantedBy=shardflow.target

        """
    }

    /// A hung process (it stops pinging) is aborted and restarted within about WatchdogSec plus
    /// TimeoutAbortSec; it is then killed, not traced (SWIFT_BACKTRACE below).
    private var watchdog: String {
        """
        # The process pings at half this interval; a hung one is sent SIGABRT, and SIGKILL
        # TimeoutAbortSec later, then restarted.
        WatchdogSec=30s
        TimeoutAbortSec=5s
        """
    }

    /// Sandboxing every ShardFlow unit shares.
    private var commonHardening: String { hardening(strictSystemCalls: true) }

    /// `strictSystemCalls: false` for java (the JVM adjusts its resource limits at start).
    private func hardening(strictSystemCalls: Bool) -> String {
        """
        # A crash prints Swift's fatal-error message (file and line) to the journal; the Swift
        # backtracer is off: it cannot start under MemoryDenyWriteExecute, and it would keep an
        # aborted process (the watchdog's SIGABRT) alive until its stop timeout.
        Environment=SWIFT_BACKTRACE=enable=no
        # /run/shardflow, owned by the ShardFlow user (also made at boot by tmpfiles.d), kept
        # across restarts (the sockets live there).
        RuntimeDirectory=shardflow
        RuntimeDirectoryMode=0750
        RuntimeDirectoryPreserve=yes
        UMask=0027
        NoNewPrivileges=yes
        CapabilityBoundingSet=
        AmbientCapabilities=
        # The file system is read-only but for the directories above.
        ProtectSystem=strict
        ProtectHome=yes
        PrivateTmp=yes
        PrivateDevices=yes
        DevicePolicy=closed
        ProtectKernelTunables=yes
        ProtectKernelModules=yes
        ProtectKernelLogs=yes
        ProtectControlGroups=yes
        ProtectClock=yes
        ProtectHostname=yes
        ProtectProc=invisible
        RestrictNamespaces=yes
        RestrictRealtime=yes
        RestrictSUIDSGID=yes
        RemoveIPC=yes
        KeyringMode=private
        LockPersonality=yes
        SystemCallArchitectures=native
        SystemCallFilter=@system-service
        \(strictSystemCalls ? "SystemCallFilter=~@privileged @resources" : "# (@resources allowed: the JVM sets its own limits)")
        SystemCallErrorNumber=EPERM
        """
    }

    // MARK: Configuration

    public var configuration: String {
        """
        # ShardFlow configuration, read by every ShardFlow unit (EnvironmentFile=). Edit it here:
        # `shardflow systemd install` keeps this file when it writes the units again, and
        # `shardflow systemd scale` changes only the counts. Then: systemctl restart shardflow.target
        # (or just the units concerned).

        # Reducer count R: mappers send each item to reducer partition(key, R). Must match the
        # enabled shardflow-reducer@{0..R-1}.socket instances (`shardflow systemd scale --reducers R`).
        SHARDFLOW_REDUCERS=\(reducers)
        # Sockets (the .socket units' ListenStream= paths use this directory too).
        SHARDFLOW_RUNTIME_DIR=\(runtimeDirectory)
        SHARDFLOW_LOG_LEVEL=\(logLevel)

        # Reducers: the processor (discard | spin:MICROS | jsonl:DIR | exec:CMD) and options
        # (batching, retries, dead letters, record age; see `shardflow-reducer --help`).
        SHARDFLOW_PROCESSOR=\(processor)
        SHARDFLOW_REDUCER_OPTIONS=\(reducerOptions)

        # Router: "--ordering key" keeps each key's items in their shard's order (each shard's
        # records go to one mapper); "--ordering none" spreads them over every mapper instead.
        # --mappers M must match the enabled shardflow-mapper@ instances (`shardflow systemd scale`).
        SHARDFLOW_ROUTER_OPTIONS=\(routerOptions)

        # Mappers: extraction (record, kpl, lines, dynamodb), partitioning key and filters (see
        # `shardflow-mapper --help`).
        SHARDFLOW_MAPPER_OPTIONS=\(mapperOptions)

        # The metrics endpoint (shardflow-metrics.socket listens on \(metricsListen); a drop-in on that
        # unit moves it): options of `shardflow metrics`.
        SHARDFLOW_METRICS_OPTIONS=

        # The KCL MultiLangDaemons (shardflow-kcl@<stream>.service, each reading
        # /etc/shardflow/kcl-<stream>.properties): the daemon's main class (the DynamoDB Streams
        # adapter's for DynamoDB streams), the KCL multilang jars, java, and the workers' options
        # (checkpoint interval, backpressure…; see `shardflow-worker --help`).
        SHARDFLOW_KCL_MAIN_CLASS=\(kclMainClass ?? KCLConfiguration.mainClass(for: extract))
        SHARDFLOW_KCL_CLASSPATH=\(kclClasspath)
        SHARDFLOW_JAVA=\(java)
        SHARDFLOW_WORKER_OPTIONS=\(workerOptions)

        """
    }

    public var sysusers: String {
        """
        # The ShardFlow system user (systemd-sysusers).
        u \(user) - "ShardFlow stream processing" \(stateDirectory) -

        """
    }

    /// `/run/shardflow` exists with the right owner from boot, before any socket unit makes it
    /// (as root) for its socket.
    public var tmpfiles: String {
        """
        # The ShardFlow runtime directory (systemd-tmpfiles): the group's sockets live there.
        d \(runtimeDirectory) 0750 \(user) \(user) -

        """
    }
}

extension String {
    /// The text on one line (a pattern file has one pattern per line).
    fileprivate func replacingNewlines() -> String {
        split(whereSeparator: { $0 == "\n" || $0 == "\r" }).joined(separator: " ")
    }
}
