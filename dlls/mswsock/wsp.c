/*
 * The Winsock service provider interface of Wine's TCP/IP base provider
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
 * On Windows mswsock.dll is the base provider of the TCP/IP protocols:
 * layered service providers, and programs that talk to the base provider
 * directly, find it through the catalog (WSCGetProviderPath) and call its
 * WSPStartup.  Wine's sockets live in ws2_32, so every entry point here
 * is ws2_32's own call, with the error through lpErrno.  Overlapped calls
 * with a completion routine are the exception: the SPI queues the routine
 * with the caller's WPUQueueApc upcall, to the thread that lpThreadId
 * named, so they run on a private OVERLAPPED and queue it from there.
 */

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "windef.h"
#include "winbase.h"
#include "winsock2.h"
#include "ws2spi.h"
#include "mswsock.h"

#include "wine/debug.h"
#include "wine/exception.h"

WINE_DEFAULT_DEBUG_CHANNEL(winsock);

#define WSP_VERSION MAKEWORD(2, 2)

static WSPUPCALLTABLE upcalls;
static LONG startup_count;

/* lpErrno is the caller's; a bad one is not worth a crash */
static void set_errno( LPINT errno_ptr, int error )
{
    __TRY
    {
        *errno_ptr = error;
    }
    __EXCEPT_PAGE_FAULT
    {
        WARN( "bad lpErrno %p\n", errno_ptr );
    }
    __ENDTRY
}

/* ws2_32's result, and its error through lpErrno */
static int wsp_result( int ret, LPINT errno_ptr )
{
    if (ret == SOCKET_ERROR) set_errno( errno_ptr, WSAGetLastError() );
    return ret;
}

static SOCKET wsp_socket_result( SOCKET s, LPINT errno_ptr )
{
    int error;
    DWORD id;
    WSAPROTOCOL_INFOW info;
    int len = sizeof(info);

    if (s == INVALID_SOCKET)
    {
        set_errno( errno_ptr, WSAGetLastError() );
        return INVALID_SOCKET;
    }
    /* an IFS provider's new socket is registered with ws2_32 by the upcall */
    if (!upcalls.lpWPUModifyIFSHandle) return s;
    id = getsockopt( s, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &len ) ? 0 : info.dwCatalogEntryId;
    error = 0;
    if (upcalls.lpWPUModifyIFSHandle( id, s, &error ) == INVALID_SOCKET)
    {
        closesocket( s );
        set_errno( errno_ptr, error ? error : WSAENOBUFS );
        return INVALID_SOCKET;
    }
    return s;
}

/*
 * Completion routines
 */

struct wsp_async
{
    WSAOVERLAPPED   overlapped;     /* ours: in the caller's, hEvent is the caller's to use */
    HANDLE          event;
    HANDLE          wait;
    SOCKET          socket;
    LPWSAOVERLAPPED caller;
    LPWSAOVERLAPPED_COMPLETION_ROUTINE completion;
    WSATHREADID     thread;         /* a copy: the caller may free its own */
    DWORD           error;
    DWORD           bytes;
    DWORD           flags;
};

static void free_async( struct wsp_async *async )
{
    CloseHandle( async->event );
    free( async );
}

/* in the thread that lpThreadId named */
static void CALLBACK async_apc( DWORD_PTR context )
{
    struct wsp_async *async = (struct wsp_async *)context;

    TRACE( "socket %#Ix, error %lu, %lu bytes\n", async->socket, async->error, async->bytes );
    UnregisterWait( async->wait );
    async->completion( async->error, async->bytes, async->caller, async->flags );
    free_async( async );
}

static void CALLBACK async_done( void *context, BOOLEAN timeout )
{
    struct wsp_async *async = context;
    int error = 0;

    if (!WSAGetOverlappedResult( async->socket, &async->overlapped, &async->bytes, FALSE, &async->flags ))
        async->error = WSAGetLastError();
    /* what WSPGetOverlappedResult reads of the caller's */
    async->caller->Internal = async->overlapped.Internal;
    async->caller->InternalHigh = async->overlapped.InternalHigh;
    async->caller->Offset = async->overlapped.Offset;
    async->caller->OffsetHigh = async->overlapped.OffsetHigh;
    /* the structure is left to leak then: the wait may not be known here yet */
    if (upcalls.lpWPUQueueApc( &async->thread, async_apc, (DWORD_PTR)async, &error ))
        ERR( "WPUQueueApc failed with error %d; the completion routine is not called\n", error );
}

