/* The bounded wait for the registry (core/registry_wait.h). */
#include "registry_wait.h"

#include <stdatomic.h>
#include <unistd.h>

#include "lib/clock.h"
#include "pipeline/image.h"
#include "pipeline/registry.h"
#include "lib/banned.h"

int registry_wait(struct registry *r, int wait_s, const struct image_watch *w, pid_t pid_before,
		  struct ferr *e)
{
	long long start = mono_ms(), until = start + wait_s * 1000LL;
	long long deadline = w ? w->deadline_ms : 0;
	struct ferr pe = FERR_INIT;
	int waited = 0;

	while (registry_ping(r, &pe) < 0) {
		if (!waited)
			image_say(w, "the registry %s is down (%s): waiting up to %d s for it",
				  registry_host(r), pe.msg, wait_s);
		waited = 1;
		if (w && w->cancel && atomic_load(w->cancel))
			return ferr_set(e, 499, "cancelled", "stopped while waiting for the registry");
		if (mono_ms() >= until || (deadline && mono_ms() >= deadline))
			return ferr_set(e, 503, "registry_down",
					"the registry %s stayed down for %lld s (last error: %s); build again "
					"once it runs (ferry's /healthz?verbose=1 shows its state)",
					registry_host(r),
					/* the build's own deadline may have cut the wait short */
					mono_ms() >= until ? (long long)wait_s : (mono_ms() - start) / 1000,
					pe.msg);
		ferr_clear(&pe);
		usleep(500 * 1000);
	}
	if (waited)
		image_say(w, "the registry answers again");
	return waited || registry_pid(r) != pid_before;
}
