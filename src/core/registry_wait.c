/* The bounded wait for the registry (core/registry_wait.h). */
#include "registry_wait.h"

#include <stdarg.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/strbuf.h"
#include "pipeline/registry.h"
#include "lib/banned.h"

static void note(const struct registry_wait *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(const struct registry_wait *w, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	if (!w->note)
		return;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	w->note(w->note_ctx, sb.buf, sb.len);
	strbuf_release(&sb);
}

int registry_wait(const struct registry_wait *w, pid_t pid_before, struct ferr *e)
{
	long long until = mono_ms() + w->wait_s * 1000LL;
	struct ferr pe = FERR_INIT;
	int waited = 0;

	while (registry_ping(w->registry, &pe) < 0) {
		if (!waited)
			note(w, "the registry %s is down (%s): waiting up to %d s for it",
			     registry_host(w->registry), pe.msg, w->wait_s);
		waited = 1;
		if (w->stop && atomic_load(w->stop))
			return ferr_set(e, 499, "cancelled", "stopped while waiting for the registry");
		if (mono_ms() >= until || (w->deadline_ms && mono_ms() >= w->deadline_ms))
			return ferr_set(e, 503, "registry_down",
					"the registry %s stayed down for %d s (last error: %s); build again "
					"once it runs (ferry's /healthz?verbose=1 shows its state)",
					registry_host(w->registry), w->wait_s, pe.msg);
		ferr_clear(&pe);
		usleep(500 * 1000);
	}
	if (waited)
		note(w, "the registry answers again");
	return waited || registry_pid(w->registry) != pid_before;
}
