/* Unit tests of vault/keyexport: the master key sealed with a passphrase
 * opens with that passphrase only, and a changed byte never yields a key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "vault/keyexport.h"

static const char pass[] = "correct horse battery staple";

static void test_round_trip(void **state)
{
	uint8_t key[MASTER_KEY_BYTES], back[MASTER_KEY_BYTES];
	struct strbuf sb = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	char hex[2 * MASTER_KEY_BYTES + 1];

	(void)state;
	master_key_generate(key);
	assert_int_equal(master_key_seal_passphrase(key, pass, &sb, &e), 0);
	assert_true(!strncmp(sb.buf, "ferry-sealed-master-key 1 argon2id13 ", 37));
	/* the key itself does not appear */
	sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
	assert_null(strstr(sb.buf, hex));
	assert_int_equal(master_key_unseal_passphrase(sb.buf, sb.len, pass, back, &e), 0);
	assert_memory_equal(key, back, sizeof(key));
	strbuf_release(&sb);
}

static void test_wrong_passphrase_and_tampering(void **state)
{
	uint8_t key[MASTER_KEY_BYTES], back[MASTER_KEY_BYTES];
	struct strbuf sb = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	char *last;

	(void)state;
	master_key_generate(key);
	assert_int_equal(master_key_seal_passphrase(key, pass, &sb, &e), 0);
	assert_int_equal(master_key_unseal_passphrase(sb.buf, sb.len, "correct horse battery stapler", back, &e), -1);
	assert_non_null(strstr(e.msg, "wrong passphrase"));
	/* flip one hex digit of the box */
	last = sb.buf + sb.len - 2;
	*last = *last == '0' ? '1' : '0';
	e = (struct ferr)FERR_INIT;
	assert_int_equal(master_key_unseal_passphrase(sb.buf, sb.len, pass, back, &e), -1);
	assert_non_null(strstr(e.msg, "does not open"));
	e = (struct ferr)FERR_INIT;
	assert_int_equal(master_key_unseal_passphrase("hello", 5, pass, back, &e), -1);
	assert_non_null(strstr(e.msg, "not a sealed ferry master key"));
	strbuf_release(&sb);
}

static void test_short_passphrase_refused(void **state)
{
	uint8_t key[MASTER_KEY_BYTES];
	struct strbuf sb = STRBUF_INIT;
	struct ferr e = FERR_INIT;

	(void)state;
	master_key_generate(key);
	assert_int_equal(master_key_seal_passphrase(key, "short", &sb, &e), -1);
	assert_non_null(strstr(e.msg, "at least 12"));
	assert_int_equal(sb.len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_wrong_passphrase_and_tampering),
		cmocka_unit_test(test_short_passphrase_refused),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
