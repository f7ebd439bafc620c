/*
 * Tests of the Winsock service provider interface of the base provider
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
 * A layered service provider finds the base provider of a protocol in
 * the catalog (WSCEnumProtocols, WSCGetProviderPath), loads its DLL and
 * calls WSPStartup with the upcall table that ws2_32 gave it; these tests
 * do the same, with an upcall table of their own.
 */

#include <stdarg.h>

#include <winsock2.h>
#include <windows.h>
#include <ws2tcpip.h>
#include <ws2spi.h>
#include <mswsock.h>
#include <mstcpip.h>
#include "wine/test.h"

static WSPPROC_TABLE wsp;
static WSAPROTOCOL_INFOW tcp_info, udp_info;
static LPWSPSTARTUP pWSPStartup;

static LONG apc_count, ifs_count;

static int WSPAPI queue_apc( LPWSATHREADID thread, LPWSAUSERAPC apc, DWORD_PTR context, LPINT err )
{
    InterlockedIncrement( &apc_count );
    if (QueueUserAPC( (PAPCFUNC)apc, thread->ThreadHandle, context )) return 0;
    *err = WSAEFAULT;
    return SOCKET_ERROR;
}

static SOCKET WSPAPI modify_ifs_handle( DWORD catalog_id, SOCKET s, LPINT err )
{
    InterlockedIncrement( &ifs_count );
    ok( catalog_id == tcp_info.dwCatalogEntryId || catalog_id == udp_info.dwCatalogEntryId,
        "unexpected catalog entry %lu\n", catalog_id );
    return s;
}

static WSPUPCALLTABLE upcalls = { .lpWPUQueueApc = queue_apc, .lpWPUModifyIFSHandle = modify_ifs_handle };

/* the catalog, as a layered provider reads it to find its base provider */
static void test_catalog(void)
{
    static const WCHAR mswsockW[] = L"%SystemRoot%\\system32\\mswsock.dll";
    static const GUID unknown = {0x12345678, 0x1234, 0x1234, {1, 2, 3, 4, 5, 6, 7, 8}};
    WSAPROTOCOL_INFOW *info;
    WCHAR path[MAX_PATH];
    DWORD size = 0;
    int ret, err, len, count, i;

    err = 0xdeadbeef;
    ret = WSCEnumProtocols( NULL, NULL, &size, &err );
    ok( ret == SOCKET_ERROR && err == WSAENOBUFS, "got %d, error %d\n", ret, err );
    ok( size && !(size % sizeof(*info)), "got size %lu\n", size );
    err = 0xdeadbeef;
    ret = WSCEnumProtocols( NULL, NULL, NULL, &err );
    ok( ret == SOCKET_ERROR && err == WSAEFAULT, "no size: got %d, error %d\n", ret, err );

    info = malloc( size );
    count = WSCEnumProtocols( NULL, info, &size, &err );
    ok( count > 0, "got %d, error %d\n", count, err );
    for (i = 0; i < count; i++)
    {
        winetest_push_context( "%s", debugstr_w( info[i].szProtocol ) );
        /* base protocols: a chain of one */
        ok( info[i].ProtocolChain.ChainLen == BASE_PROTOCOL, "got chain length %d\n",
            info[i].ProtocolChain.ChainLen );
        len = ARRAY_SIZE(path);
        memset( path, 0, sizeof(path) );
        ret = WSCGetProviderPath( &info[i].ProviderId, path, &len, &err );
        ok( !ret, "got %d, error %d\n", ret, err );
        ok( !wcsicmp( path, mswsockW ), "got %s\n", debugstr_w( path ) );
        if (info[i].iAddressFamily == AF_INET && info[i].iSocketType == SOCK_STREAM && !tcp_info.iSocketType)
            tcp_info = info[i];
        if (info[i].iAddressFamily == AF_INET && info[i].iSocketType == SOCK_DGRAM && !udp_info.iSocketType)
            udp_info = info[i];
        winetest_pop_context();
    }
    ok( tcp_info.iSocketType && udp_info.iSocketType, "no TCP or UDP entry\n" );

    /* too small a buffer: WSAEFAULT, and the length it takes */
    len = 1;
    err = 0xdeadbeef;
    ret = WSCGetProviderPath( &tcp_info.ProviderId, path, &len, &err );
    ok( ret == SOCKET_ERROR && err == WSAEFAULT, "got %d, error %d\n", ret, err );
    ok( len >= ARRAY_SIZE(mswsockW), "got len %d\n", len );

    len = ARRAY_SIZE(path);
    err = 0xdeadbeef;
    ret = WSCGetProviderPath( (GUID *)&unknown, path, &len, &err );
    ok( ret == SOCKET_ERROR && err == WSAEINVAL, "unknown provider: got %d, error %d\n", ret, err );
    free( info );
}

