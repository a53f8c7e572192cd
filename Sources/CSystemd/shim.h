#ifndef SHARDFLOW_CSYSTEMD_SHIM_H
#define SHARDFLOW_CSYSTEMD_SHIM_H
// libsystemd's socket-activation and readiness API (sd_listen_fds_with_names, sd_notify, ...).
#include <systemd/sd-daemon.h>
#endif
