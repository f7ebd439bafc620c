/*
 * The UDP flows a process's sockets have seen, for WFP redirect control data
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

#ifndef WFP_FLOWS_H
#define WFP_FLOWS_H

#include <stdint.h>

/* an address and port as the flow key takes them: IPv4 in the first four
 * bytes of addr, v4-mapped IPv6 addresses already turned into IPv4 */
struct wfp_flow_endpoint
{
    uint8_t  family;    /* 4 or 6 */
    uint16_t port;      /* host order */
    uint8_t  addr[16];
};

/* Windows keeps a UDP flow for about a minute after its last datagram */
#define WFP_FLOW_IDLE_MS       60000
#define WFP_FLOWS_PER_SOCKET   256
#define WFP_FLOWS_MAX          4096

struct wfp_flows;

extern struct wfp_flows *wfp_flows_create( unsigned int per_socket, unsigned int max, uint64_t idle_ms );
extern void wfp_flows_destroy( struct wfp_flows *flows );
extern int wfp_flows_seen( struct wfp_flows *flows, uint64_t socket, const struct wfp_flow_endpoint *peer,
                           const struct wfp_flow_endpoint *local, uint64_t now_ms );
extern void wfp_flows_forget_socket( struct wfp_flows *flows, uint64_t socket );
extern unsigned int wfp_flows_count( const struct wfp_flows *flows );

#endif /* WFP_FLOWS_H */
