/* keyexport: the master key sealed with a passphrase, for a backup.
 *
 * Format (one line of text, safe to store next to the data it protects):
 *   ferry-sealed-master-key 1 argon2id13 OPSLIMIT MEMLIMIT SALT NONCE BOX
 * SALT, NONCE and BOX in lowercase hex; BOX is XSalsa20-Poly1305
 * (crypto_secretbox) of the 32-byte key under the key Argon2id derives from
 * the passphrase. A wrong passphrase or a changed byte fails to open; it
 * never yields a wrong key. The passphrase is never stored.
 */
#ifndef FERRY_VAULT_KEYEXPORT_H
#define FERRY_VAULT_KEYEXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "vault/masterkey.h"

#define KEYEXPORT_MIN_PASSPHRASE 12

/* Appends the sealed form of key to out. The passphrase must have at least
 * KEYEXPORT_MIN_PASSPHRASE bytes. Returns 0, or -1 with e set. */
int master_key_seal_passphrase(const uint8_t key[MASTER_KEY_BYTES], const char *passphrase,
			       struct strbuf *out, struct ferr *e);

/* Opens text (len bytes, the format above) with passphrase into key.
 * Returns 0, or -1 with e set ("wrong passphrase or damaged file"). */
int master_key_unseal_passphrase(const char *text, size_t len, const char *passphrase,
				 uint8_t key[MASTER_KEY_BYTES], struct ferr *e);

#endif
