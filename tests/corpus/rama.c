/*
 * rama: a transparent proxy built on rama's ConnectorTargetFromWfpContextLayer
 *
 * Copyright 2026 The wine-wfp authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/*
 * Stands for plabayo/rama, rama-net/src/socket/windows/tproxy.rs:
 * query_wfp_redirect_context() and is_no_wfp_redirect_context_error(), as
 * of commit c9ba7f45c (June 2026), which made WSAEINVAL mean "no context".
 *
 * The calls, in rama's order, on each accepted socket:
 *   1. SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, synchronous, into a
 *      128-byte buffer (WFP_CONTEXT_BUFFER_STACK_LEN);
 *   2. on success, the context is the bytes returned;
 *   3. on ERROR_INSUFFICIENT_BUFFER (122) or WSAEFAULT with a nonzero
 *      *lpcbBytesReturned: the buffer grows to that size and the query is
 *      made once more; any failure of that second call is an error;
 *   4. WSAEINVAL: no redirect context.  The layer is not optional here, so
 *      that fails the connection ("missing WFP redirect context"); with
 *      --optional the inner service is served without a target, which for
 *      a transparent proxy means the connection is closed;
 *   5. any other error fails the connection.
 * The decoder (WfpContextDecoder, the application's) reads the default
 * layout: the first SOCKADDR_STORAGE is the target.
 *
 * rama neither queries nor sets redirect records.  A rama proxy's own
 * connections are kept from being redirected again by the redirector's
 * "proxy process id" (localRedirectTargetPID; a wine-wfp rule's target=),
 * so the origin sees no records on the proxy's leg.
 *
 * Accepting is mio's: non-blocking listeners, readiness from
 * WSAEventSelect(FD_ACCEPT), accept() until WSAEWOULDBLOCK.
 *
 * usage: rama.exe [--name NAME] [--optional] PORT
 */

#include "corpus.h"

#define WFP_CONTEXT_BUFFER_STACK_LEN 128

static BOOL context_optional;
static LONG connection_count;

struct connection
{
    LONG id;
    SOCKET socket;
};

/* query_wfp_redirect_context(): 1 with a context, 0 without, -1 on error */
static int query_wfp_redirect_context( SOCKET s, BYTE **context, DWORD *size, char *log, size_t log_size )
{
    DWORD bytes_returned = 0, final_bytes = 0;
    BYTE *buffer = calloc( 1, WFP_CONTEXT_BUFFER_STACK_LEN );
    int rc, err_code;
    size_t len;

    rc = WSAIoctl( s, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, NULL, 0, buffer, WFP_CONTEXT_BUFFER_STACK_LEN,
                   &bytes_returned, NULL, NULL );
    if (!rc)
    {
        snprintf( log, log_size, "context(128) = 0, %lu bytes", bytes_returned );
        *context = buffer;
        *size = bytes_returned;
        return 1;
    }
    err_code = WSAGetLastError();
    snprintf( log, log_size, "context(128) = error %d, %lu bytes", err_code, bytes_returned );
    len = strlen( log );

    if ((err_code == ERROR_INSUFFICIENT_BUFFER || err_code == WSAEFAULT) && bytes_returned > 0)
    {
        buffer = realloc( buffer, bytes_returned );
        rc = WSAIoctl( s, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, NULL, 0, buffer, bytes_returned,
                       &final_bytes, NULL, NULL );
        if (!rc)
        {
            snprintf( log + len, log_size - len, "; context(%lu) = 0, %lu bytes", bytes_returned, final_bytes );
            *context = buffer;
            *size = final_bytes;
            return 1;
        }
        snprintf( log + len, log_size - len, "; context(%lu) = error %d, %lu bytes", bytes_returned,
                  WSAGetLastError(), final_bytes );
        free( buffer );
        return -1;
    }

    free( buffer );
    /* is_no_wfp_redirect_context_error() */
    if (err_code == WSAEINVAL)
    {
        snprintf( log + len, log_size - len, ": no WFP redirect context" );
        return 0;
    }
    return -1;
}

