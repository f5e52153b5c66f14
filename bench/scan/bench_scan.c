/* bench/scan driver: loads an OSV directory once, then scans one image root
 * ITER times, printing each figure. Built and run by bench/scan/run.
 *
 * Usage: bench_scan VULNDB ROOTFS ITER */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "pipeline/vuln.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct vulndb *db;
	struct ferr e = FERR_INIT;
	json_t *arr = NULL, *sum;
	double t0, t, *times;
	int iter;
	char *s;

	if (argc != 4) {
		fprintf(stderr, "usage: bench_scan VULNDB ROOTFS ITER\n");
		return 2;
	}
	iter = atoi(argv[3]);
	if (iter < 1)
		iter = 1;
	times = calloc((size_t)iter, sizeof(*times));
	t0 = now();
	if (vulndb_open(&db, argv[1], &e) < 0) {
		fprintf(stderr, "bench_scan: %s\n", e.msg);
		return 1;
	}
	printf("load:       %.3f s for %zu advisories (once, at ferryd start)\n", now() - t0,
	       vulndb_count(db));
	t0 = now();
	if (vulndb_refresh(db, &e) < 0) {
		fprintf(stderr, "bench_scan: %s\n", e.msg);
		return 1;
	}
	printf("refresh:    %.3f s when nothing changed (stat of every file)\n", now() - t0);
	for (int i = 0; i < iter; i++) {
		json_decref(arr);
		t0 = now();
		if (vuln_scan_rootfs(db, argv[2], &arr, &e) < 0) {
			fprintf(stderr, "bench_scan: %s\n", e.msg);
			return 1;
		}
		times[i] = now() - t0;
	}
	qsort(times, (size_t)iter, sizeof(*times), dcmp);
	t = times[iter / 2];
	sum = vuln_summary(arr);
	s = json_dumps(sum, JSON_COMPACT);
	printf("scan:       median %.1f ms, min %.1f ms, max %.1f ms over %d scans (goal < 1000 ms)\n",
	       t * 1e3, times[0] * 1e3, times[iter - 1] * 1e3, iter);
	printf("findings:   %zu %s\n", json_array_size(arr), s);
	free(s);
	json_decref(sum);
	json_decref(arr);
	vulndb_free(db);
	free(times);
	return t < 1.0 ? 0 : 1;
}
