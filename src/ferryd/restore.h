/* ferryd restore: a backup (core/backup.h) onto an empty data dir. */
#ifndef FERRY_FERRYD_RESTORE_H
#define FERRY_FERRYD_RESTORE_H

/* ferryd restore FILE --data DIR [--passphrase-file F] [--no-master-key]
 * [--json]: argv[0] is "restore". Returns the exit status. */
int ferryd_restore(int argc, char **argv);

#endif