static DWORD WINAPI serve( void *arg )
{
    struct connection *conn = arg;
    SOCKADDR_STORAGE target;
    ULONGLONG up = 0, back = 0;
    char log[256], peer[80], text[80];
    SOCKET upstream = INVALID_SOCKET;
    BYTE *context = NULL;
    DWORD size = 0;
    int ret;

    peer_string( conn->socket, peer, sizeof(peer) );
    ret = query_wfp_redirect_context( conn->socket, &context, &size, log, sizeof(log) );
    if (ret < 0)
    {
        say( "#%ld from %s: %s: query WFP context from input stream failed; closing\n", conn->id, peer, log );
        goto done;
    }
    if (!ret)
    {
        say( "#%ld from %s: %s; %s\n", conn->id, peer, log, context_optional ?
             "served without a target; closing" : "missing WFP redirect context; closing" );
        goto done;
    }
    /* the application's WfpContextDecoder: SOCKADDR_STORAGE[0] */
    if (size < sizeof(target))
    {
        say( "#%ld from %s: %s: decode WFP context failed (%lu bytes); closing\n", conn->id, peer, log, size );
        goto done;
    }
    memcpy( &target, context, sizeof(target) );
    say( "#%ld from %s: %s; target %s\n", conn->id, peer, log, addr_string( &target, text, sizeof(text) ) );

    upstream = socket( target.ss_family, SOCK_STREAM, IPPROTO_TCP );
    if (connect( upstream, (SOCKADDR *)&target, addr_len( &target ) ))
    {
        say( "#%ld connect to %s failed: error %d\n", conn->id, text, WSAGetLastError() );
        goto done;
    }
    relay( conn->socket, upstream, &up, &back );
    say( "#%ld relayed %I64u/%I64u bytes to %s\n", conn->id, up, back, text );

done:
    if (upstream != INVALID_SOCKET) closesocket( upstream );
    closesocket( conn->socket );
    free( context );
    free( conn );
    return 0;
}

int main( int argc, char **argv )
{
    WSAEVENT events[2];
    SOCKET listeners[2];
    int i, port = 0;

    corpus_init( "rama" );
    for (i = 1; i < argc; i++)
    {
        if (!strcmp( argv[i], "--name" )) corpus_name = option_value( argc, argv, &i );
        else if (!strcmp( argv[i], "--optional" )) context_optional = TRUE;
        else if (!port && (port = atoi( argv[i] )) > 0) ;
        else
        {
            fprintf( stderr, "usage: rama.exe [--name NAME] [--optional] PORT\n" );
            return 2;
        }
    }
    if (!port) return 2;

    listeners[0] = listen_on( AF_INET, port, FALSE, WSA_FLAG_OVERLAPPED );
    listeners[1] = listen_on( AF_INET6, port, FALSE, WSA_FLAG_OVERLAPPED );
    for (i = 0; i < 2; i++)
    {
        events[i] = WSACreateEvent();
        WSAEventSelect( listeners[i], events[i], FD_ACCEPT );
    }
    listening();

    for (;;)
    {
        DWORD ret = WSAWaitForMultipleEvents( 2, events, FALSE, WSA_INFINITE, FALSE );
        WSANETWORKEVENTS network_events;
        SOCKET s;

        if (ret >= WSA_WAIT_EVENT_0 + 2) break;
        i = ret - WSA_WAIT_EVENT_0;
        WSAEnumNetworkEvents( listeners[i], events[i], &network_events );
        while ((s = accept( listeners[i], NULL, NULL )) != INVALID_SOCKET)
        {
            struct connection *conn = malloc( sizeof(*conn) );
            HANDLE thread;

            /* the accepted socket inherits the listener's event selection */
            WSAEventSelect( s, NULL, 0 );
            set_blocking( s );
            conn->id = InterlockedIncrement( &connection_count );
            conn->socket = s;
            if ((thread = CreateThread( NULL, 0, serve, conn, 0, NULL ))) CloseHandle( thread );
            else
            {
                closesocket( s );
                free( conn );
            }
        }
        if (WSAGetLastError() != WSAEWOULDBLOCK) say( "accept failed: error %d\n", WSAGetLastError() );
    }
    return 1;
}
