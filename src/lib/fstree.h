/* fstree: whole directory trees: removing one, pruning its empty
 * directories, measuring one. Neither
 * follows symbolic links; the size stays on the tree's file system. */
#ifndef FERRY_LIB_FSTREE_H
#define FERRY_LIB_FSTREE_H

/* Removes dir and everything in it. A missing dir is not an error.
 * Returns 0, or -1 with errno set. */
int fstree_remove(const char *dir);

/* Removes the empty directories below dir (not dir itself), deepest first,
 * so one that held only empty ones goes too; a directory with anything
 * else in it stays. Returns how many went (0 for a missing dir). */
long fstree_remove_empty(const char *dir);

/* The disk space (allocated blocks) the files under dir use, in bytes;
 * 0 for a missing dir. Hard links are counted once per link. */
long long fstree_size(const char *dir);

#endif
