/*
 * WFP connection redirection: connections on their way to an accept()
 *
 * Copyright 2026 The wine-wfp authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 *
 * This library is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
 * Lesser General Public License for more details.
 *
 * You should have received a copy of the GNU Lesser General Public
 * License along with this library; if not, write to the Free Software
 * Foundation, Inc., 51 Franklin St, Fifth Floor, Boston, MA 02110-1301, USA
 */

/*
 * When a socket that carries records (from SET), or that a rule
 * redirected, connects, the wineserver notes the connection here, keyed
 * by its two endpoints as the connecting socket sees them: the accepting
 * side finds them as its peer address and its own address (or, if
 * netfilter redirected the connection, its conntrack original
 * destination).  Both are needed: Linux gives one local port to several
 * connections that go to different destinations.  accept() takes the
 * entry; a connection that nobody in this wineserver accepts is dropped
 * once the kernel no longer knows it.  The note does not depend on the
 * connecting socket, which may be closed before the accept.  Plain C,
 * tested natively.
 */

#ifndef __WINE_SERVER_WFP_PENDING_H
#define __WINE_SERVER_WFP_PENDING_H

#include <stddef.h>
#include <stdint.h>

#include "wfp_records.h"

#define WFP_PENDING_MAX              65536   /* connections in flight with records, for all processes */
#define WFP_PENDING_MAX_PER_PROCESS  16384   /* ... and for one process, unless configured otherwise */

struct wfp_pending
{
    struct wfp_pending *next;          /* in the hash chain */
    struct wfp_endpoint source;        /* the connecting socket's local endpoint */
    struct wfp_endpoint destination;   /* where it connected; with source, the key */
    struct wfp_endpoint original_dst;  /* where the program asked to connect (before a rule) */
    uint8_t            *records;       /* the connecting socket's records, or NULL */
    uint16_t            records_size;
    uint16_t            rule_service;  /* the service of the rule that redirected it, or 0 */
    uint8_t             rule_context;  /* its enum wfp_context_layout */
    uint8_t             netfilter;     /* netfilter redirected it on its way to the accept */
    uint32_t            owner_pid;     /* the process that connected */
    uint64_t            created_ms;
};

struct wfp_pending_owner
{
    uint32_t     pid;
    unsigned int count;
};

struct wfp_pending_table
{
    struct wfp_pending **buckets;
    unsigned int         bucket_count;
    unsigned int         count;
    struct wfp_pending_owner *owners;   /* notes per process, for the cap */
    unsigned int         owner_count, owner_capacity;
    unsigned int         per_process_max;   /* 0 for WFP_PENDING_MAX_PER_PROCESS */
};

extern int wfp_pending_room( const struct wfp_pending_table *table, uint32_t pid );
extern unsigned int wfp_pending_per_process_max( const struct wfp_pending_table *table );
extern struct wfp_pending *wfp_pending_add( struct wfp_pending_table *table, const struct wfp_endpoint *source,
                                            const struct wfp_endpoint *destination, uint32_t pid );
extern struct wfp_pending *wfp_pending_take( struct wfp_pending_table *table, const struct wfp_endpoint *source,
                                             const struct wfp_endpoint *destination );
extern void wfp_pending_free( struct wfp_pending *entry );
extern void wfp_pending_clear( struct wfp_pending_table *table );
extern unsigned int wfp_pending_sweep( struct wfp_pending_table *table, uint64_t now_ms, uint64_t grace_ms,
                                       uint64_t max_age_ms );

/* Calls func for every TCP socket of this network namespace that is not
 * listening, closed or in TIME_WAIT.  Returns 0 if the kernel cannot say. */
extern int wfp_for_each_tcp_connection( void (*func)( const struct wfp_endpoint *local,
                                                      const struct wfp_endpoint *remote, void *arg ),
                                        void *arg );

#endif /* __WINE_SERVER_WFP_PENDING_H */
