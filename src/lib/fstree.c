#define _XOPEN_SOURCE 700
#include "fstree.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banned.h"

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int fstree_remove(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* nftw has no user pointer: one sum per thread. */
static __thread long long sum;

static int add_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_F || flag == FTW_D || flag == FTW_SL)
		sum += (long long)sb->st_blocks * 512;
	return 0;
}

long long fstree_size(const char *dir)
{
	sum = 0;
	if (access(dir, F_OK) < 0)
		return 0;
	nftw(dir, add_entry, 32, FTW_PHYS | FTW_MOUNT);
	return sum;
}

static __thread long removed;

static int rm_empty(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	/* deepest first (FTW_DEPTH): a directory emptied of empty ones goes too */
	if (flag == FTW_DP && ftw->level > 0 && rmdir(path) == 0)
		removed++;
	return 0;
}

long fstree_remove_empty(const char *dir)
{
	removed = 0;
	if (access(dir, F_OK) < 0)
		return 0;
	nftw(dir, rm_empty, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	return removed;
}
