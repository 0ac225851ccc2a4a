/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Process-level services of the kite program (vl.c). */
#ifndef KITE_VL_H
#define KITE_VL_H

#include <stdbool.h>

/* Leave the main loop and exit with status after cleanup (pidfile,
 * sockets, terminal). Main loop thread. */
void kite_request_exit(int status);
/* Clean up and exit right now; any thread (isa-debug-exit). */
void kite_exit_now(int status) __attribute__((noreturn));
bool kite_daemonize_requested(void);
/* The whole program; main.c only calls this. */
int kite_main(int argc, char **argv);

#endif
