// GNU readline as Debian's libreadline-dev installs it. readline.h needs
// stdio.h first. Swift 6 refuses direct use of mutable C globals, so the few
// that the line editor sets or reads have accessors here.
#include <stdio.h>
#include <readline/readline.h>
#include <readline/history.h>

/// One-time set-up: the application name for inputrc's `$if jobrules`, no
/// signal handlers of readline's own (the host routes Ctrl-C), the completer,
/// and the characters that end the word being completed.
static inline void jr_rl_configure(rl_completion_func_t *complete) {
    rl_readline_name = "jobrules";
    rl_catch_signals = 0;
    // Its SIGWINCH handler stays while a line is read: a resized terminal rewraps the line.
    rl_catch_sigwinch = 1;
    rl_persistent_signal_handlers = 1;
    rl_change_environment = 0;
    rl_attempted_completion_function = complete;
    // Everything but identifier characters: the word is the identifier being typed.
    rl_completer_word_break_characters = (char *)" \t\n\"\\'`@$><=;|&{(,.:[])}+-*/%^~#";
    rl_completer_quote_characters = NULL;
    // Otherwise a quote that ends the word before the one completed is
    // appended after a single match: `"awa` would complete to `"awaiting_response"`
    // where the user may go on typing inside the string.
    rl_basic_quote_characters = "";
}

/// Inside the completer: no filename completion as a fallback, and what to append to a single match.
static inline void jr_rl_completion_done(int append) {
    rl_attempted_completion_over = 1;
    rl_completion_append_character = append;
}

/// The line being edited.
static inline const char *jr_rl_line(void) { return rl_line_buffer; }

/// Ctrl-C while typing: the cursor goes to the end of the line, which is
/// marked `^C` and left on screen as typed.
static inline void jr_rl_mark_interrupted(void) {
    rl_point = rl_end;
    rl_redisplay();
    fputs("^C", rl_outstream ? rl_outstream : stdout);
    fflush(rl_outstream ? rl_outstream : stdout);
}

/// Readline 8.2 keeps the end-of-file flag across lines in callback mode, and
/// while it is set every line ends with an extra newline: cleared per line.
static inline void jr_rl_reset_eof(void) { rl_eof_found = 0; }

/// Readline itself ends the line at end of file when bracketed paste is on.
static inline int jr_rl_newline_at_eof(void) {
    const char *value = rl_variable_value("enable-bracketed-paste");
    return value != NULL && value[0] == 'o' && value[1] == 'n';
}

/// The newest history entry, or NULL.
static inline const char *jr_rl_last_history(void) {
    HIST_ENTRY *entry = history_get(history_base + history_length - 1);
    return entry ? entry->line : NULL;
}
