#ifndef SHARDFLOW_CSYSTEMD_SHIM_H
#define SHARDFLOW_CSYSTEMD_SHIM_H
// libsystemd's socket-activation and readiness API (sd_listen_fds_with_names, sd_notify, ...).
#include <systemd/sd-daemon.h>
#include <sys/prctl.h>
#include <signal.h>

// prctl is variadic, which Swift cannot call: ask the kernel to send `signal` to this process
// when its parent exits.
static inline int shardflow_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0UL, 0UL, 0UL);
}

// pipe2 is declared only under _GNU_SOURCE; glibc always provides it.
extern int pipe2(int pipefd[2], int flags);
static inline int shardflow_pipe_cloexec(int pipefd[2]) {
    return pipe2(pipefd, 02000000 /* O_CLOEXEC */);
}
// syscall is variadic too: a descriptor that becomes readable when process `pid` exits (Linux
// 5.3+), so a process can wait for one it did not start without polling.
#include <sys/syscall.h>
#include <unistd.h>
static inline int shardflow_pidfd_open(int pid) {
    return (int)syscall(434 /* SYS_pidfd_open */, pid, 0);
}
#endif
