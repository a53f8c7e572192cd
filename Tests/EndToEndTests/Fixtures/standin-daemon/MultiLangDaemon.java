package software.amazon.kinesis.multilang;

import java.io.FileReader;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * A stand-in for the KCL MultiLangDaemon, for tests on machines without the KCL jars: started the
 * way the real one is (java -cp CLASSPATH software.amazon.kinesis.multilang.MultiLangDaemon
 * PROPERTIES), it reads the properties, and plays one shard against executableName with
 * mld_driver.py. Its shutdown hook is the real daemon's graceful shutdown: SIGTERM makes the
 * driver send shutdownRequested, and the hook waits up to shutdownGraceMillis for it.
 *
 * Properties of its own: standIn.driver (the path of mld_driver.py), standIn.records,
 * standIn.batch, standIn.pause (seconds between batches). The shard is named
 * shardId-STREAM-MILLIS, so every start plays a shard of its own.
 */
public final class MultiLangDaemon {
    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: MultiLangDaemon PROPERTIES");
            System.exit(2);
        }
        Properties properties = new Properties();
        try (Reader reader = new FileReader(args[0])) {
            properties.load(reader);
        } catch (IOException error) {
            System.err.println("stand-in daemon: cannot read " + args[0] + ": " + error.getMessage());
            System.exit(1);
        }
        String stream = properties.getProperty("streamName", "stream");
        List<String> command = new ArrayList<>(Arrays.asList(
            "python3", required(properties, "standIn.driver"),
            "--records", properties.getProperty("standIn.records", "1000"),
            "--batch", properties.getProperty("standIn.batch", "100"),
            "--pause", properties.getProperty("standIn.pause", "0"),
            "--shard", "shardId-" + stream + "-" + System.currentTimeMillis(),
            "--graceful-term", "--"));
        command.addAll(Arrays.asList(required(properties, "executableName").trim().split(" +")));
        long grace = Long.parseLong(properties.getProperty("shutdownGraceMillis", "0").trim());
        System.err.println("stand-in daemon: playing one shard of " + stream + " against " + command);
        Process driver = new ProcessBuilder(command).inheritIO().start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (!driver.isAlive()) return;
            System.err.println("stand-in daemon: graceful shutdown, waiting up to " + grace + " ms");
            driver.destroy();
            try {
                driver.waitFor(grace, TimeUnit.MILLISECONDS);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }));
        int status = driver.waitFor();
        System.err.println("stand-in daemon: the driver exited " + status);
        System.exit(status);
    }

    private static String required(Properties properties, String key) {
        String value = properties.getProperty(key);
        if (value == null) {
            System.err.println("stand-in daemon: the properties name no " + key);
            System.exit(2);
        }
        return value.trim();
    }
}
