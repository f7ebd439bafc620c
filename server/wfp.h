/*
 * WFP connection redirect records of the server's sockets
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

#ifndef __WINE_SERVER_WFP_H
#define __WINE_SERVER_WFP_H

#include <sys/socket.h>
#include <netinet/in.h>

/* What sock.c tells the WFP code about a socket. */
struct wfp_sock_info
{
    int            unix_fd;
    unsigned short family;      /* WS_AF_* */
    unsigned short type;        /* WS_SOCK_* */
    unsigned int   listening : 1;
    unsigned int   connecting : 1;
    unsigned int   connected : 1;
    unsigned int   deliver_records : 1;  /* IP(V6)_WFP_REDIRECT_RECORDS */
    unsigned int   deliver_context : 1;  /* IP(V6)_WFP_REDIRECT_CONTEXT */
};

struct async;
struct wfp_socket;
struct wfp_udp;

union wfp_unix_addr
{
    struct sockaddr     addr;
    struct sockaddr_in  in;
    struct sockaddr_in6 in6;
};

extern unsigned short wfp_addr_port( const union wfp_unix_addr *addr );
extern int wfp_addr_equal( const union wfp_unix_addr *a, const union wfp_unix_addr *b );
extern int wfp_addr_from_unix( union wfp_unix_addr *addr, const struct sockaddr *unix_addr, socklen_t len );

/* The checks that every SET and QUERY makes first; 0 with the error set. */
extern int wfp_sock_can_set( const struct wfp_sock_info *sock, data_size_t size );
extern int wfp_sock_can_query( const struct wfp_sock_info *sock );
extern int wfp_sock_is_connected_udp( const struct wfp_sock_info *sock );
extern int wfp_sock_size_query( unsigned int *code );

extern void wfp_reply_data( struct async *async, const void *data, data_size_t size );
extern void wfp_sock_ioctl( struct wfp_socket **wfp, const struct wfp_sock_info *sock, unsigned int code,
                            struct async *async );
extern void wfp_sock_connected( struct wfp_socket *wfp, int unix_fd, const struct sockaddr *local, socklen_t len );
extern void wfp_sock_accepted( struct wfp_socket **wfp, int unix_fd );
extern void wfp_socket_free( struct wfp_socket *wfp );
extern void wfp_socket_move( struct wfp_socket **to, struct wfp_socket **from );

/* UDP flows: records that WSASendMsg gave, delivered with the first
 * datagram of the flow (wfp_udp.c) */
extern void wfp_udp_deliver( int unix_fd, unsigned short family, int deliver );
extern void wfp_udp_ioctl( struct wfp_udp **udp, const struct wfp_sock_info *sock, unsigned int code,
                           struct async *async );
extern void wfp_udp_free( struct wfp_udp *udp );
extern int wfp_udp_flow_params( const struct wfp_sock_info *sock, union wfp_unix_addr *peer,
                                union wfp_unix_addr *local );
extern const void *wfp_udp_flow_records( const union wfp_unix_addr *destination, const union wfp_unix_addr *sender,
                                         data_size_t *size );
extern void wfp_udp_reply_flow( const void *records, data_size_t records_size, const void *context,
                                data_size_t context_size );

#endif /* __WINE_SERVER_WFP_H */
