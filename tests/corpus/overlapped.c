/*
 * overlapped: a proxy that makes its queries overlapped, with a deadline
 *
 * Copyright 2026 The wine-wfp authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/*
 * The wait-with-a-deadline pattern of Winsock callers that never block
 * without a bound: Microsoft's WSAGetOverlappedResult documentation and
 * sample (an event in the WSAOVERLAPPED, a wait, then the result), and
 * ebpf-for-windows' tests/libs/util/socket_helper.cpp,
 * _server_socket::complete_async_receive(), which waits a bounded time
 * and cancels the I/O when the time is up.  No public proxy with this
 * exact shape was found; the corpus has it because the ioctls must behave
 * like any other overlapped socket I/O.
 *
 * For each query, on each accepted socket:
 *   1. WSAIoctl() with a WSAOVERLAPPED whose hEvent is a WSA event, no
 *      completion routine;
 *   2. if it returned 0 it completed at once; if it failed with
 *      WSA_IO_PENDING, WaitForSingleObject(event, 300);
 *   3. on WAIT_TIMEOUT, CancelIo() on the socket;
 *   4. then WSAGetOverlappedResult(fWait TRUE) gives the result and the
 *      size (the real one, or WSA_OPERATION_ABORTED after a cancel).
 * QUERY_RECORDS into 2048 bytes, then QUERY_CONTEXT into 256; the
 * destination is the first SOCKADDR_STORAGE of the context; SET, with an
 * event too; connect; relay.
 *
 * usage: overlapped.exe [--name NAME] PORT
 */

#include "corpus.h"

static LONG connection_count;

/* one overlapped WSAIoctl with a 300 ms deadline; its story goes to log */
static int overlapped_ioctl( SOCKET s, DWORD code, void *in, DWORD in_size, void *out, DWORD out_size,
                             DWORD *size, char *log, size_t log_size )
{
    WSAOVERLAPPED overlapped;
    DWORD flags = 0, wait = WAIT_OBJECT_0;
    const char *path;
    int ret, error = 0;

    memset( &overlapped, 0, sizeof(overlapped) );
    overlapped.hEvent = WSACreateEvent();
    *size = 0;
    ret = WSAIoctl( s, code, in, in_size, out, out_size, size, &overlapped, NULL );
    if (!ret) path = "at once";
    else if ((error = WSAGetLastError()) != WSA_IO_PENDING)
    {
        snprintf( log, log_size, "failed at once with %d", error );
        WSACloseEvent( overlapped.hEvent );
        return error;
    }
    else
    {
        path = "pending";
        if ((wait = WaitForSingleObject( overlapped.hEvent, 300 )) == WAIT_TIMEOUT)
        {
            path = "pending, timed out, cancelled";
            CancelIo( (HANDLE)s );
        }
    }
    error = 0;
    if (!WSAGetOverlappedResult( s, &overlapped, size, TRUE, &flags )) error = WSAGetLastError();
    snprintf( log, log_size, "%s: %s, %lu bytes", path, error ? "failed" : "0", *size );
    if (error)
    {
        size_t len = strlen( log );
        snprintf( log + len, log_size - len, " (error %d)", error );
    }
    WSACloseEvent( overlapped.hEvent );
    return error;
}

static DWORD WINAPI serve( void *arg )
{
    SOCKET s = (SOCKET)(ULONG_PTR)arg, upstream = INVALID_SOCKET;
    BYTE records[2048];
    SOCKADDR_STORAGE context[2];
    char records_log[128], context_log[128], set_log[128], peer[80], text[80];
    ULONGLONG up = 0, back = 0;
    DWORD records_size, context_size, size;
    LONG id = InterlockedIncrement( &connection_count );

    peer_string( s, peer, sizeof(peer) );
    if (overlapped_ioctl( s, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, records, sizeof(records),
                          &records_size, records_log, sizeof(records_log) ))
    {
        say( "#%ld from %s: records %s; closing\n", id, peer, records_log );
        goto done;
    }
    if (overlapped_ioctl( s, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, NULL, 0, context, sizeof(context),
                          &context_size, context_log, sizeof(context_log) ))
    {
        say( "#%ld from %s: records %s; context %s; closing\n", id, peer, records_log, context_log );
        goto done;
    }
    upstream = WSASocketW( context[0].ss_family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED );
    if (overlapped_ioctl( upstream, SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS, records, records_size, NULL, 0,
                          &size, set_log, sizeof(set_log) ))
    {
        say( "#%ld from %s: records %s; context %s; SET %s; closing\n", id, peer, records_log, context_log, set_log );
        goto done;
    }
    say( "#%ld from %s: records %s; context %s; SET %s; destination %s\n", id, peer, records_log, context_log,
         set_log, addr_string( &context[0], text, sizeof(text) ) );
    if (connect( upstream, (SOCKADDR *)&context[0], addr_len( &context[0] ) ))
    {
        say( "#%ld connect to %s failed: error %d\n", id, text, WSAGetLastError() );
        goto done;
    }
    relay( s, upstream, &up, &back );
    say( "#%ld relayed %I64u/%I64u bytes to %s\n", id, up, back, text );

done:
    if (upstream != INVALID_SOCKET) closesocket( upstream );
    closesocket( s );
    return 0;
}

int main( int argc, char **argv )
{
    SOCKET listeners[2];
    int i, port = 0;

    corpus_init( "overlapped" );
    for (i = 1; i < argc; i++)
    {
        if (!strcmp( argv[i], "--name" )) corpus_name = option_value( argc, argv, &i );
        else if (!port && (port = atoi( argv[i] )) > 0) ;
        else
        {
            fprintf( stderr, "usage: overlapped.exe [--name NAME] PORT\n" );
            return 2;
        }
    }
    if (!port) return 2;

    listeners[0] = listen_on( AF_INET, port, FALSE, WSA_FLAG_OVERLAPPED );
    listeners[1] = listen_on( AF_INET6, port, FALSE, WSA_FLAG_OVERLAPPED );
    listening();
    for (;;)
    {
        fd_set set;

        FD_ZERO( &set );
        for (i = 0; i < 2; i++) FD_SET( listeners[i], &set );
        if (select( 0, &set, NULL, NULL, NULL ) <= 0) break;
        for (i = 0; i < 2; i++)
        {
            HANDLE thread;
            SOCKET s;

            if (!FD_ISSET( listeners[i], &set )) continue;
            if ((s = accept( listeners[i], NULL, NULL )) == INVALID_SOCKET) continue;
            if ((thread = CreateThread( NULL, 0, serve, (void *)(ULONG_PTR)s, 0, NULL ))) CloseHandle( thread );
            else closesocket( s );
        }
    }
    return 1;
}