/* A private OVERLAPPED for an overlapped call with a completion routine;
 * NULL with the error set if there is none to have. */
static struct wsp_async *alloc_async( SOCKET s, LPWSAOVERLAPPED overlapped,
                                      LPWSAOVERLAPPED_COMPLETION_ROUTINE completion,
                                      LPWSATHREADID thread, LPINT errno_ptr )
{
    struct wsp_async *async;
    BOOL bad_pointer = FALSE;

    if (!upcalls.lpWPUQueueApc)
    {
        set_errno( errno_ptr, WSAEINVAL );
        return NULL;
    }
    if (!(async = calloc( 1, sizeof(*async) )) || !(async->event = CreateEventW( NULL, TRUE, FALSE, NULL )))
    {
        free( async );
        set_errno( errno_ptr, WSAENOBUFS );
        return NULL;
    }
    __TRY
    {
        async->thread = *thread;
        overlapped->Internal = STATUS_PENDING;
    }
    __EXCEPT_PAGE_FAULT
    {
        bad_pointer = TRUE;
    }
    __ENDTRY
    if (bad_pointer)
    {
        free_async( async );
        set_errno( errno_ptr, WSAEFAULT );
        return NULL;
    }
    /* the low bit keeps a completion port bound to the socket out of it */
    async->overlapped.hEvent = (HANDLE)((ULONG_PTR)async->event | 1);
    async->socket = s;
    async->caller = overlapped;
    async->completion = completion;
    return async;
}

/* After ws2_32 took the call on the private OVERLAPPED: the completion
 * routine is queued when it completes, now or later, and never after a
 * call that failed at once. */
static int async_started( struct wsp_async *async, int ret, LPINT errno_ptr )
{
    int error = ret ? WSAGetLastError() : 0;

    if (ret && error != WSA_IO_PENDING)
    {
        free_async( async );
        set_errno( errno_ptr, error );
        return SOCKET_ERROR;
    }
    if (!RegisterWaitForSingleObject( &async->wait, async->event, async_done, async, INFINITE,
                                      WT_EXECUTEONLYONCE | WT_EXECUTEINWAITTHREAD ))
    {
        /* the operation runs on; its completion routine cannot be called */
        ERR( "cannot wait for the completion: %lu\n", GetLastError() );
        set_errno( errno_ptr, WSAENOBUFS );
        return SOCKET_ERROR;
    }
    if (ret) set_errno( errno_ptr, WSA_IO_PENDING );
    return ret;
}

/*
 * The procedure table
 */

static SOCKET WSPAPI WSPAccept( SOCKET s, struct sockaddr *addr, LPINT addrlen, LPCONDITIONPROC condition,
                                DWORD_PTR context, LPINT errno_ptr )
{
    return wsp_socket_result( WSAAccept( s, addr, addrlen, condition, context ), errno_ptr );
}

static INT WSPAPI WSPAddressToString( struct sockaddr *addr, DWORD addr_len, LPWSAPROTOCOL_INFOW info,
                                      LPWSTR string, LPDWORD string_len, LPINT errno_ptr )
{
    return wsp_result( WSAAddressToStringW( addr, addr_len, info, string, string_len ), errno_ptr );
}

static int WSPAPI WSPAsyncSelect( SOCKET s, HWND hwnd, unsigned int msg, LONG events, LPINT errno_ptr )
{
    return wsp_result( WSAAsyncSelect( s, hwnd, msg, events ), errno_ptr );
}

static int WSPAPI WSPBind( SOCKET s, const struct sockaddr *name, int len, LPINT errno_ptr )
{
    return wsp_result( bind( s, name, len ), errno_ptr );
}

static int WSPAPI WSPCancelBlockingCall( LPINT errno_ptr )
{
    return wsp_result( WSACancelBlockingCall(), errno_ptr );
}

