#define _GNU_SOURCE
#include "CPTY.h"

#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/ioctl.h>

pid_t jr_pty_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd, int rows, int cols,
                   int *controller) {
    struct winsize size = {0};
    size.ws_row = (unsigned short)rows;
    size.ws_col = (unsigned short)cols;
    pid_t pid = forkpty(controller, NULL, NULL, &size);
    if (pid == 0) {
        // The child: only async-signal-safe calls until exec. A terminal's
        // program starts with no signal blocked or ignored (the test runner's
        // threads block some, and the mask survives exec).
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
        if (cwd != NULL && chdir(cwd) != 0) _exit(126);
        execve(path, argv, envp);
        _exit(127);
    }
    return pid;
}
