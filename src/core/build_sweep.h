/* build_sweep: what builds leave behind on disk, cleaned up.
 *
 * A build removes its workspace (DATA/work/build-N) and its local image
 * itself; a build whose tools were killed (cancel, timeout, ferryd killed)
 * can still leave buildah working containers in ferry's build image store
 * (DATA/containers/storage, ferry's alone) or a workspace. The sweep removes
 * every working container there (by id) and every workspace, and so may
 * only run while no build runs: builds hold the sweep off between
 * build_sweep_enter() and build_sweep_leave(). It runs after every build
 * (when it was the last one running) and once at start.
 */
#ifndef FERRY_CORE_BUILD_SWEEP_H
#define FERRY_CORE_BUILD_SWEEP_H

/* A build begins / ends using the build store and its workspace. */
void build_sweep_enter(void);
void build_sweep_leave(void);

/* Sweeps if no build runs and the registry is up (why: "start",
 * "after-build", for the log). Returns the number of things removed, 0 when
 * it could not run now (a build runs), -1 on failure (logged). */
int build_sweep(const char *why);

#endif
