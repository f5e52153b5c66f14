#include "names.h"

#include <ctype.h>
#include <string.h>

#include "lib/banned.h"

int name_check_label(const char *what, const char *s, struct ferr *e)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0)
		return ferr_invalid(e, "%s is empty: give a name of 1-63 lowercase letters, digits or '-'", what);
	if (n > 63)
		return ferr_invalid(e, "%s \"%.70s…\" is %zu characters long: at most 63 are allowed", what, s, n);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
			continue;
		if (c >= 'A' && c <= 'Z')
			return ferr_invalid(e, "%s \"%s\" has an uppercase letter '%c': names are lowercase DNS labels", what, s, c);
		if (isprint((unsigned char)c))
			return ferr_invalid(e, "%s \"%s\" has '%c' at position %zu: only lowercase letters, digits and '-' are allowed", what, s, c, i + 1);
		return ferr_invalid(e, "%s has a non-printable or non-ASCII character at position %zu: only lowercase letters, digits and '-' are allowed", what, i + 1);
	}
	if (s[0] == '-' || s[n - 1] == '-')
		return ferr_invalid(e, "%s \"%s\" starts or ends with '-': a DNS label must start and end with a letter or digit", what, s);
	return 0;
}

int name_check_env_key(const char *what, const char *s, struct ferr *e)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0)
		return ferr_invalid(e, "%s is empty", what);
	if (n > 255)
		return ferr_invalid(e, "%s is %zu characters long: at most 255 are allowed", what, n);
	if (isdigit((unsigned char)s[0]))
		return ferr_invalid(e, "%s \"%s\" starts with a digit: use [A-Za-z_][A-Za-z0-9_]*", what, s);
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return ferr_invalid(e, "%s \"%.64s\" has an invalid character at position %zu: use [A-Za-z_][A-Za-z0-9_]*", what, s, i + 1);
	return 0;
}
