// The bus-error guard. A signal handler must only call async-signal-safe
// functions (write, _exit, sigaction): that is why this is C and not Swift.
#include "CSystem.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static _Atomic(const char *) guarded_base;
static _Atomic size_t guarded_length;
static char guard_message[1024];
static size_t guard_message_length;
static int guard_status;
static struct sigaction previous;
static atomic_int installed;

static void on_bus_error(int signal, siginfo_t *info, void *context) {
    const char *base = atomic_load(&guarded_base);
    const char *address = info->si_addr;
    if (base != NULL && address >= base && (size_t)(address - base) < atomic_load(&guarded_length)) {
        ssize_t ignored = write(STDERR_FILENO, guard_message, guard_message_length);
        (void)ignored;
        _exit(guard_status);
    }
    // Not ours: the previous handling, by returning into the same fault.
    sigaction(SIGBUS, &previous, NULL);
    (void)signal;
    (void)context;
}

int jr_guard_mapping(const void *base, size_t length, const char *message, int status) {
    atomic_store(&guarded_base, NULL);
    size_t n = strlen(message);
    if (n > sizeof guard_message - 2) n = sizeof guard_message - 2;
    memcpy(guard_message, message, n);
    guard_message[n] = '\n';
    guard_message_length = n + 1;
    guard_status = status;
    atomic_store(&guarded_length, length);
    atomic_store(&guarded_base, (const char *)base);
    if (atomic_exchange(&installed, 1)) return 0;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_bus_error;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGBUS, &action, &previous) != 0) {
        atomic_store(&installed, 0);
        atomic_store(&guarded_base, NULL);
        return -1;
    }
    return 0;
}

void jr_unguard_mapping(const void *base) {
    const char *expected = base;
    atomic_compare_exchange_strong(&guarded_base, &expected, NULL);
}
