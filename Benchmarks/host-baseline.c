// What the host itself allows, measured without ShardFlow, so the benchmark's figures can be read
// against it (Benchmarks/run.sh builds and runs this with the Swift toolchain's clang):
//
//   host-baseline compute SECONDS
//       Two processes each burn SECONDS of their own CPU time (CLOCK_PROCESS_CPUTIME_ID) at once;
//       prints how much of two cores' wall-clock time that took: the ceiling any CPU-bound run
//       on this host can reach (the share the hypervisor and the kernel leave).
//   host-baseline ring HOPS SECONDS RATE
//       A one-byte token goes around a ring of HOPS processes connected by Unix stream
//       sockets, RATE round trips a second for SECONDS; prints the round trip's p50, p99,
//       p99.9 and maximum: the scheduling latency of a path that wakes HOPS processes in turn,
//       with no work done on the way (an item's acknowledged path wakes about eight); and the
//       CPU time one hop costs (a wake-up, a one-byte read and write, going back to sleep),
//       which is what every hand-off between processes pays on this host.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds(clockid_t clock) {
    struct timespec now;
    clock_gettime(clock, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static void fail(const char *what) {
    fprintf(stderr, "host-baseline: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int compute(double budget) {
    double start = seconds(CLOCK_MONOTONIC);
    for (int child = 0; child < 2; child++) {
        pid_t pid = fork();
        if (pid < 0) fail("fork");
        if (pid == 0) {
            volatile unsigned long x = 1;
            while (seconds(CLOCK_PROCESS_CPUTIME_ID) < budget)
                for (int i = 0; i < 10000; i++) x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            _exit(0);
        }
    }
    while (wait(NULL) > 0) {}
    double wall = seconds(CLOCK_MONOTONIC) - start;
    printf("host compute: 2 processes x %.1f s of CPU took %.3f s: %.1f %% of 2 cores\n",
           budget, wall, 100.0 * budget / wall);
    return 0;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int ring(int hops, double duration, int rate) {
    if (hops < 1 || hops > 64 || rate < 1) { fprintf(stderr, "host-baseline: ring needs 1-64 hops and a positive rate\n"); return 2; }
    int rounds = (int)(duration * rate);
    if (rounds < 1) { fprintf(stderr, "host-baseline: ring needs at least one round trip (SECONDS x RATE)\n"); return 2; }
    // links[i] connects hop i-1 (or the parent, for i = 0) to hop i; links[hops] returns to the parent.
    int links[65][2];
    for (int i = 0; i <= hops; i++)
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, links[i]) != 0) fail("socketpair");
    pid_t children[64];
    for (int i = 0; i < hops; i++) {
        pid_t pid = fork();
        if (pid < 0) fail("fork");
        if (pid == 0) {
            // Keep only this hop's two ends, so the ring ends (EOF) whenever the parent does.
            for (int j = 0; j <= hops; j++) {
                if (j != i) close(links[j][1]);
                if (j != i + 1) close(links[j][0]);
            }
            char token;
            while (read(links[i][1], &token, 1) == 1)
                if (write(links[i + 1][0], &token, 1) != 1) break;
            _exit(0);
        }
        children[i] = pid;
    }
    for (int i = 0; i <= hops; i++) {
        if (i < hops) close(links[i][1]);
        if (i > 0) close(links[i][0]);
    }

    double *samples = malloc(sizeof(double) * (size_t)rounds);
    if (samples == NULL) fail("malloc");
    struct timespec gap = { 0, 1000000000L / rate };
    char token = 't';
    for (int round = 0; round < rounds; round++) {
        double start = seconds(CLOCK_MONOTONIC);
        if (write(links[0][0], &token, 1) != 1 || read(links[hops][1], &token, 1) != 1) fail("ring");
        samples[round] = (seconds(CLOCK_MONOTONIC) - start) * 1e3;
        nanosleep(&gap, NULL);
    }
    for (int i = 0; i < hops; i++) kill(children[i], SIGTERM);
    while (wait(NULL) > 0) {}
    // Every process of the ring, this one included, woke once per round trip.
    struct rusage own, ring;
    getrusage(RUSAGE_SELF, &own);
    getrusage(RUSAGE_CHILDREN, &ring);
    double cpu = 0;
    for (int i = 0; i < 2; i++) {
        const struct rusage *u = i == 0 ? &own : &ring;
        cpu += (double)(u->ru_utime.tv_sec + u->ru_stime.tv_sec) + (double)(u->ru_utime.tv_usec + u->ru_stime.tv_usec) / 1e6;
    }
    qsort(samples, (size_t)rounds, sizeof(double), by_value);
    printf("host ring: %d processes, %d round trips/s: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms; %.1f µs of CPU per hop\n",
           hops, rate, samples[rounds / 2], samples[rounds * 99 / 100], samples[rounds * 999 / 1000], samples[rounds - 1],
           1e6 * cpu / ((double)rounds * (hops + 1)));
    free(samples);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "compute") == 0) return compute(atof(argv[2]));
    if (argc == 5 && strcmp(argv[1], "ring") == 0) return ring(atoi(argv[2]), atof(argv[3]), atoi(argv[4]));
    fprintf(stderr, "usage: host-baseline compute SECONDS | host-baseline ring HOPS SECONDS RATE\n");
    return 2;
}
