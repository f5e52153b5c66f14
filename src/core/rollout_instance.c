/* The runtime instance name; see rollout_instance.h. */
#include "core/rollout_instance.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "lib/banned.h"

int rollout_instance_load(const char *data_dir, char *out, size_t size, struct ferr *e)
{
	char path[4096], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/runtime-instance", data_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			buf[strcspn(buf, "\r\n")] = '\0';
			if (runtime_check_name("runtime instance", buf, NULL) == 0 && strlen(buf) <= 32) {
				snprintf(out, size, "%s", buf);
				return 0;
			}
		}
		return ferr_internal(e, "%s does not hold a valid runtime instance name: remove it only if no replica of this ferryd runs", path);
	}
	if (errno != ENOENT)
		return ferr_internal(e, "cannot read %s: %s", path, strerror(errno));
	{
		unsigned char r[4];
		char tmp[4200];
		int len;

		randombytes_buf(r, sizeof(r));
		len = snprintf(out, size, "fy%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, out, (size_t)len) != len || fsync(fd) < 0 ||
		    close(fd) < 0 || rename(tmp, path) < 0) {
			if (fd >= 0)
				close(fd);
			return ferr_internal(e, "cannot write %s: %s", path, strerror(errno));
		}
	}
	return 0;
}
