/*
 * envoy: Envoy's outbound listener with the original_dst listener filter
 *
 * Copyright 2026 The wine-wfp authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/*
 * Stands for envoyproxy/envoy on Windows:
 *   source/extensions/filters/listener/original_dst/original_dst.cc,
 *       OriginalDstFilter::onAccept();
 *   source/common/network/utility.cc, Utility::getOriginalDst();
 *   source/common/network/win32_redirect_records_option_impl.cc,
 *       Win32RedirectRecordsOptionImpl::setOption();
 *   source/common/network/connection_impl.cc, the ClientConnectionImpl
 *       constructor (socket options at STATE_PREBIND, then bind, connect).
 *
 * The calls, in Envoy's order:
 *   1. a non-blocking listener per family (a listener with
 *      traffic_direction OUTBOUND), accept() until WSAEWOULDBLOCK;
 *   2. getsockopt(SOL_IP, SO_ORIGINAL_DST), or (SOL_IPV6,
 *      IP6T_SO_ORIGINAL_DST) when the accepted socket is IPv6, into a
 *      sockaddr_storage with its size as the length.  A failure means "not
 *      redirected": Envoy serves the connection itself, and queries nothing;
 *   3. SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, synchronous, into
 *      Win32RedirectRecords' 2048-byte buffer; a failure is logged
 *      ("cannot broker connection to original destination") and the
 *      listener filter stops: the connection is closed;
 *   4. upstream: a new socket, SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS at
 *      STATE_PREBIND with the bytes the query returned, no bind (no source
 *      address configured), connect to the original destination.  A SET
 *      failure is logged ("Setting WFP records on socket failed") and
 *      setOption() returns false, which makes ClientConnectionImpl close
 *      the upstream connection before it connects.
 *
 * Every call's result is logged, for the runner.
 *
 * usage: envoy.exe [--name NAME] PORT
 */

#include "corpus.h"

/* envoy/network/io_handle.h: struct Win32RedirectRecords */
struct win32_redirect_records
{
    BYTE buf[2048];
    ULONG buf_size;
};

struct downstream
{
    LONG id;
    SOCKET socket;
    SOCKADDR_STORAGE original_dst;
    struct win32_redirect_records records;
};

static LONG connection_count;

/* the tcp_proxy upstream of one downstream connection */
static DWORD WINAPI upstream( void *arg )
{
    struct downstream *down = arg;
    ULONGLONG up = 0, back = 0;
    char text[80];
    DWORD size = 0;
    SOCKET s;

    s = socket( down->original_dst.ss_family, SOCK_STREAM, IPPROTO_TCP );
    /* Win32RedirectRecordsOptionImpl::setOption(), STATE_PREBIND */
    if (WSAIoctl( s, SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS, down->records.buf, down->records.buf_size,
                  NULL, 0, &size, NULL, NULL ))
    {
        say( "#%ld upstream: Setting WFP records on socket failed: error %d; closing\n", down->id, WSAGetLastError() );
        goto done;
    }
    if (connect( s, (SOCKADDR *)&down->original_dst, addr_len( &down->original_dst ) ))
    {
        say( "#%ld upstream: SET = 0; connect to %s failed: error %d\n", down->id,
             addr_string( &down->original_dst, text, sizeof(text) ), WSAGetLastError() );
        goto done;
    }
    relay( down->socket, s, &up, &back );
    say( "#%ld upstream: SET = 0; connected to %s; relayed %I64u/%I64u bytes\n", down->id,
         addr_string( &down->original_dst, text, sizeof(text) ), up, back );

done:
    closesocket( s );
    closesocket( down->socket );
    free( down );
    return 0;
}

/* OriginalDstFilter::onAccept() with Utility::getOriginalDst() */
static void on_accept( SOCKET s )
{
    struct downstream *down = calloc( 1, sizeof(*down) );
    SOCKADDR_STORAGE local;
    char peer[80], text[80];
    int len = sizeof(local), level, ret;
    HANDLE thread;

    down->id = InterlockedIncrement( &connection_count );
    down->socket = s;
    peer_string( s, peer, sizeof(peer) );
    getsockname( s, (SOCKADDR *)&local, &len );
    level = local.ss_family == AF_INET6 ? SOL_IPV6 : SOL_IP;

    len = sizeof(down->original_dst);
    ret = getsockopt( s, level, level == SOL_IP ? SO_ORIGINAL_DST : IP6T_SO_ORIGINAL_DST,
                      (char *)&down->original_dst, &len );
    if (ret)
    {
        say( "#%ld from %s: getsockopt(%s, SO_ORIGINAL_DST) = error %d: not redirected, served locally; closing\n",
             down->id, peer, level == SOL_IP ? "SOL_IP" : "SOL_IPV6", WSAGetLastError() );
        goto fail;
    }
    say( "#%ld from %s: getsockopt(%s, SO_ORIGINAL_DST) = 0, %d bytes: %s\n", down->id, peer,
         level == SOL_IP ? "SOL_IP" : "SOL_IPV6", len, addr_string( &down->original_dst, text, sizeof(text) ) );

    ret = WSAIoctl( s, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, down->records.buf,
                    sizeof(down->records.buf), &down->records.buf_size, NULL, NULL );
    if (ret)
    {
        say( "#%ld closing connection: cannot broker connection to original destination "
             "[Query redirect record failed] with error %d\n", down->id, WSAGetLastError() );
        goto fail;
    }
    say( "#%ld records = 0, %lu bytes\n", down->id, down->records.buf_size );

    set_blocking( s );
    if ((thread = CreateThread( NULL, 0, upstream, down, 0, NULL )))
    {
        CloseHandle( thread );
        return;
    }

fail:
    closesocket( s );
    free( down );
}

int main( int argc, char **argv )
{
    SOCKET listeners[2];
    u_long nonblocking = 1;
    int i, port = 0;

    corpus_init( "envoy" );
    for (i = 1; i < argc; i++)
    {
        if (!strcmp( argv[i], "--name" )) corpus_name = option_value( argc, argv, &i );
        else if (!port && (port = atoi( argv[i] )) > 0) ;
        else
        {
            fprintf( stderr, "usage: envoy.exe [--name NAME] PORT\n" );
            return 2;
        }
    }
    if (!port) return 2;

    listeners[0] = listen_on( AF_INET, port, FALSE, 0 );
    listeners[1] = listen_on( AF_INET6, port, FALSE, 0 );
    for (i = 0; i < 2; i++) ioctlsocket( listeners[i], FIONBIO, &nonblocking );
    listening();

    for (;;)
    {
        fd_set set;

        FD_ZERO( &set );
        for (i = 0; i < 2; i++) FD_SET( listeners[i], &set );
        if (select( 0, &set, NULL, NULL, NULL ) <= 0) break;
        for (i = 0; i < 2; i++)
        {
            SOCKET s;

            if (!FD_ISSET( listeners[i], &set )) continue;
            while ((s = accept( listeners[i], NULL, NULL )) != INVALID_SOCKET) on_accept( s );
            if (WSAGetLastError() != WSAEWOULDBLOCK) say( "accept failed: error %d\n", WSAGetLastError() );
        }
    }
    return 1;
}
