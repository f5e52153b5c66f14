/* pidfile: pid files of the daemons ferry supervises, and whether the
 * process a pid file names is still the one ferry started.
 *
 * The managed registry (DATA/registry/ferryd.pid) and HAProxy
 * (DATA/gateway/haproxy.pid) outlive a ferryd that is killed; the next one
 * reads the pid back and adopts or stops the process only when its command
 * line shows it is ours (a pid is reused by the kernel, so a live pid alone
 * proves nothing).
 */
#ifndef FERRY_LIB_PIDFILE_H
#define FERRY_LIB_PIDFILE_H

#include <sys/types.h>

struct strbuf;

/* The supervised parts whose pid files ferry keeps under its data dir. */
enum pidfile_part {
	PIDFILE_REGISTRY,  /* DATA/registry/ferryd.pid: the managed registry */
	PIDFILE_GATEWAY,   /* DATA/gateway/haproxy.pid: HAProxy's master */
};

/* Appends the path of part's pid file under data_dir to sb: the one place
 * these paths are spelled (the supervisor, the HAProxy driver and
 * /healthz all read or write them through it). */
void pidfile_path(struct strbuf *sb, const char *data_dir, enum pidfile_part part);

/* Writes "PID\n" to path through path.tmp renamed over it, so a reader
 * never sees half a file. Returns 0, or -1 with errno. */
int pidfile_write(const char *path, pid_t pid);

/* The pid path holds; 0 when it is missing, empty or not a positive
 * number. */
pid_t pidfile_read(const char *path);

/* 1 when pid names a live process (a zombie or a dead one: 0). */
int pid_running(pid_t pid);

/* 1 when pid runs and its command line is ours: its program's file name
 * is prog (NULL: any), and the arguments args[0..n-1] follow each other in
 * it (after the program). */
int pid_command_is(pid_t pid, const char *prog, const char *const *args, int n);

#endif
