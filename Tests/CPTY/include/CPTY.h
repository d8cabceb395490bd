// Test support: start a program on a new pseudo-terminal, as a terminal
// emulator does, so that the REPL sees a real terminal (and Ctrl-C typed on
// it becomes SIGINT for its process group).
#ifndef JOBRULES_CPTY_H
#define JOBRULES_CPTY_H

#include <sys/types.h>

/// Runs `path` with `argv` and `envp` in `cwd` on a new pseudo-terminal of
/// `rows` x `cols` that becomes its controlling terminal. Returns the child's
/// pid (and the terminal's controller side in `*controller`), or -1 with errno set.
pid_t jr_pty_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd, int rows, int cols,
                   int *controller);

#endif
