#include "masterkey.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/spawn.h"
#include "lib/strbuf.h"
#include "lib/banned.h"

/* Larger than any text form of a key, small enough to live on the stack. */
#define KEY_TEXT_MAX 512
#define KEY_COMMAND_TIMEOUT_MS 30000
#define KEY_COMMAND_MAX_ARGS 64

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int decode_hex(const char *s, size_t len, uint8_t key[MASTER_KEY_BYTES])
{
	size_t bin_len = 0;
	const char *end = NULL;

	if (len != 2 * MASTER_KEY_BYTES)
		return -1;
	if (sodium_hex2bin(key, MASTER_KEY_BYTES, s, len, NULL, &bin_len, &end) != 0)
		return -1;
	return bin_len == MASTER_KEY_BYTES && end == s + len ? 0 : -1;
}

static int decode_base64(const char *s, size_t len, uint8_t key[MASTER_KEY_BYTES])
{
	static const int variants[] = {
		sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
		sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING,
	};

	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		size_t bin_len = 0;
		const char *end = NULL;

		if (sodium_base642bin(key, MASTER_KEY_BYTES, s, len, NULL, &bin_len,
				      &end, variants[i]) == 0 &&
		    bin_len == MASTER_KEY_BYTES && end == s + len)
			return 0;
	}
	return -1;
}

int master_key_parse(const char *text, size_t len, uint8_t key[MASTER_KEY_BYTES])
{
	const char *s = text;
	size_t n = len;

	while (n && is_blank(*s)) {
		s++;
		n--;
	}
	while (n && is_blank(s[n - 1]))
		n--;
	if (n && (decode_hex(s, n, key) == 0 || decode_base64(s, n, key) == 0))
		return 0;
	/* 32 raw bytes cannot be mistaken for a text form: those are 43+ chars. */
	if (len == MASTER_KEY_BYTES) {
		memcpy(key, text, MASTER_KEY_BYTES);
		return 0;
	}
	sodium_memzero(key, MASTER_KEY_BYTES);
	return -1;
}

void master_key_id(const uint8_t key[MASTER_KEY_BYTES], char out[MASTER_KEY_ID_LEN + 1])
{
	static const char domain[] = "ferry vault master key id v1";
	crypto_generichash_state st;
	uint8_t h[crypto_generichash_BYTES_MIN];

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)domain, sizeof(domain));
	crypto_generichash_update(&st, key, MASTER_KEY_BYTES);
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(out, MASTER_KEY_ID_LEN + 1, h, MASTER_KEY_ID_LEN / 2);
	sodium_memzero(&st, sizeof(st));
}

void master_key_generate(uint8_t key[MASTER_KEY_BYTES])
{
	randombytes_buf(key, MASTER_KEY_BYTES);
}

int master_key_read_file(const char *path, uint8_t key[MASTER_KEY_BYTES], struct ferr *e)
{
	char buf[KEY_TEXT_MAX + 1];
	size_t len = 0;
	struct stat st;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		return ferr_internal(e, "cannot open master key file %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) < 0) {
		ferr_internal(e, "cannot stat master key file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ferr_invalid(e, "master key file %s is not a regular file", path);
		goto out;
	}
	if (st.st_mode & 077) {
		ferr_forbidden(e, "master key file %s is accessible by group or others "
			       "(mode %04o); refusing to use it: run `chmod 600 %s` "
			       "(and consider the key compromised if others could read it)",
			       path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ferr_internal(e, "cannot read master key file %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf)) {
			ferr_invalid(e, "master key file %s is not a master key: it is larger "
				     "than %d bytes", path, KEY_TEXT_MAX);
			goto out;
		}
	}
	if (master_key_parse(buf, len, key) < 0) {
		ferr_invalid(e, "master key file %s does not hold a 32-byte key "
			     "(64 hex digits, base64, or 32 raw bytes)", path);
		goto out;
	}
	ret = 0;
out:
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return ret;
}

int master_key_run_command(const char *command, uint8_t key[MASTER_KEY_BYTES], struct ferr *e)
{
	const char *argv[KEY_COMMAND_MAX_ARGS + 1];
	struct strbuf out = STRBUF_INIT;
	char *words;
	size_t argc = 0;
	int status, ret = -1;

	words = strdup(command);
	if (!words)
		abort();
	for (char *p = words; *p;) {
		while (*p && is_blank(*p))
			*p++ = '\0';
		if (!*p)
			break;
		if (argc == KEY_COMMAND_MAX_ARGS) {
			ferr_invalid(e, "master key command has more than %d arguments",
				     KEY_COMMAND_MAX_ARGS);
			goto out;
		}
		argv[argc++] = p;
		while (*p && !is_blank(*p))
			p++;
	}
	argv[argc] = NULL;
	if (!argc) {
		ferr_invalid(e, "master key command is empty");
		goto out;
	}
	/* Sized up front so the buffer holding the key is never reallocated
	 * (a realloc would leave an unwiped copy behind). */
	strbuf_init(&out, KEY_TEXT_MAX + 1);
	status = spawn_capture(argv, NULL, NULL, &out, KEY_TEXT_MAX + 1,
			       KEY_COMMAND_TIMEOUT_MS, e);
	if (status < 0) {
		ferr_prefix(e, "master key command %s", argv[0]);
		goto out;
	}
	if (status != 0) {
		ferr_internal(e, "master key command %s exited with status %d", argv[0], status);
		goto out;
	}
	if (out.len > KEY_TEXT_MAX || master_key_parse(out.buf, out.len, key) < 0) {
		ferr_invalid(e, "master key command %s did not print a 32-byte key "
			     "(64 hex digits or base64) and nothing else", argv[0]);
		goto out;
	}
	ret = 0;
out:
	if (out.alloc)
		sodium_memzero(out.buf, out.alloc);
	strbuf_release(&out);
	free(words);
	return ret;
}

int master_key_write_file(const char *path, const uint8_t key[MASTER_KEY_BYTES], struct ferr *e)
{
	char hex[2 * MASTER_KEY_BYTES + 2];
	size_t off = 0, len;
	int fd, ret = -1;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return ferr_internal(e, "cannot create master key file %s: %s", path, strerror(errno));
	sodium_bin2hex(hex, sizeof(hex) - 1, key, MASTER_KEY_BYTES);
	len = 2 * MASTER_KEY_BYTES;
	hex[len++] = '\n';
	while (off < len) {
		ssize_t n = write(fd, hex + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ferr_internal(e, "cannot write master key file %s: %s", path, strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0) {
		ferr_internal(e, "cannot sync master key file %s: %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	sodium_memzero(hex, sizeof(hex));
	if (close(fd) < 0 && ret == 0)
		ret = ferr_internal(e, "cannot write master key file %s: %s", path, strerror(errno));
	if (ret < 0)
		unlink(path);
	return ret;
}

int master_key_sync_dir(const char *path, struct ferr *e)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, ret = 0;

	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		abort();
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		ret = ferr_internal(e, "cannot sync directory %s: %s", dir, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(dir);
	return ret;
}
