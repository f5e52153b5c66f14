/* fstree: whole directory trees: removing one, measuring one. Neither
 * follows symbolic links; the size stays on the tree's file system. */
#ifndef FERRY_LIB_FSTREE_H
#define FERRY_LIB_FSTREE_H

/* Removes dir and everything in it. A missing dir is not an error.
 * Returns 0, or -1 with errno set. */
int fstree_remove(const char *dir);

/* The disk space (allocated blocks) the files under dir use, in bytes;
 * 0 for a missing dir. Hard links are counted once per link. */
long long fstree_size(const char *dir);

#endif