static void load_provider(void)
{
    WCHAR path[MAX_PATH], expanded[MAX_PATH];
    int len = ARRAY_SIZE(path), err;
    HMODULE module;

    WSCGetProviderPath( &tcp_info.ProviderId, path, &len, &err );
    ExpandEnvironmentStringsW( path, expanded, ARRAY_SIZE(expanded) );
    module = LoadLibraryW( expanded );
    ok( !!module, "cannot load %s: %lu\n", debugstr_w( expanded ), GetLastError() );
    pWSPStartup = (LPWSPSTARTUP)GetProcAddress( module, "WSPStartup" );
    ok( !!pWSPStartup, "no WSPStartup\n" );
}

static void test_startup(void)
{
    WSPPROC_TABLE table;
    WSPDATA data;
    int ret, err;

    ret = pWSPStartup( MAKEWORD(2, 2), NULL, &tcp_info, upcalls, &table );
    ok( ret == WSAEFAULT, "no WSPDATA: got %d\n", ret );
    ret = pWSPStartup( MAKEWORD(2, 2), &data, &tcp_info, upcalls, NULL );
    ok( ret == WSAEFAULT, "no table: got %d\n", ret );
    /* the SPI starts with Winsock 2 */
    ret = pWSPStartup( MAKEWORD(1, 1), &data, &tcp_info, upcalls, &table );
    ok( ret == WSAVERNOTSUPPORTED, "1.1: got %d\n", ret );

    memset( &data, 0xcc, sizeof(data) );
    memset( &wsp, 0, sizeof(wsp) );
    ret = pWSPStartup( MAKEWORD(2, 2), &data, &tcp_info, upcalls, &wsp );
    ok( !ret, "got %d\n", ret );
    ok( data.wVersion == MAKEWORD(2, 2), "got version %#x\n", data.wVersion );
    ok( data.wHighVersion == MAKEWORD(2, 2), "got high version %#x\n", data.wHighVersion );
    ok( wcslen( data.szDescription ) <= WSPDESCRIPTION_LEN, "description too long\n" );
    ok( wsp.lpWSPAccept && wsp.lpWSPIoctl && wsp.lpWSPSocket && wsp.lpWSPStringToAddress, "table not filled\n" );

    /* each WSPStartup has its WSPCleanup */
    ret = pWSPStartup( MAKEWORD(2, 0), &data, &udp_info, upcalls, &table );
    ok( !ret && data.wVersion == MAKEWORD(2, 0), "2.0: got %d, version %#x\n", ret, data.wVersion );
    ret = table.lpWSPCleanup( &err );
    ok( !ret, "got %d, error %d\n", ret, err );
}

static void CALLBACK ioctl_completion( DWORD error, DWORD transferred, LPWSAOVERLAPPED overlapped, DWORD flags )
{
    /* with a completion routine, hEvent is the caller's to use */
    *(DWORD *)overlapped->hEvent = error;
}

/* a connected pair and its listener, by the table's calls only */
static void tcp_pair( SOCKET *client, SOCKET *server )
{
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl( INADDR_LOOPBACK ) };
    int len = sizeof(addr), ret, err;
    SOCKET listener;

    listener = wsp.lpWSPSocket( AF_INET, SOCK_STREAM, IPPROTO_TCP, &tcp_info, 0, WSA_FLAG_OVERLAPPED, &err );
    ok( listener != INVALID_SOCKET, "WSPSocket: error %d\n", err );
    ret = wsp.lpWSPBind( listener, (struct sockaddr *)&addr, sizeof(addr), &err );
    ok( !ret, "WSPBind: error %d\n", err );
    ret = wsp.lpWSPListen( listener, 1, &err );
    ok( !ret, "WSPListen: error %d\n", err );
    ret = wsp.lpWSPGetSockName( listener, (struct sockaddr *)&addr, &len, &err );
    ok( !ret, "WSPGetSockName: error %d\n", err );
    *client = wsp.lpWSPSocket( AF_INET, SOCK_STREAM, IPPROTO_TCP, &tcp_info, 0, WSA_FLAG_OVERLAPPED, &err );
    ret = wsp.lpWSPConnect( *client, (struct sockaddr *)&addr, sizeof(addr), NULL, NULL, NULL, NULL, &err );
    ok( !ret, "WSPConnect: error %d\n", err );
    *server = wsp.lpWSPAccept( listener, NULL, NULL, NULL, 0, &err );
    ok( *server != INVALID_SOCKET, "WSPAccept: error %d\n", err );
    wsp.lpWSPCloseSocket( listener, &err );
}