static int WSPAPI WSPCleanup( LPINT errno_ptr )
{
    LONG count;

    /* one WSPCleanup for each WSPStartup that succeeded */
    do
    {
        if (!(count = *(volatile LONG *)&startup_count))
        {
            set_errno( errno_ptr, WSANOTINITIALISED );
            return SOCKET_ERROR;
        }
    } while (InterlockedCompareExchange( &startup_count, count - 1, count ) != count);
    return wsp_result( WSACleanup(), errno_ptr );
}

static int WSPAPI WSPCloseSocket( SOCKET s, LPINT errno_ptr )
{
    return wsp_result( closesocket( s ), errno_ptr );
}

static int WSPAPI WSPConnect( SOCKET s, const struct sockaddr *name, int len, LPWSABUF caller_data,
                              LPWSABUF callee_data, LPQOS sqos, LPQOS gqos, LPINT errno_ptr )
{
    return wsp_result( WSAConnect( s, name, len, caller_data, callee_data, sqos, gqos ), errno_ptr );
}

static int WSPAPI WSPDuplicateSocket( SOCKET s, DWORD pid, LPWSAPROTOCOL_INFOW info, LPINT errno_ptr )
{
    return wsp_result( WSADuplicateSocketW( s, pid, info ), errno_ptr );
}

static int WSPAPI WSPEnumNetworkEvents( SOCKET s, WSAEVENT event, LPWSANETWORKEVENTS events, LPINT errno_ptr )
{
    return wsp_result( WSAEnumNetworkEvents( s, event, events ), errno_ptr );
}

static int WSPAPI WSPEventSelect( SOCKET s, WSAEVENT event, LONG events, LPINT errno_ptr )
{
    return wsp_result( WSAEventSelect( s, event, events ), errno_ptr );
}

static BOOL WSPAPI WSPGetOverlappedResult( SOCKET s, LPWSAOVERLAPPED overlapped, LPDWORD transferred,
                                           BOOL wait, LPDWORD flags, LPINT errno_ptr )
{
    if (WSAGetOverlappedResult( s, overlapped, transferred, wait, flags )) return TRUE;
    set_errno( errno_ptr, WSAGetLastError() );
    return FALSE;
}

static int WSPAPI WSPGetPeerName( SOCKET s, struct sockaddr *name, LPINT len, LPINT errno_ptr )
{
    return wsp_result( getpeername( s, name, len ), errno_ptr );
}

static int WSPAPI WSPGetSockName( SOCKET s, struct sockaddr *name, LPINT len, LPINT errno_ptr )
{
    return wsp_result( getsockname( s, name, len ), errno_ptr );
}

static int WSPAPI WSPGetSockOpt( SOCKET s, int level, int name, char *value, LPINT len, LPINT errno_ptr )
{
    return wsp_result( getsockopt( s, level, name, value, len ), errno_ptr );
}

static BOOL WSPAPI WSPGetQOSByName( SOCKET s, LPWSABUF name, LPQOS qos, LPINT errno_ptr )
{
    if (WSAGetQOSByName( s, name, qos )) return TRUE;
    set_errno( errno_ptr, WSAGetLastError() );
    return FALSE;
}

static int WSPAPI WSPIoctl( SOCKET s, DWORD code, LPVOID in, DWORD in_size, LPVOID out, DWORD out_size,
                            LPDWORD returned, LPWSAOVERLAPPED overlapped,
                            LPWSAOVERLAPPED_COMPLETION_ROUTINE completion, LPWSATHREADID thread, LPINT errno_ptr )
{
    struct wsp_async *async;

    TRACE( "socket %#Ix, code %#lx, overlapped %p, completion %p\n", s, code, overlapped, completion );
    if (!overlapped || !completion)
        return wsp_result( WSAIoctl( s, code, in, in_size, out, out_size, returned, overlapped, NULL ), errno_ptr );
    if (!(async = alloc_async( s, overlapped, completion, thread, errno_ptr ))) return SOCKET_ERROR;
    return async_started( async, WSAIoctl( s, code, in, in_size, out, out_size, returned, &async->overlapped,
                                           NULL ), errno_ptr );
}

