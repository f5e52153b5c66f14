/* The master key sealed with a passphrase (Argon2id + secretbox); see
 * keyexport.h. */
#include "vault/keyexport.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

#define MAGIC "ferry-sealed-master-key 1 argon2id13"
/* Argon2id cost: libsodium's "moderate" time cost with 64 MiB, so that a
 * backup can be made and restored on a small machine. Stored in the text,
 * so it can be raised later without breaking old backups. */
#define OPSLIMIT 3ULL
#define MEMLIMIT (64ULL << 20)

static void add_hex(struct strbuf *out, const uint8_t *b, size_t n)
{
	char hex[2 * 64 + 1];

	sodium_bin2hex(hex, sizeof(hex), b, n);
	strbuf_addstr(out, hex);
}

int master_key_seal_passphrase(const uint8_t key[MASTER_KEY_BYTES], const char *passphrase,
			       struct strbuf *out, struct ferr *e)
{
	uint8_t salt[crypto_pwhash_SALTBYTES], nonce[crypto_secretbox_NONCEBYTES];
	uint8_t box[crypto_secretbox_MACBYTES + MASTER_KEY_BYTES];
	uint8_t *k = sodium_malloc(crypto_secretbox_KEYBYTES);
	int rc = -1;

	if (!k)
		return ferr_internal(e, "out of memory");
	if (strlen(passphrase) < KEYEXPORT_MIN_PASSPHRASE) {
		ferr_invalid(e, "the passphrase has %zu characters: use at least %d", strlen(passphrase),
			     KEYEXPORT_MIN_PASSPHRASE);
		goto out;
	}
	randombytes_buf(salt, sizeof(salt));
	randombytes_buf(nonce, sizeof(nonce));
	if (crypto_pwhash(k, crypto_secretbox_KEYBYTES, passphrase, strlen(passphrase), salt, OPSLIMIT,
			  (size_t)MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0) {
		ferr_internal(e, "deriving a key from the passphrase: out of memory");
		goto out;
	}
	crypto_secretbox_easy(box, key, MASTER_KEY_BYTES, nonce, k);
	strbuf_addf(out, MAGIC " %llu %llu ", OPSLIMIT, MEMLIMIT);
	add_hex(out, salt, sizeof(salt));
	strbuf_addch(out, ' ');
	add_hex(out, nonce, sizeof(nonce));
	strbuf_addch(out, ' ');
	add_hex(out, box, sizeof(box));
	strbuf_addch(out, '\n');
	rc = 0;
out:
	sodium_free(k);
	return rc;
}

static int hex_field(const char **p, const char *end, uint8_t *b, size_t n)
{
	size_t got = 0;
	const char *stop;

	while (*p < end && **p == ' ')
		(*p)++;
	for (stop = *p; stop < end && *stop != ' '; stop++)
		;
	while (stop > *p && (stop[-1] == '\n' || stop[-1] == '\r'))
		stop--;
	if (sodium_hex2bin(b, n, *p, (size_t)(stop - *p), NULL, &got, NULL) != 0 || got != n)
		return -1;
	*p = stop;
	return 0;
}

int master_key_unseal_passphrase(const char *text, size_t len, const char *passphrase,
				 uint8_t key[MASTER_KEY_BYTES], struct ferr *e)
{
	uint8_t salt[crypto_pwhash_SALTBYTES], nonce[crypto_secretbox_NONCEBYTES];
	uint8_t box[crypto_secretbox_MACBYTES + MASTER_KEY_BYTES];
	unsigned long long ops, mem;
	const char *p = text, *end = text + len;
	char head[128];
	uint8_t *k;
	int n = 0, rc = -1;

	if (len < sizeof(MAGIC) || memcmp(text, MAGIC " ", sizeof(MAGIC)))
		return ferr_invalid(e, "not a sealed ferry master key (it should start with \"%s\")", MAGIC);
	snprintf(head, sizeof(head), "%.*s", (int)(len < 127 ? len : 127), text);
	if (sscanf(head + sizeof(MAGIC), "%llu %llu %n", &ops, &mem, &n) != 2 || !n ||
	    ops < crypto_pwhash_OPSLIMIT_MIN || ops > crypto_pwhash_OPSLIMIT_SENSITIVE ||
	    mem < crypto_pwhash_MEMLIMIT_MIN || mem > (1ULL << 30))
		return ferr_invalid(e, "the sealed master key has bad cost parameters");
	p = text + sizeof(MAGIC) + n;
	if (hex_field(&p, end, salt, sizeof(salt)) < 0 || hex_field(&p, end, nonce, sizeof(nonce)) < 0 ||
	    hex_field(&p, end, box, sizeof(box)) < 0)
		return ferr_invalid(e, "the sealed master key is damaged (a field is not the hex it should be)");
	k = sodium_malloc(crypto_secretbox_KEYBYTES);
	if (!k)
		return ferr_internal(e, "out of memory");
	if (crypto_pwhash(k, crypto_secretbox_KEYBYTES, passphrase, strlen(passphrase), salt, ops,
			  (size_t)mem, crypto_pwhash_ALG_ARGON2ID13) != 0) {
		ferr_internal(e, "deriving a key from the passphrase: out of memory");
		goto out;
	}
	if (crypto_secretbox_open_easy(key, box, sizeof(box), nonce, k) != 0) {
		sodium_memzero(key, MASTER_KEY_BYTES);
		ferr_set(e, 403, "forbidden", "the sealed master key does not open: wrong passphrase or damaged file");
		goto out;
	}
	rc = 0;
out:
	sodium_free(k);
	return rc;
}
