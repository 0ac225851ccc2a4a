/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kite's event loop: one epoll set on the main thread for every file
 * descriptor (chardevs, monitors, net backends, ioeventfds that are not
 * handled in the kernel) plus timers with nanosecond deadlines. vCPU threads never touch
 * the loop directly; they use ml_call_from_thread() to queue work here.
 */
#ifndef KITE_MAIN_LOOP_H
#define KITE_MAIN_LOOP_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*ml_fd_cb)(int fd, uint32_t events, void *opaque);
typedef void (*ml_cb)(void *opaque);

int ml_init(void);
/* Watch fd for EPOLLIN/EPOLLOUT/... ; replaces an existing watch of fd. */
int ml_add_fd(int fd, uint32_t events, ml_fd_cb cb, void *opaque);
/* Change the event mask of an fd already watched. */
int ml_mod_fd(int fd, uint32_t events);
void ml_del_fd(int fd);

/* Monotonic clock in nanoseconds. */
int64_t ml_now_ns(void);

typedef struct ml_timer ml_timer;
ml_timer *ml_timer_new(ml_cb cb, void *opaque);
/*
 * A timer of the guest's virtual clock (vclock_ns()): device timers. Armed
 * with ml_timer_mod() in vclock nanoseconds. Normally the virtual clock is
 * the host's and these are ordinary timers; once ml_set_virtual_clock() has
 * given another clock (qtest), they fire only from ml_run_virtual_timers(),
 * when that clock is moved, never on host time.
 */
ml_timer *ml_timer_new_virtual(ml_cb cb, void *opaque);
void ml_set_virtual_clock(int64_t (*now)(void));
/* Earliest deadline of an armed virtual timer, or -1. */
int64_t ml_virtual_deadline(void);
/* Fire the virtual timers due at 'now' (qtest's clock_step/clock_set). */
void ml_run_virtual_timers(int64_t now);
/* Arm to fire once at absolute monotonic time 'when_ns'; re-arming moves it. */
void ml_timer_mod(ml_timer *t, int64_t when_ns);
void ml_timer_del(ml_timer *t); /* disarm */
void ml_timer_free(ml_timer *t);

/* Whether the caller is the main loop's thread (not a vCPU). */
bool ml_on_main_thread(void);

/* Run cb(opaque) on the main loop thread soon; safe from any thread. */
void ml_call_from_thread(ml_cb cb, void *opaque);

/* Run one iteration (wait at most timeout_ms, -1 = until something happens).
 * Returns false once ml_quit() was called. */
bool ml_iterate(int timeout_ms);
void ml_run(void);
void ml_quit(void);

/* Called around the blocking epoll_wait() of ml_iterate(): kite drops its
 * big lock while the main loop sleeps and takes it back to dispatch. */
void ml_set_poll_hooks(ml_cb before_wait, ml_cb after_wait, void *opaque);

#endif