static SOCKET WSPAPI WSPJoinLeaf( SOCKET s, const struct sockaddr *name, int len, LPWSABUF caller_data,
                                  LPWSABUF callee_data, LPQOS sqos, LPQOS gqos, DWORD flags, LPINT errno_ptr )
{
    SOCKET ret = WSAJoinLeaf( s, name, len, caller_data, callee_data, sqos, gqos, flags );

    if (ret == INVALID_SOCKET) set_errno( errno_ptr, WSAGetLastError() );
    return ret;
}

static int WSPAPI WSPListen( SOCKET s, int backlog, LPINT errno_ptr )
{
    return wsp_result( listen( s, backlog ), errno_ptr );
}

static int WSPAPI WSPRecv( SOCKET s, LPWSABUF buffers, DWORD count, LPDWORD received, LPDWORD flags,
                           LPWSAOVERLAPPED overlapped, LPWSAOVERLAPPED_COMPLETION_ROUTINE completion,
                           LPWSATHREADID thread, LPINT errno_ptr )
{
    struct wsp_async *async;

    if (!overlapped || !completion)
        return wsp_result( WSARecv( s, buffers, count, received, flags, overlapped, NULL ), errno_ptr );
    if (!(async = alloc_async( s, overlapped, completion, thread, errno_ptr ))) return SOCKET_ERROR;
    return async_started( async, WSARecv( s, buffers, count, received, flags, &async->overlapped, NULL ),
                          errno_ptr );
}

static int WSPAPI WSPRecvDisconnect( SOCKET s, LPWSABUF data, LPINT errno_ptr )
{
    return wsp_result( WSARecvDisconnect( s, data ), errno_ptr );
}

static int WSPAPI WSPRecvFrom( SOCKET s, LPWSABUF buffers, DWORD count, LPDWORD received, LPDWORD flags,
                               struct sockaddr *from, LPINT from_len, LPWSAOVERLAPPED overlapped,
                               LPWSAOVERLAPPED_COMPLETION_ROUTINE completion, LPWSATHREADID thread,
                               LPINT errno_ptr )
{
    struct wsp_async *async;

    if (!overlapped || !completion)
        return wsp_result( WSARecvFrom( s, buffers, count, received, flags, from, from_len, overlapped, NULL ),
                           errno_ptr );
    if (!(async = alloc_async( s, overlapped, completion, thread, errno_ptr ))) return SOCKET_ERROR;
    return async_started( async, WSARecvFrom( s, buffers, count, received, flags, from, from_len,
                                              &async->overlapped, NULL ), errno_ptr );
}

static int WSPAPI WSPSelect( int nfds, fd_set *read, fd_set *write, fd_set *except, const struct timeval *timeout,
                             LPINT errno_ptr )
{
    return wsp_result( select( nfds, read, write, except, timeout ), errno_ptr );
}

static int WSPAPI WSPSend( SOCKET s, LPWSABUF buffers, DWORD count, LPDWORD sent, DWORD flags,
                           LPWSAOVERLAPPED overlapped, LPWSAOVERLAPPED_COMPLETION_ROUTINE completion,
                           LPWSATHREADID thread, LPINT errno_ptr )
{
    struct wsp_async *async;

    if (!overlapped || !completion)
        return wsp_result( WSASend( s, buffers, count, sent, flags, overlapped, NULL ), errno_ptr );
    if (!(async = alloc_async( s, overlapped, completion, thread, errno_ptr ))) return SOCKET_ERROR;
    return async_started( async, WSASend( s, buffers, count, sent, flags, &async->overlapped, NULL ), errno_ptr );
}

static int WSPAPI WSPSendDisconnect( SOCKET s, LPWSABUF data, LPINT errno_ptr )
{
    return wsp_result( WSASendDisconnect( s, data ), errno_ptr );
}

