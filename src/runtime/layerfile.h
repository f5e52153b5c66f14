/* layerfile: reading one small file of an image straight from its overlay
 * layers in the runtime's storage, without mounting the image.
 *
 * podman's `image inspect` names the layers' directories (GraphDriver
 * UpperDir, then LowerDir, top first). A file is the first layer's copy of
 * it; anything overlay would merge in a way this reader does not follow
 * (a whiteout, an opaque directory, a symbolic link on the way, a file
 * that is not a regular one) makes the answer "unknown", and the caller
 * mounts the image instead. No symbolic link is ever followed: a layer
 * cannot point the reader at a host file.
 */
#ifndef FERRY_RUNTIME_LAYERFILE_H
#define FERRY_RUNTIME_LAYERFILE_H

#include <stddef.h>

/* Reads rel ("etc/passwd": normalised, relative) through layers (the
 * directories, top first, separated by ':'), at most cap bytes. Returns 1
 * with *ret (NUL-terminated, malloc'd) when found, 0 when no layer has it,
 * -1 when the layers cannot tell (see above). */
int layerfile_read(const char *layers, const char *rel, size_t cap, char **ret);

#endif
