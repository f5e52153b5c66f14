/* masterkey: the 32-byte master key of the vault, and where it comes from.
 *
 * Primitives only: parsing, reading a key file, running a key command,
 * writing a key file, and the key id. They know nothing of the store; the
 * vault (vault.c) decides which file is current and when to rotate.
 *
 * Text forms accepted everywhere a key is read: 64 hex digits, or base64
 * (standard or URL-safe alphabet, with or without padding) of exactly 32
 * bytes, surrounded by optional whitespace; or exactly 32 raw bytes.
 * ferry writes keys as 64 lowercase hex digits and a newline.
 *
 * No function here ever puts key material into an error message, and every
 * temporary copy of a key is wiped with sodium_memzero before returning.
 */
#ifndef FERRY_VAULT_MASTERKEY_H
#define FERRY_VAULT_MASTERKEY_H

#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

#define MASTER_KEY_BYTES 32
/* A key id is the first 8 bytes of a domain-separated BLAKE2b hash of the
 * key, as 16 hex digits. It identifies a key without revealing it. */
#define MASTER_KEY_ID_LEN 16

/* Decodes text (len bytes, not necessarily NUL-terminated) in one of the
 * forms above into key. Returns 0, or -1 if it is not a 32-byte key (key is
 * then zeroed). Sets no error: the caller names the source, never the text. */
int master_key_parse(const char *text, size_t len, uint8_t key[MASTER_KEY_BYTES]);

/* Writes the id of key into out (MASTER_KEY_ID_LEN hex digits + NUL). */
void master_key_id(const uint8_t key[MASTER_KEY_BYTES], char out[MASTER_KEY_ID_LEN + 1]);

/* Fills key with fresh random bytes (libsodium's CSPRNG). */
void master_key_generate(uint8_t key[MASTER_KEY_BYTES]);

/* Reads the key file at path. The file must be a regular file that neither
 * group nor others may read or write (mode 0600 or stricter): otherwise it is
 * refused with a message saying so and how to fix it. Returns 0 with key
 * filled, 1 if path does not exist (e untouched), or -1 with e set. */
int master_key_read_file(const char *path, uint8_t key[MASTER_KEY_BYTES], struct ferr *e);

/* Runs command (split on blanks into argv; no shell, no quoting) and decodes
 * its output as a key. The command's stderr is captured together with its
 * stdout, so it must print nothing but the key. It is killed after 30 s.
 * Returns 0 with key filled, or -1 with e set (the message names the
 * command, never its output). */
int master_key_run_command(const char *command, uint8_t key[MASTER_KEY_BYTES], struct ferr *e);

/* Creates path (which must not exist: O_EXCL) with mode 0600, writes key
 * in hex and fsyncs it. Returns 0, or -1 with e set (path is then removed). */
int master_key_write_file(const char *path, const uint8_t key[MASTER_KEY_BYTES], struct ferr *e);

/* fsyncs the directory holding path, so a rename into it is durable.
 * Returns 0, or -1 with e set. */
int master_key_sync_dir(const char *path, struct ferr *e);

#endif