static int WSPAPI WSPSendTo( SOCKET s, LPWSABUF buffers, DWORD count, LPDWORD sent, DWORD flags,
                             const struct sockaddr *to, int to_len, LPWSAOVERLAPPED overlapped,
                             LPWSAOVERLAPPED_COMPLETION_ROUTINE completion, LPWSATHREADID thread, LPINT errno_ptr )
{
    struct wsp_async *async;

    if (!overlapped || !completion)
        return wsp_result( WSASendTo( s, buffers, count, sent, flags, to, to_len, overlapped, NULL ), errno_ptr );
    if (!(async = alloc_async( s, overlapped, completion, thread, errno_ptr ))) return SOCKET_ERROR;
    return async_started( async, WSASendTo( s, buffers, count, sent, flags, to, to_len, &async->overlapped, NULL ),
                          errno_ptr );
}

static int WSPAPI WSPSetSockOpt( SOCKET s, int level, int name, const char *value, int len, LPINT errno_ptr )
{
    return wsp_result( setsockopt( s, level, name, value, len ), errno_ptr );
}

static int WSPAPI WSPShutdown( SOCKET s, int how, LPINT errno_ptr )
{
    return wsp_result( shutdown( s, how ), errno_ptr );
}

static SOCKET WSPAPI WSPSocket( int family, int type, int protocol, LPWSAPROTOCOL_INFOW info, GROUP group,
                                DWORD flags, LPINT errno_ptr )
{
    return wsp_socket_result( WSASocketW( family, type, protocol, info, group, flags ), errno_ptr );
}

static INT WSPAPI WSPStringToAddress( LPWSTR string, INT family, LPWSAPROTOCOL_INFOW info, struct sockaddr *addr,
                                      LPINT addr_len, LPINT errno_ptr )
{
    return wsp_result( WSAStringToAddressW( string, family, info, addr, addr_len ), errno_ptr );
}

static const WSPPROC_TABLE proc_table =
{
    WSPAccept,
    WSPAddressToString,
    WSPAsyncSelect,
    WSPBind,
    WSPCancelBlockingCall,
    WSPCleanup,
    WSPCloseSocket,
    WSPConnect,
    WSPDuplicateSocket,
    WSPEnumNetworkEvents,
    WSPEventSelect,
    WSPGetOverlappedResult,
    WSPGetPeerName,
    WSPGetSockName,
    WSPGetSockOpt,
    WSPGetQOSByName,
    WSPIoctl,
    WSPJoinLeaf,
    WSPListen,
    WSPRecv,
    WSPRecvDisconnect,
    WSPRecvFrom,
    WSPSelect,
    WSPSend,
    WSPSendDisconnect,
    WSPSendTo,
    WSPSetSockOpt,
    WSPShutdown,
    WSPSocket,
    WSPStringToAddress,
};

/***********************************************************************
 *              WSPStartup   (MSWSOCK.@)
 */
int WSPAPI WSPStartup( WORD version, LPWSPDATA data, LPWSAPROTOCOL_INFOW info, WSPUPCALLTABLE upcall_table,
                       LPWSPPROC_TABLE table )
{
    static const WCHAR description[] = L"Wine TCP/IP base provider";
    WSADATA wsadata;
    BOOL fault = FALSE;
    int ret;

    TRACE( "version %#x, data %p, info %p, table %p\n", version, data, info, table );

    /* the SPI of Winsock 2: 2.0 to 2.2 */
    if (LOBYTE( version ) < 2) return WSAVERNOTSUPPORTED;
    if (!data || !table) return WSAEFAULT;
    if ((ret = WSAStartup( WSP_VERSION, &wsadata ))) return ret;

    __TRY
    {
        data->wVersion = LOBYTE( version ) > 2 || HIBYTE( version ) >= 2 ? WSP_VERSION : version;
        data->wHighVersion = WSP_VERSION;
        memcpy( data->szDescription, description, sizeof(description) );
        *table = proc_table;
    }
    __EXCEPT_PAGE_FAULT
    {
        fault = TRUE;
    }
    __ENDTRY
    if (fault)
    {
        WSACleanup();
        return WSAEFAULT;
    }
    /* the same ws2_32 gives every provider of a process the same upcalls */
    upcalls = upcall_table;
    InterlockedIncrement( &startup_count );
    return 0;
}
