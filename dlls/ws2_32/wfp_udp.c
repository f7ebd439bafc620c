/*
 * WFP redirect records of UDP flows: WSASendMsg's control data
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
 * A proxy forwards a UDP flow that was redirected to it by sending the
 * flow's first datagram with WSASendMsg and an IP(V6)_WFP_REDIRECT_RECORDS
 * control message: the records go on the flow before the datagram does,
 * as SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS puts them on a connection
 * (see server/wfp_udp.c).  The receiving side is ntdll's.
 */

#include "ws2_32_private.h"
#include "wfp_cmsg.h"

WINE_DEFAULT_DEBUG_CHANNEL(winsock);

/* the largest control data WSASendMsg looks through: the records and a few
 * other messages */
#define WFP_SEND_CONTROL_MAX (WINE_AFD_WFP_MAX_RECORDS_INPUT + 1024)

/* WSASendMsg: an IP(V6)_WFP_REDIRECT_RECORDS message gives the flow to the
 * destination its records, as SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS does
 * for a connection, before the datagram goes.  0, or the error that the
 * send fails with. */
DWORD wfp_send_control( SOCKET s, const WSAMSG *msg )
{
    struct afd_wfp_flow_records_params *params;
    struct wfp_cmsg_records records;
    DWORD ret, size, ret_size;
    WSABUF control;
    WSAMSG header;
    BYTE *copy;

    /* all of it, which WS2_sendto reads next: the WSASendMsg page gives
     * WSAEFAULT for an lpMsg that is not wholly in valid memory */
    if (!wfp_copy( &header, msg, sizeof(header) )) return WSAEFAULT;
    control = header.Control;
    if (!control.len) return 0;
    /* Windows documents no error for bad control data; WSAEINVAL as for a
     * bad SET, and the datagram is not sent */
    if (control.len > WFP_SEND_CONTROL_MAX || (ULONG_PTR)control.buf % sizeof(SIZE_T))
    {
        WARN( "invalid control data %p, %lu bytes\n", control.buf, control.len );
        return WSAEINVAL;
    }
    if (!(copy = malloc( control.len ))) return WSAENOBUFS;
    if (!wfp_copy( copy, control.buf, control.len ))
    {
        free( copy );
        return WSAEFAULT;
    }
    if (wfp_cmsg_find_records( copy, control.len, &records ))
    {
        WARN( "malformed control data, %lu bytes\n", control.len );
        free( copy );
        return WSAEINVAL;
    }
    if (!records.data)
    {
        free( copy );
        return 0;
    }

    size = sizeof(*params) + records.size;
    if (!(params = calloc( 1, size )))
    {
        free( copy );
        return WSAENOBUFS;
    }
    memcpy( params + 1, records.data, records.size );
    free( copy );
    /* no name: the connected peer; a short one fails the send itself */
    if (header.name && !wfp_copy( params->destination, header.name,
                                  min( max( header.namelen, 0 ), sizeof(params->destination) ) ))
    {
        free( params );
        return WSAEFAULT;
    }
    TRACE( "socket %#Ix: %lu bytes of records for the flow\n", s, (DWORD)records.size );
    ret = wfp_server_ioctl( s, IOCTL_AFD_WINE_SET_WFP_FLOW_RECORDS, params, size, NULL, 0, &ret_size, NULL, NULL );
    free( params );
    return ret;
}
