/* ratelimit: token buckets by key (a webhook's component key), in memory.
 * A key starts with `burst` tokens; each use takes one; they come back at
 * `per_minute` a minute. The table holds RATELIMIT_KEYS keys; a new key
 * replaces the one unused longest. Thread-safe. */
#ifndef FERRY_API_RATELIMIT_H
#define FERRY_API_RATELIMIT_H

#define RATELIMIT_KEYS 4096

/* Sets the rate (0: 60 a minute) and burst (0: 30). */
void ratelimit_configure(unsigned per_minute, unsigned burst);

/* Takes a token for key. Returns 0, or the seconds until one is back. */
unsigned ratelimit_take(const char *key);

unsigned ratelimit_per_minute(void);

#endif
