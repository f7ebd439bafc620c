/*
 * WFP connection redirection: per-socket state, contexts and the key
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
 * Like the records codec this is plain C with no Wine dependency, so that
 * the native unit tests cover it; server/sock_wfp.c connects it to the
 * wineserver's sockets and requests.
 */

#ifndef __WINE_SERVER_WFP_STORE_H
#define __WINE_SERVER_WFP_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "wfp_records.h"

/* The default redirect context: two SOCKADDR_STORAGE, the original remote
 * (destination) and the original local (source) endpoint, as Microsoft's
 * WFPSampler callout lays it out. */
#define WFP_SOCKADDR_STORAGE_SIZE  128
#define WFP_CONTEXT_DEFAULT_SIZE   (2 * WFP_SOCKADDR_STORAGE_SIZE)
#define WFP_SOCKADDR_IN_SIZE       16
#define WFP_SOCKADDR_IN6_SIZE      28

struct wfp_pending;
struct wfp_udp_note;
struct callout_client;
struct classify_request;

/* Redirect state of one socket.  Sockets that nobody asks about, that
 * carry no records and that no rule redirected have none: the
 * wineserver's struct sock holds a NULL pointer. */
struct wfp_conn
{
    uint8_t     *records;               /* an authentic blob, or NULL */
    uint16_t     records_size;
    unsigned int inbound : 1;           /* the records tell how this accepted connection got here */
    unsigned int redirect_checked : 1;  /* the records of the connection are settled */
    unsigned int context_none : 1;      /* the rule that redirected it gives no context */
    unsigned int marked : 1;            /* SET gave the socket an SO_MARK */
    unsigned int connect_pending : 1;   /* connect() is under way with the fields below */
    uint8_t      connect_rule_context;  /* enum wfp_context_layout of the rule */
    uint16_t     connect_rule_service;  /* the rule that redirected this connect(), or 0 */
    struct wfp_endpoint connect_original;     /* where the program asked to connect */
    struct wfp_endpoint connect_destination;  /* where it connects */
    struct wfp_pending *arrival;        /* an accepted connection's note from its connecting side */
    struct wfp_pending *note;           /* the note this connecting socket left, while it is kept */
    struct wfp_readers *readers;        /* other processes that asked for the records */
    struct wfp_udp_note *udp_notes;     /* a UDP socket's flows that rules redirected, newest first */
    /* callout drivers (wfp_callout.c) */
    uint16_t     connect_callout_service;   /* the callout that redirected this connect(), or 0 */
    uint32_t     connect_callout_target;    /* and its localRedirectTargetPID, or 0 */
    struct wfp_endpoint connect_callout_original; /* where the program connected, then */
    uint8_t     *connect_context;       /* and the context it gave, for the note */
    uint16_t     connect_context_size;
    uint8_t     *context;               /* an accepted connection's context from a callout */
    uint16_t     context_size;
    struct callout_client *callout_client;      /* an engine socket's */
    struct classify_request *callout_request;   /* a connect() the callouts are asked about */
};

/* the wineserver's, for the state of callout drivers; NULL in the tests */
extern void (*wfp_conn_free_hook)( struct wfp_conn *wfp );

/* Processes other than the redirect target that were handed the accepted
 * socket (WSADuplicateSocket, DuplicateHandle) and asked for its records:
 * they may SET them too, while the socket is open. */
#define WFP_MAX_READERS 8

struct wfp_readers
{
    struct wfp_readers   *next;         /* in the table of readers, by flow */
    uint64_t              flow_id;      /* of the last hop of the socket's records */
    unsigned int          count;
    struct wfp_process_id ids[WFP_MAX_READERS];
};

/* how many sockets have state, for the statistics */
extern unsigned int wfp_conn_count;

/* A UDP flow that a rule sent to a proxy, kept while its socket lives, so
 * that the proxy's request for the flow's first datagram finds where it
 * was going.  One sending endpoint and one proxy make one flow: a proxy
 * cannot tell two apart. */
struct wfp_udp_note
{
    struct wfp_udp_note  *next;           /* the socket's */
    struct wfp_udp_note  *all_next;       /* in wfp_udp_notes */
    struct wfp_udp_note **all_prev;
    int                   unix_fd;        /* the sending socket's */
    struct wfp_endpoint   source;         /* its local endpoint; port 0 until it is bound */
    struct wfp_endpoint   original_dst;   /* where the program sent */
    struct wfp_endpoint   proxy;          /* where the rule sent it */
    uint16_t              rule_service;
    uint8_t               rule_context;
    uint64_t              used_ms;        /* when ntdll last asked about the flow (monotonic) */
};

#define WFP_UDP_NOTES_PER_SOCKET   256
#define WFP_UDP_NOTES_MAX          16384

extern struct wfp_udp_note *wfp_udp_notes;
extern unsigned int wfp_udp_note_count;

enum wfp_store_result
{
    WFP_STORE_OK,
    WFP_STORE_INVALID,          /* the blob failed decoding */
    WFP_STORE_TOO_MANY_HOPS,    /* the chain already has WFP_RECORDS_MAX_HOPS hops */
    WFP_STORE_NO_MEMORY,
    WFP_STORE_TOO_MANY_READERS,
};

extern struct wfp_conn *wfp_conn_get( struct wfp_conn **slot );
extern void wfp_conn_free( struct wfp_conn *wfp );
extern void wfp_conn_reset( struct wfp_conn *wfp );
extern void wfp_conn_move( struct wfp_conn **to, struct wfp_conn **from );
extern enum wfp_store_result wfp_conn_keep_records( struct wfp_conn *wfp, const void *blob, size_t size );
extern enum wfp_store_result wfp_conn_add_hop( struct wfp_conn *wfp, const struct wfp_records *earlier,
                                                 const struct wfp_hop *hop,
                                                 const uint8_t key[WFP_RECORDS_KEY_SIZE] );
extern struct wfp_udp_note *wfp_udp_note_add( struct wfp_conn *wfp );
extern void wfp_udp_note_free( struct wfp_conn *wfp, struct wfp_udp_note *note );
extern int wfp_conn_last_hop( const struct wfp_conn *wfp, struct wfp_hop *hop );
extern enum wfp_store_result wfp_conn_add_reader( struct wfp_conn *wfp, uint64_t flow_id,
                                                    const struct wfp_process_id *reader );
extern int wfp_flow_has_reader( uint64_t flow_id, const struct wfp_process_id *reader );

extern int wfp_endpoint_from_sockaddr( const struct sockaddr *addr, socklen_t len, struct wfp_endpoint *endpoint );
extern size_t wfp_endpoint_to_win_sockaddr( const struct wfp_endpoint *endpoint, int want_ipv6,
                                            uint8_t *buffer, size_t size );
extern size_t wfp_context_default( const struct wfp_hop *hop, uint8_t *buffer, size_t size );

extern int wfp_key_load( const char *dir, uint8_t key[WFP_RECORDS_KEY_SIZE], char *error, size_t error_size );
extern const char *wfp_key_default_dir( char *buffer, size_t size );

#endif /* __WINE_SERVER_WFP_STORE_H */