/* WSPIoctl gives what WSAIoctl gives on the same socket, its error
 * through lpErrno; a completion routine runs through WPUQueueApc in the
 * thread that lpThreadId named, which may be freed at once */
static void test_ioctl(void)
{
    static const DWORD codes[] =
    {
        SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS,
        SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT,
        SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS,
        SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE,
        FIONREAD,
    };
    char wsa_out[256], wsp_out[256], in[16] = {0};
    WSAOVERLAPPED overlapped;
    WSATHREADID *thread;
    HANDLE thread_handle, port;
    OVERLAPPED *done;
    ULONG_PTR key;
    DWORD bytes, flags;
    DWORD wsa_size, wsp_size, completion_error;
    SOCKET client, server;
    int wsa_ret, wsa_err, wsp_ret, err;
    unsigned int i;

    tcp_pair( &client, &server );
    for (i = 0; i < ARRAY_SIZE(codes); i++)
    {
        winetest_push_context( "code %#lx", codes[i] );
        wsa_size = wsp_size = 0xdeadbeef;
        WSASetLastError( 0 );
        wsa_ret = WSAIoctl( server, codes[i], in, sizeof(in), wsa_out, sizeof(wsa_out), &wsa_size, NULL, NULL );
        wsa_err = WSAGetLastError();
        err = 0xdeadbeef;
        wsp_ret = wsp.lpWSPIoctl( server, codes[i], in, sizeof(in), wsp_out, sizeof(wsp_out), &wsp_size, NULL,
                                  NULL, NULL, &err );
        ok( wsp_ret == wsa_ret, "got %d, WSAIoctl %d\n", wsp_ret, wsa_ret );
        if (wsa_ret) ok( err == wsa_err, "got error %d, WSAIoctl %d\n", err, wsa_err );
        else ok( wsp_size == wsa_size, "got size %lu, WSAIoctl %lu\n", wsp_size, wsa_size );

        /* with a completion routine */
        thread = malloc( sizeof(*thread) );
        DuplicateHandle( GetCurrentProcess(), GetCurrentThread(), GetCurrentProcess(), &thread->ThreadHandle,
                         0, FALSE, DUPLICATE_SAME_ACCESS );
        thread->Reserved = 0;
        memset( &overlapped, 0, sizeof(overlapped) );
        completion_error = 0xdeadbeef;
        overlapped.hEvent = (HANDLE)&completion_error;
        apc_count = 0;
        err = 0xdeadbeef;
        wsp_ret = wsp.lpWSPIoctl( server, codes[i], in, sizeof(in), wsp_out, sizeof(wsp_out), &wsp_size,
                                  &overlapped, ioctl_completion, thread, &err );
        /* the structure, not the thread handle, which ws2_32 keeps open */
        thread_handle = thread->ThreadHandle;
        memset( thread, 0xcc, sizeof(*thread) );
        free( thread );
        if (wsa_ret)
        {
            ok( wsp_ret == SOCKET_ERROR && err == wsa_err, "overlapped: got %d, error %d\n", wsp_ret, err );
            SleepEx( 100, TRUE );
            ok( completion_error == 0xdeadbeef, "a failed call ran its completion routine\n" );
        }
        else
        {
            ok( !wsp_ret || err == WSA_IO_PENDING, "overlapped: got %d, error %d\n", wsp_ret, err );
            ok( SleepEx( 5000, TRUE ) == WAIT_IO_COMPLETION, "no completion routine ran\n" );
            ok( !completion_error, "completion error %lu\n", completion_error );
            ok( apc_count == 1, "WPUQueueApc called %ld times\n", apc_count );
        }
        CloseHandle( thread_handle );
        winetest_pop_context();
    }
    /* with an event, and through a completion port: the same as WSAIoctl's */
    for (i = 0; i < ARRAY_SIZE(codes); i++)
    {
        winetest_push_context( "code %#lx", codes[i] );
        memset( &overlapped, 0, sizeof(overlapped) );
        overlapped.hEvent = CreateEventW( NULL, TRUE, FALSE, NULL );
        wsa_ret = WSAIoctl( server, codes[i], in, sizeof(in), wsa_out, sizeof(wsa_out), &wsa_size, &overlapped, NULL );
        wsa_err = WSAGetLastError();
        if (!wsa_ret || wsa_err == WSA_IO_PENDING) WaitForSingleObject( overlapped.hEvent, 5000 );
        ResetEvent( overlapped.hEvent );
        err = 0xdeadbeef;
        wsp_ret = wsp.lpWSPIoctl( server, codes[i], in, sizeof(in), wsp_out, sizeof(wsp_out), &wsp_size,
                                  &overlapped, NULL, NULL, &err );
        ok( wsp_ret == wsa_ret, "event: got %d, WSAIoctl %d\n", wsp_ret, wsa_ret );
        if (wsa_ret) ok( err == wsa_err, "event: got error %d, WSAIoctl %d\n", err, wsa_err );
        else
        {
            ok( WaitForSingleObject( overlapped.hEvent, 5000 ) == WAIT_OBJECT_0, "event: not signaled\n" );
            ok( wsp.lpWSPGetOverlappedResult( server, &overlapped, &bytes, FALSE, &flags, &err ),
                "event: WSPGetOverlappedResult failed, error %d\n", err );
        }
        CloseHandle( overlapped.hEvent );
        winetest_pop_context();
    }
    port = CreateIoCompletionPort( (HANDLE)server, NULL, 7, 0 );
    for (i = 0; i < ARRAY_SIZE(codes); i++)
    {
        winetest_push_context( "code %#lx", codes[i] );
        memset( &overlapped, 0, sizeof(overlapped) );
        wsa_ret = WSAIoctl( server, codes[i], in, sizeof(in), wsa_out, sizeof(wsa_out), &wsa_size, &overlapped, NULL );
        wsa_err = WSAGetLastError();
        if (!wsa_ret || wsa_err == WSA_IO_PENDING) GetQueuedCompletionStatus( port, &bytes, &key, &done, 5000 );
        err = 0xdeadbeef;
        wsp_ret = wsp.lpWSPIoctl( server, codes[i], in, sizeof(in), wsp_out, sizeof(wsp_out), &wsp_size,
                                  &overlapped, NULL, NULL, &err );
        ok( wsp_ret == wsa_ret, "port: got %d, WSAIoctl %d\n", wsp_ret, wsa_ret );
        if (wsa_ret) ok( err == wsa_err, "port: got error %d, WSAIoctl %d\n", err, wsa_err );
        else
        {
            ok( GetQueuedCompletionStatus( port, &bytes, &key, &done, 5000 ), "port: no packet\n" );
            ok( done == &overlapped && key == 7, "port: got %p, key %Iu\n", done, key );
        }
        winetest_pop_context();
    }
    CloseHandle( port );

    /* a bad lpThreadId with a completion routine */
    memset( &overlapped, 0, sizeof(overlapped) );
    err = 0xdeadbeef;
    wsp_ret = wsp.lpWSPIoctl( server, FIONREAD, NULL, 0, wsp_out, sizeof(DWORD), &wsp_size, &overlapped,
                              ioctl_completion, (LPWSATHREADID)(ULONG_PTR)16, &err );
    ok( wsp_ret == SOCKET_ERROR && err == WSAEFAULT, "bad lpThreadId: got %d, error %d\n", wsp_ret, err );
    /* a bad lpErrno does not crash */
    wsp_ret = wsp.lpWSPIoctl( server, 0xdeadbeef, NULL, 0, NULL, 0, &wsp_size, NULL, NULL, NULL,
                              (LPINT)(ULONG_PTR)16 );
    ok( wsp_ret == SOCKET_ERROR, "bad lpErrno: got %d\n", wsp_ret );

    wsp.lpWSPCloseSocket( client, &err );
    wsp.lpWSPCloseSocket( server, &err );
}

