#ifndef SHARDFLOW_CSYSTEMD_SHIM_H
#define SHARDFLOW_CSYSTEMD_SHIM_H
// libsystemd's socket-activation and readiness API (sd_listen_fds_with_names, sd_notify, ...).
#include <systemd/sd-daemon.h>
#include <sys/prctl.h>
#include <signal.h>
#include <errno.h>

// prctl is variadic, which Swift cannot call: ask the kernel to send `signal` to this process
// when its parent exits.
static inline int shardflow_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0UL, 0UL, 0UL);
}

// Makes this process the reaper of its orphaned descendants: a child's child that outlives its
// parent (an exec: processor of a reducer that was killed) is reparented here, not to init, so
// it can be found and stopped.
static inline int shardflow_set_child_subreaper(void) {
    return prctl(36 /* PR_SET_CHILD_SUBREAPER */, 1UL, 0UL, 0UL, 0UL);
}

// pipe2 is declared only under _GNU_SOURCE; glibc always provides it.
extern int pipe2(int pipefd[2], int flags);
static inline int shardflow_pipe_cloexec(int pipefd[2]) {
    return pipe2(pipefd, 02000000 /* O_CLOEXEC */);
}
// fallocate is declared only under _GNU_SOURCE: reserves `length` bytes of disk from `offset`
// without changing the file's size (FALLOC_FL_KEEP_SIZE), so a write into them cannot run out
// of space. 0, or the errno (EOPNOTSUPP where the file system cannot).
extern int fallocate(int fd, int mode, long offset, long length);
static inline int shardflow_reserve(int fd, long offset, long length) {
    return fallocate(fd, 0x01 /* FALLOC_FL_KEEP_SIZE */, offset, length) == 0 ? 0 : errno;
}
// syscall is variadic too: a descriptor that becomes readable when process `pid` exits (Linux
// 5.3+), so a process can wait for one it did not start without polling.
#include <sys/syscall.h>
#include <unistd.h>
static inline int shardflow_pidfd_open(int pid) {
    return (int)syscall(434 /* SYS_pidfd_open */, pid, 0);
}
// A datagram with its sender's credentials (SO_PASSCRED must be on): the launcher's notify
// sockets accept messages only from its own user's processes. struct ucred and SCM_CREDENTIALS
// are GNU extensions, so their Linux layout and value are spelled out here.
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
struct shardflow_ucred { int pid; unsigned int uid; unsigned int gid; };
static inline int shardflow_enable_passcred(int fd) {
    int one = 1;
    return setsockopt(fd, SOL_SOCKET, 16 /* SO_PASSCRED */, &one, sizeof one);
}
static inline long shardflow_recv_with_credentials(int fd, void *buffer, unsigned long length, int *pid, unsigned int *uid) {
    struct iovec iov = { buffer, length };
    union { struct cmsghdr align; char space[CMSG_SPACE(sizeof(struct shardflow_ucred))]; } control;
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control.space;
    message.msg_controllen = sizeof control.space;
    long received = recvmsg(fd, &message, MSG_DONTWAIT);
    *pid = -1;
    *uid = (unsigned int)-1;
    if (received < 0) return received;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == 2 /* SCM_CREDENTIALS */) {
            struct shardflow_ucred credentials;
            memcpy(&credentials, CMSG_DATA(header), sizeof credentials);
            *pid = credentials.pid;
            *uid = credentials.uid;
        }
    }
    return received;
}
#endif
