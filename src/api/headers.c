#include "api/headers.h"

#include <microhttpd.h>

#include "lib/banned.h"

static void common(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
}

void api_add_safe_headers(struct MHD_Response *resp)
{
	common(resp);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'none'; frame-ancestors 'none'; sandbox");
}

void api_add_console_headers(struct MHD_Response *resp, const char *cache)
{
	common(resp);
	MHD_add_response_header(resp, "Cache-Control", cache);
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
				"font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; "
				"form-action 'self'; frame-ancestors 'none'");
}
