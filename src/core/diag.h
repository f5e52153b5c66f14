/* diag: the "sleep" and "sleep-once" diagnostic job kinds, to exercise the job queue end to
 * end (logs, cancellation, crash recovery) without any real part. */
#ifndef FERRY_DIAG_H
#define FERRY_DIAG_H

/* Registers the kinds with the job queue. */
void diag_register(void);

#endif
