/*
 * WFP connection redirect ioctls and socket options
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
 * The state lives in the wineserver (server/wfp.c); this side validates
 * what a Windows program hands in, so that a bad pointer becomes WSAEFAULT
 * instead of a crash, and shapes the answers the way Windows does.
 */

#include "ws2_32_private.h"
#include "wine/exception.h"

WINE_DEFAULT_DEBUG_CHANNEL(winsock);

/* Every pointer that ntdll or the server would use without checking must
 * point into readable (or, for results, writable) memory. */
static BOOL wfp_pointers_valid( DWORD *ret_size, OVERLAPPED *overlapped,
                                LPWSAOVERLAPPED_COMPLETION_ROUTINE completion )
{
    BOOL valid = TRUE;

    __TRY
    {
        *(volatile DWORD *)ret_size = *ret_size;
        if (overlapped)
        {
            volatile OVERLAPPED *ovl = overlapped;
            ovl->Internal = ovl->Internal;
            ovl->InternalHigh = ovl->InternalHigh;
            (void)ovl->hEvent;
        }
        if (completion) (void)*(volatile const BYTE *)completion;
    }
    __EXCEPT_PAGE_FAULT
    {
        valid = FALSE;
    }
    __ENDTRY
    return valid;
}

/* memcpy() to or from an application's buffer, which may not be there */
BOOL wfp_copy( void *dst, const void *src, DWORD size )
{
    BOOL valid = TRUE;

    __TRY
    {
        memcpy( dst, src, size );
    }
    __EXCEPT_PAGE_FAULT
    {
        valid = FALSE;
    }
    __ENDTRY
    return valid;
}

/* The wineserver answers the queries on TCP sockets only, and any other
 * socket with STATUS_NOT_SUPPORTED: WSAENOPROTOOPT, as Windows documents
 * for them.  A handle that is no socket at all (a file, say) gives the
 * same status; IOCTL_AFD_WINE_GET_INFO tells the two apart. */
DWORD wfp_server_ioctl( SOCKET s, DWORD code, void *in_buff, DWORD in_size, void *out_buff, DWORD out_size,
                        DWORD *ret_size, OVERLAPPED *overlapped,
                        LPWSAOVERLAPPED_COMPLETION_ROUTINE completion )
{
    DWORD ret = server_ioctl_sock( s, code, in_buff, in_size, out_buff, out_size, ret_size, overlapped, completion );
    struct afd_get_info_params info;
    IO_STATUS_BLOCK io;

    if (ret != WSAEOPNOTSUPP) return ret;
    if (NtDeviceIoControlFile( (HANDLE)s, NULL, NULL, NULL, &io, IOCTL_AFD_WINE_GET_INFO, NULL, 0,
                               &info, sizeof(info) ))
        return WSAENOTSOCK;
    return WSAENOPROTOOPT;
}

/* After a query failed with WSAEFAULT: was the buffer too small (then the
 * caller gets the required size), or was it a bad pointer? */
static void wfp_query_required_size( SOCKET s, DWORD afd_code, DWORD out_size, DWORD *ret_size )
{
    IO_STATUS_BLOCK io;
    DWORD size = 0;

    if (!NtDeviceIoControlFile( (HANDLE)s, NULL, NULL, NULL, &io,
                                IOCTL_AFD_WINE_QUERY_WFP_REDIRECT_SIZE, &afd_code, sizeof(afd_code),
                                &size, sizeof(size) ) && size > out_size)
        *ret_size = size;
    else
        *ret_size = 0;
}

static int wfp_query( SOCKET s, DWORD afd_code, void *out_buff, DWORD out_size, DWORD *ret_size,
                      OVERLAPPED *overlapped, LPWSAOVERLAPPED_COMPLETION_ROUTINE completion )
{
    DWORD ret;

    /* The input buffer is unused.  A buffer that is too small, including a
     * zero-sized one, fails with WSAEFAULT and the size it takes in
     * *ret_size, so that programs can retry with a larger one. */
    ret = wfp_server_ioctl( s, afd_code, NULL, 0, out_buff, out_size, ret_size, overlapped, completion );
    if (ret == WSAEFAULT) wfp_query_required_size( s, afd_code, out_size, ret_size );
    else if (ret) *ret_size = 0;
    SetLastError( ret );
    return ret ? -1 : 0;
}

static int wfp_set_records( SOCKET s, const void *in_buff, DWORD in_size, DWORD *ret_size,
                            OVERLAPPED *overlapped, LPWSAOVERLAPPED_COMPLETION_ROUTINE completion )
{
    void *records;
    DWORD ret;

    *ret_size = 0;
    if (!in_size || in_size > WINE_AFD_WFP_MAX_RECORDS_INPUT)
    {
        WARN( "invalid records size %lu\n", in_size );
        SetLastError( WSAEINVAL );
        return -1;
    }
    /* The records go to the server as request data, which ntdll copies
     * without checking the pointer; copy them here first. */
    if (!(records = malloc( in_size )))
    {
        SetLastError( WSAENOBUFS );
        return -1;
    }
    if (!wfp_copy( records, in_buff, in_size ))
    {
        free( records );
        SetLastError( WSAEFAULT );
        return -1;
    }
    ret = wfp_server_ioctl( s, IOCTL_AFD_WINE_SET_WFP_REDIRECT_RECORDS, records, in_size,
                            NULL, 0, ret_size, overlapped, completion );
    free( records );
    *ret_size = 0;
    SetLastError( ret );
    return ret ? -1 : 0;
}

static int wfp_query_endpoint_handle( SOCKET s, void *out_buff, DWORD out_size, DWORD *ret_size,
                                      OVERLAPPED *overlapped, LPWSAOVERLAPPED_COMPLETION_ROUTINE completion )
{
    DWORD ret;

    if (!out_buff || out_size < sizeof(UINT64))
    {
        *ret_size = 0;
        SetLastError( WSAEINVAL );
        return -1;
    }
    ret = wfp_server_ioctl( s, IOCTL_AFD_WINE_QUERY_WFP_ALE_ENDPOINT_HANDLE, NULL, 0,
                            out_buff, out_size, ret_size, overlapped, completion );
    if (ret) *ret_size = 0;
    SetLastError( ret );
    return ret ? -1 : 0;
}

/* WSAIoctl for the four WFP codes */
int wfp_ioctl( SOCKET s, DWORD code, void *in_buff, DWORD in_size, void *out_buff, DWORD out_size,
               DWORD *ret_size, OVERLAPPED *overlapped, LPWSAOVERLAPPED_COMPLETION_ROUTINE completion )
{
    if (!wfp_pointers_valid( ret_size, overlapped, completion ))
    {
        WARN( "invalid pointer in ret_size %p, overlapped %p or completion %p\n", ret_size, overlapped, completion );
        SetLastError( WSAEFAULT );
        return -1;
    }

    switch (code)
    {
    case SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS:
        return wfp_query( s, IOCTL_AFD_WINE_QUERY_WFP_REDIRECT_RECORDS, out_buff, out_size,
                          ret_size, overlapped, completion );

    case SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT:
        return wfp_query( s, IOCTL_AFD_WINE_QUERY_WFP_REDIRECT_CONTEXT, out_buff, out_size,
                          ret_size, overlapped, completion );

    case SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS:
        return wfp_set_records( s, in_buff, in_size, ret_size, overlapped, completion );

    case SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE:
        return wfp_query_endpoint_handle( s, out_buff, out_size, ret_size, overlapped, completion );
    }
    SetLastError( WSAEOPNOTSUPP );
    return -1;
}
