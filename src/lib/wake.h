/* wake: "something changed" for threads that would otherwise poll.
 *
 * A follower of a growing log (api/follow) reads the store, then waits for
 * the next change before reading again. A writer that appends a line or
 * ends what is followed calls wake_all() after its change is stored; a
 * waiter that read the store after taking wake_seq() never misses it. The
 * wait still has a timeout: writers that do not call wake_all() are seen
 * at the next timeout, as when every follower polled.
 */
#ifndef FERRY_LIB_WAKE_H
#define FERRY_LIB_WAKE_H

#include <stdint.h>

/* The number of wake_all() calls so far. */
uint64_t wake_seq(void);

/* Wakes every thread in wake_wait(). */
void wake_all(void);

/* Returns once wake_seq() differs from seen, or after timeout_ms. */
void wake_wait(uint64_t seen, int timeout_ms);

#endif
