#define INI_HANDLER_LINENO 1
#include <ini.h>

/* Debian's libinih has its options as process-wide globals, which Swift 6 refuses to touch
   directly. This sets them so inih scans like wg(8): only `#` comments (a `;` stays in the value),
   no indentation continuation, no BOM skipping, a heap line buffer that may grow to max_line (the
   longest line fits whole, so inih's line numbers stay the file's), and keep going after a bad
   line. The caller serialises parses. */
static inline void wg_ice_inih_configure(int max_line) {
    static char comment_prefix[] = "#";
    ini_start_comment_prefixes = comment_prefix;
    ini_inline_comment_prefixes = comment_prefix;
    ini_allow_inline_comments = 1;
    ini_allow_multiline = 0;
    ini_allow_bom = 0;
    ini_allow_no_value = 0;
    ini_stop_on_first_error = 0;
    ini_use_stack = 0;
    ini_allow_realloc = 1;
    ini_initial_alloc = 256;
    ini_max_line = max_line;
}
