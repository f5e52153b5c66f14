/* clock: the one monotonic clock of ferry, for deadlines and durations
 * (never for timestamps shown to users: those are store_now's UTC). */
#ifndef FERRY_CLOCK_H
#define FERRY_CLOCK_H

/* Milliseconds of CLOCK_MONOTONIC. */
long long mono_ms(void);

#endif
