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
 * connections that go to different destinations.
 *
 * Endpoints alone do not name a connection: once one is gone, a later one
 * may have the same four (a port reused, TIME_WAIT reused on loopback).
 * So an entry also keeps the connecting socket's cookie, and accept()
 * takes it only if the kernel still has that very socket, in any state
 * short of TIME_WAIT (after its program closed it too: a client may send
 * and close before the accept).  While the connecting socket is open the
 * entry costs nothing; once it is closed, the sweep asks the kernel about
 * that one socket until it is gone.  Plain C, tested natively.
 */

#ifndef __WINE_SERVER_WFP_PENDING_H
#define __WINE_SERVER_WFP_PENDING_H

#include <stddef.h>
#include <stdint.h>

#include "wfp_records.h"

#define WFP_PENDING_MAX              65536   /* connections in flight with records, for all processes */
#define WFP_PENDING_MAX_PER_PROCESS  16384   /* ... and for one process, unless configured otherwise */
#define WFP_PENDING_SWEEP_VISITS      1024   /* entries one sweep looks at, at most (plus one chain) */
#define WFP_PENDING_SWEEP_LOOKUPS       64   /* NETLINK_SOCK_DIAG requests one sweep makes, likewise */

struct wfp_pending_table;

enum wfp_liveness
{
    WFP_CONNECTION_GONE,
    WFP_CONNECTION_ALIVE,
    WFP_CONNECTION_UNKNOWN,    /* NETLINK_SOCK_DIAG cannot say */
};

struct wfp_pending
{
    struct wfp_pending *next;          /* in the hash chain */
    struct wfp_pending_table *table;   /* the table the entry is in, NULL once taken */
    struct wfp_pending **link;         /* the connecting socket's pointer to the entry; NULL once it is closed */
    uint64_t            cookie;        /* the connecting socket's SO_COOKIE (0: unknown), which tells this
                                          connection from a later one between the same endpoints */
    struct wfp_endpoint source;        /* the connecting socket's local endpoint */
    struct wfp_endpoint destination;   /* where it connected; with source, the key */
    struct wfp_endpoint original_dst;  /* where the program asked to connect (before a rule) */
    uint8_t            *records;       /* the connecting socket's records, or NULL */
    uint16_t            records_size;
    uint16_t            rule_service;  /* the service of the rule that redirected it, or 0 */
    uint8_t             rule_context;  /* its enum wfp_context_layout */
    uint8_t             netfilter;     /* netfilter redirected it on its way to the accept */
    uint16_t            callout_service;   /* the callout that redirected it, or 0 */
    uint32_t            callout_target;    /* its localRedirectTargetPID, or 0 */
    uint8_t            *callout_context;   /* and the context it gave */
    uint16_t            callout_context_size;
    uint32_t            owner_pid;     /* the process that connected */
    uint64_t            created_ms;    /* monotonic */
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
    unsigned int         orphans;       /* entries whose connecting socket is closed */
    unsigned int         sweep_cursor;  /* the bucket the next sweep starts at */
    struct wfp_pending_owner *owners;   /* notes per process, for the cap */
    unsigned int         owner_count, owner_capacity;
    unsigned int         per_process_max;   /* 0 for WFP_PENDING_MAX_PER_PROCESS */
    /* NULL: ask the kernel (wfp_connection_alive); the unit tests set their own */
    enum wfp_liveness  (*alive)( const struct wfp_pending *entry );
};

extern int wfp_pending_room( const struct wfp_pending_table *table, uint32_t pid );
extern unsigned int wfp_pending_per_process_max( const struct wfp_pending_table *table );
extern struct wfp_pending *wfp_pending_add( struct wfp_pending_table *table, const struct wfp_endpoint *source,
                                            const struct wfp_endpoint *destination, uint32_t pid );
extern struct wfp_pending *wfp_pending_take( struct wfp_pending_table *table, const struct wfp_endpoint *source,
                                             const struct wfp_endpoint *destination );
extern void wfp_pending_link( struct wfp_pending *entry, struct wfp_pending **link );
extern void wfp_pending_orphan( struct wfp_pending *entry );
extern void wfp_pending_free( struct wfp_pending *entry );
extern void wfp_pending_clear( struct wfp_pending_table *table );
extern unsigned int wfp_pending_sweep( struct wfp_pending_table *table, uint64_t now_ms, uint64_t grace_ms,
                                       uint64_t max_age_ms );

/* Is the connecting side of this connection (its local endpoint, the
 * remote one, and its socket cookie, 0 for any) still there, and not in
 * TIME_WAIT?  One NETLINK_SOCK_DIAG request, for one socket. */
extern enum wfp_liveness wfp_connection_alive( const struct wfp_endpoint *local, const struct wfp_endpoint *remote,
                                               uint64_t cookie );
extern unsigned int wfp_liveness_unknown;   /* how often the kernel could not say */

#endif /* __WINE_SERVER_WFP_PENDING_H */
