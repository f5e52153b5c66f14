/* beneath: opening a file inside a directory without leaving it.
 *
 * For paths that come from a repository or an image (a schema file named
 * by a descriptor, a lock file in an image's root file system): neither
 * "..", nor an absolute path, nor a symbolic link may lead out of the
 * directory. openat2(RESOLVE_BENEATH) where the kernel has it; elsewhere
 * (or under a seccomp filter that refuses it) the path is walked one part
 * at a time with O_NOFOLLOW, so no symbolic link is followed at all.
 */
#ifndef FERRY_LIB_BENEATH_H
#define FERRY_LIB_BENEATH_H

/* how: */
#define BENEATH_NO_LINKS 1u   /* follow no symbolic link, even one that stays inside */

/* Opens relpath below dirfd with flags (open(2) flags; O_CLOEXEC always
 * added). relpath must be relative, without empty parts or "..".
 * Returns an fd, or -1 with errno: EINVAL a malformed path, EXDEV or ELOOP
 * a symbolic link that leads out (or any link with BENEATH_NO_LINKS, or on
 * the fallback), as open(2) otherwise (ENOENT, ENOTDIR, ...). */
int open_beneath(int dirfd, const char *relpath, int flags, unsigned how);

/* open_beneath below the directory dir (opened for the call). */
int open_beneath_path(const char *dir, const char *relpath, int flags, unsigned how);

#endif