/* the other entries of the table, once each on a TCP and a UDP socket */
static void test_table(void)
{
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl( INADDR_LOOPBACK ) }, from;
    WCHAR string[64];
    char buffer[16];
    WSABUF buf = { sizeof(buffer), buffer };
    WSANETWORKEVENTS events;
    WSAPROTOCOL_INFOW dup;
    DWORD size, flags, count;
    SOCKET client, server, udp;
    WSAEVENT event;
    fd_set set;
    struct timeval timeout = { 1, 0 };
    int ret, err, len, value, expect;

    tcp_pair( &client, &server );
    ok( ifs_count >= 3, "WPUModifyIFSHandle called %ld times\n", ifs_count );

    buf.len = 5;
    memcpy( buffer, "hello", 5 );
    ret = wsp.lpWSPSend( client, &buf, 1, &count, 0, NULL, NULL, NULL, &err );
    ok( !ret && count == 5, "WSPSend: got %d, %lu bytes, error %d\n", ret, count, err );
    FD_ZERO( &set );
    FD_SET( server, &set );
    ret = wsp.lpWSPSelect( 0, &set, NULL, NULL, &timeout, &err );
    ok( ret == 1, "WSPSelect: got %d, error %d\n", ret, err );
    buf.len = sizeof(buffer);
    flags = 0;
    ret = wsp.lpWSPRecv( server, &buf, 1, &count, &flags, NULL, NULL, NULL, &err );
    ok( !ret && count == 5, "WSPRecv: got %d, %lu bytes, error %d\n", ret, count, err );

    len = sizeof(from);
    ret = wsp.lpWSPGetPeerName( client, (struct sockaddr *)&from, &len, &err );
    ok( !ret, "WSPGetPeerName: error %d\n", err );
    value = 1;
    ret = wsp.lpWSPSetSockOpt( client, IPPROTO_TCP, TCP_NODELAY, (char *)&value, sizeof(value), &err );
    ok( !ret, "WSPSetSockOpt: error %d\n", err );
    len = sizeof(value);
    value = 0;
    ret = wsp.lpWSPGetSockOpt( client, IPPROTO_TCP, TCP_NODELAY, (char *)&value, &len, &err );
    ok( !ret && value, "WSPGetSockOpt: got %d, value %d, error %d\n", ret, value, err );

    event = WSACreateEvent();
    ret = wsp.lpWSPEventSelect( server, event, FD_READ | FD_CLOSE, &err );
    ok( !ret, "WSPEventSelect: error %d\n", err );
    ret = wsp.lpWSPEnumNetworkEvents( server, event, &events, &err );
    ok( !ret, "WSPEnumNetworkEvents: error %d\n", err );
    ret = wsp.lpWSPAsyncSelect( server, NULL, 0, 0, &err );
    ok( !ret, "WSPAsyncSelect: got %d, error %d\n", ret, err );
    WSACloseEvent( event );

    ret = wsp.lpWSPDuplicateSocket( client, GetCurrentProcessId(), &dup, &err );
    ok( !ret, "WSPDuplicateSocket: error %d\n", err );
    ret = wsp.lpWSPShutdown( client, SD_SEND, &err );
    ok( !ret, "WSPShutdown: error %d\n", err );
    ret = wsp.lpWSPSendDisconnect( server, NULL, &err );
    ok( !ret, "WSPSendDisconnect: got %d, error %d\n", ret, err );
    ret = wsp.lpWSPRecvDisconnect( server, NULL, &err );
    ok( !ret, "WSPRecvDisconnect: got %d, error %d\n", ret, err );
    ret = wsp.lpWSPCloseSocket( client, &err );
    ok( !ret, "WSPCloseSocket: error %d\n", err );
    wsp.lpWSPCloseSocket( server, &err );
    err = 0xdeadbeef;
    ret = wsp.lpWSPCloseSocket( client, &err );
    ok( ret == SOCKET_ERROR && err == WSAENOTSOCK, "closed twice: got %d, error %d\n", ret, err );

    /* UDP */
    udp = wsp.lpWSPSocket( AF_INET, SOCK_DGRAM, IPPROTO_UDP, &udp_info, 0, WSA_FLAG_OVERLAPPED, &err );
    ok( udp != INVALID_SOCKET, "WSPSocket: error %d\n", err );
    ret = wsp.lpWSPBind( udp, (struct sockaddr *)&addr, sizeof(addr), &err );
    ok( !ret, "WSPBind: error %d\n", err );
    len = sizeof(addr);
    wsp.lpWSPGetSockName( udp, (struct sockaddr *)&addr, &len, &err );
    buf.len = 4;
    ret = wsp.lpWSPSendTo( udp, &buf, 1, &count, 0, (struct sockaddr *)&addr, sizeof(addr), NULL, NULL, NULL, &err );
    ok( !ret && count == 4, "WSPSendTo: got %d, error %d\n", ret, err );
    buf.len = sizeof(buffer);
    flags = 0;
    len = sizeof(from);
    ret = wsp.lpWSPRecvFrom( udp, &buf, 1, &count, &flags, (struct sockaddr *)&from, &len, NULL, NULL, NULL, &err );
    ok( !ret && count == 4 && from.sin_port == addr.sin_port, "WSPRecvFrom: got %d, error %d\n", ret, err );

    size = ARRAY_SIZE(string);
    ret = wsp.lpWSPAddressToString( (struct sockaddr *)&addr, sizeof(addr), &udp_info, string, &size, &err );
    ok( !ret, "WSPAddressToString: error %d\n", err );
    len = sizeof(from);
    ret = wsp.lpWSPStringToAddress( string, AF_INET, &udp_info, (struct sockaddr *)&from, &len, &err );
    ok( !ret && from.sin_port == addr.sin_port, "WSPStringToAddress: got %d, error %d\n", ret, err );
    err = 0xdeadbeef;
    ret = wsp.lpWSPStringToAddress( (WCHAR *)L"not an address", AF_INET, &udp_info, (struct sockaddr *)&from,
                                    &len, &err );
    ok( ret == SOCKET_ERROR && err == WSAEINVAL, "bad string: got %d, error %d\n", ret, err );

    /* these give what ws2_32 gives, its error through lpErrno */
    buf.len = 1;
    WSASetLastError( 0 );
    ret = WSAGetQOSByName( udp, &buf, NULL );
    expect = WSAGetLastError();
    err = 0xdeadbeef;
    ok( wsp.lpWSPGetQOSByName( udp, &buf, NULL, &err ) == ret, "WSPGetQOSByName: not %d\n", ret );
    if (!ret) ok( err == expect, "WSPGetQOSByName: got error %d, not %d\n", err, expect );

    WSASetLastError( 0 );
    ret = WSAJoinLeaf( udp, (struct sockaddr *)&addr, sizeof(addr), NULL, NULL, NULL, NULL, JL_BOTH ) == INVALID_SOCKET;
    expect = WSAGetLastError();
    err = 0xdeadbeef;
    ok( (wsp.lpWSPJoinLeaf( udp, (struct sockaddr *)&addr, sizeof(addr), NULL, NULL, NULL, NULL, JL_BOTH,
                            &err ) == INVALID_SOCKET) == ret, "WSPJoinLeaf: not as WSAJoinLeaf\n" );
    if (ret) ok( err == expect, "WSPJoinLeaf: got error %d, not %d\n", err, expect );

    WSASetLastError( 0 );
    ret = WSACancelBlockingCall();
    expect = WSAGetLastError();
    err = 0xdeadbeef;
    ok( wsp.lpWSPCancelBlockingCall( &err ) == ret, "WSPCancelBlockingCall: not %d\n", ret );
    if (ret) ok( err == expect, "WSPCancelBlockingCall: got error %d, not %d\n", err, expect );

    err = 0xdeadbeef;
    ret = wsp.lpWSPGetOverlappedResult( udp, NULL, &count, FALSE, &flags, &err );
    ok( !ret && err != 0xdeadbeef, "WSPGetOverlappedResult without an OVERLAPPED: got %d, error %d\n", ret, err );
    wsp.lpWSPCloseSocket( udp, &err );
}

START_TEST(wsp)
{
    WSADATA data;
    int err;

    WSAStartup( MAKEWORD(2, 2), &data );
    test_catalog();
    if (!tcp_info.iSocketType) return;
    load_provider();
    if (!pWSPStartup)
    {
        win_skip( "no WSPStartup\n" );
        return;
    }
    test_startup();
    test_ioctl();
    test_table();
    ok( !wsp.lpWSPCleanup( &err ), "WSPCleanup: error %d\n", err );
    WSACleanup();
}
