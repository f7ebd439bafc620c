/*
 * wfpsampler: a proxy built on the WinSock helpers of Microsoft's WFPSampler
 *
 * Copyright 2026 The wine-wfp authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/*
 * Stands for microsoft/Windows-driver-samples,
 * network/trans/WFPSampler/lib/HelperFunctions_WinSock.cpp:
 * HlprWinSockAssociateConnectionRedirectRecordsAndContextWithProxySocket()
 * and the helpers around it (HlprWinSockCreateSocket, HlprWinSockBindToSocket,
 * HlprWinSockListenOnSocket, HlprWinSockAcceptConnection,
 * HlprWinSockConnectSocket, HlprWinSockDestroySocket).  The sample has no
 * program that calls the association helper; this is the thread per
 * listener accept loop that issue 11 compiled it into.
 *
 * The calls, in the helpers' order:
 *   1. WSASocket(WSA_FLAG_OVERLAPPED), bind() with a name length of
 *      sizeof(SOCKADDR_STORAGE), listen(SOMAXCONN);
 *   2. a blocking WSAAccept() with no condition function and an address
 *      length of sizeof(SOCKADDR_STORAGE), in a loop of its own per
 *      listener; each connection gets a thread, so WSAAccept() is waiting
 *      when the next connection comes;
 *   3. the proxy socket: WSASocket(WSA_FLAG_OVERLAPPED) of the family of
 *      the accepted connection;
 *   4. the association helper: QUERY_RECORDS into 8192 bytes (a failure
 *      bails out); QUERY_CONTEXT into exactly 2 * sizeof(SOCKADDR_STORAGE)
 *      = 256 bytes, where FWP_E_NOT_FOUND is tolerated and anything else
 *      bails out; on success ASSERT(size == 256) and the two addresses are
 *      taken, the original destination then the original source; SET with
 *      the records' size;
 *   5. then, as the helper says, bind the proxy socket (the wildcard
 *      address, name length sizeof(SOCKADDR_STORAGE)), and
 *      WSAConnect() with a name length of sizeof(SOCKADDR_STORAGE);
 *   6. HlprWinSockDestroySocket: shutdown(SD_BOTH), closesocket().
 *
 * Where the context is absent the helper leaves the caller's address as
 * it was; this caller then asks getsockopt(SO_ORIGINAL_DST), its own
 * fallback and not the sample's.
 *
 * usage: wfpsampler.exe [--name NAME] PORT
 */

#include "corpus.h"

static LONG connection_count;

struct connection
{
    LONG id;
    SOCKET socket;
    SOCKADDR_STORAGE peer;
};

/* the association helper, with every result logged */
static UINT32 associate_records_and_context( LONG id, SOCKET original_socket, SOCKET proxy_socket,
                                             SOCKADDR_STORAGE *proxy_peer, SOCKADDR_STORAGE *origin,
                                             BOOL *have_context, char *log, size_t log_size )
{
    const SIZE_T records_capacity = 8192, context_capacity = sizeof(SOCKADDR_STORAGE) * 2;
    BYTE *records = malloc( records_capacity ), *context = malloc( context_capacity );
    DWORD records_size = 0, context_size = 0, output_size = 0;
    UINT32 status;
    size_t len;

    *have_context = FALSE;
    status = WSAIoctl( original_socket, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, records,
                       records_capacity, &records_size, NULL, NULL );
    if (status)
    {
        status = WSAGetLastError();
        snprintf( log, log_size, "records = error %#x, %lu bytes", status, records_size );
        goto done;
    }
    snprintf( log, log_size, "records = 0, %lu bytes; ", records_size );
    len = strlen( log );

    status = WSAIoctl( original_socket, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, NULL, 0, context,
                       context_capacity, &context_size, NULL, NULL );
    if (status)
    {
        status = WSAGetLastError();
        if (status != (UINT32)FWP_E_NOT_FOUND)
        {
            snprintf( log + len, log_size - len, "context = error %#x, %lu bytes", status, context_size );
            goto done;
        }
        snprintf( log + len, log_size - len, "context = error %#x, %lu bytes, tolerated; ", status, context_size );
    }
    else
    {
        /* ASSERT(redirectContextSize == REDIRECT_CONTEXT_SIZE) */
        snprintf( log + len, log_size - len, "context = 0, %lu bytes%s; ", context_size,
                  context_size == context_capacity ? "" : " (the sample ASSERTs 256)" );
        memcpy( proxy_peer, context, sizeof(SOCKADDR_STORAGE) );
        if (origin) memcpy( origin, context + sizeof(SOCKADDR_STORAGE), sizeof(SOCKADDR_STORAGE) );
        *have_context = TRUE;
    }
    len = strlen( log );

    status = WSAIoctl( proxy_socket, SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS, records, records_size, NULL, 0,
                       &output_size, NULL, NULL );
    if (status) status = WSAGetLastError();
    snprintf( log + len, log_size - len, "SET = %#x, %lu bytes", status, output_size );

done:
    free( context );
    free( records );
    (void)id;
    return status;
}

static void destroy_socket( SOCKET *s )
{
    if (*s == INVALID_SOCKET) return;
    shutdown( *s, SD_BOTH );
    closesocket( *s );
    *s = INVALID_SOCKET;
}

static DWORD WINAPI proxy_connection( void *arg )
{
    struct connection *conn = arg;
    SOCKADDR_STORAGE destination, origin, wildcard;
    char log[512], peer[80], dst[80], src[80];
    ULONGLONG up = 0, back = 0;
    SOCKET proxy = INVALID_SOCKET;
    BOOL have_context;
    int len;

    addr_string( &conn->peer, peer, sizeof(peer) );
    proxy = WSASocketW( conn->peer.ss_family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED );
    memset( &destination, 0, sizeof(destination) );
    memset( &origin, 0, sizeof(origin) );
    if (associate_records_and_context( conn->id, conn->socket, proxy, &destination, &origin, &have_context,
                                       log, sizeof(log) ))
    {
        say( "#%ld from %s: %s; closing\n", conn->id, peer, log );
        goto done;
    }
    if (have_context)
    {
        addr_string( &destination, dst, sizeof(dst) );
        addr_string( &origin, src, sizeof(src) );
        say( "#%ld from %s: %s; destination %s, origin %s%s\n", conn->id, peer, log, dst, src,
             strcmp( src, peer ) ? " (not the peer)" : " (the peer)" );
    }
    else
    {
        len = sizeof(destination);
        if (getsockopt( conn->socket, conn->peer.ss_family == AF_INET6 ? SOL_IPV6 : SOL_IP, SO_ORIGINAL_DST,
                        (char *)&destination, &len ))
        {
            say( "#%ld from %s: %s; no context and no SO_ORIGINAL_DST (error %d); closing\n",
                 conn->id, peer, log, WSAGetLastError() );
            goto done;
        }
        say( "#%ld from %s: %s; SO_ORIGINAL_DST %s\n", conn->id, peer, log,
             addr_string( &destination, dst, sizeof(dst) ) );
    }

    /* HlprWinSockBindToSocket(), then HlprWinSockConnectSocket() */
    memset( &wildcard, 0, sizeof(wildcard) );
    wildcard.ss_family = destination.ss_family;
    if (bind( proxy, (SOCKADDR *)&wildcard, sizeof(SOCKADDR_STORAGE) ))
    {
        say( "#%ld HlprWinSockBindToSocket : bind() [status: %#x]\n", conn->id, WSAGetLastError() );
        goto done;
    }
    if (WSAConnect( proxy, (SOCKADDR *)&destination, sizeof(SOCKADDR_STORAGE), NULL, NULL, NULL, NULL ))
    {
        say( "#%ld HlprWinSockConnectSocket : WSAConnect() [status: %#x]\n", conn->id, WSAGetLastError() );
        goto done;
    }
    relay( conn->socket, proxy, &up, &back );
    say( "#%ld relayed %I64u/%I64u bytes to %s\n", conn->id, up, back, dst );

done:
    destroy_socket( &proxy );
    destroy_socket( &conn->socket );
    free( conn );
    return 0;
}

/* one thread per listener: HlprWinSockAcceptConnection() in a loop */
static DWORD WINAPI accept_loop( void *arg )
{
    SOCKET listener = (SOCKET)(ULONG_PTR)arg;

    for (;;)
    {
        struct connection *conn = calloc( 1, sizeof(*conn) );
        INT len = sizeof(SOCKADDR_STORAGE);
        HANDLE thread;

        conn->socket = WSAAccept( listener, (SOCKADDR *)&conn->peer, &len, NULL, 0 );
        if (conn->socket == INVALID_SOCKET)
        {
            say( "HlprWinSockAcceptConnection : WSAAccept() [status: %#x]\n", WSAGetLastError() );
            free( conn );
            Sleep( 100 );
            continue;
        }
        conn->id = InterlockedIncrement( &connection_count );
        if ((thread = CreateThread( NULL, 0, proxy_connection, conn, 0, NULL ))) CloseHandle( thread );
        else
        {
            destroy_socket( &conn->socket );
            free( conn );
        }
    }
    return 0;
}

static SOCKET sampler_listener( int family, int port )
{
    SOCKADDR_STORAGE addr;
    SOCKET s;

    memset( &addr, 0, sizeof(addr) );
    addr.ss_family = family;
    if (family == AF_INET6) ((SOCKADDR_IN6 *)&addr)->sin6_port = htons( port );
    else ((SOCKADDR_IN *)&addr)->sin_port = htons( port );
    s = WSASocketW( family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED );
    if (bind( s, (SOCKADDR *)&addr, sizeof(SOCKADDR_STORAGE) ) || listen( s, SOMAXCONN ))
    {
        fprintf( stderr, "[%s] cannot listen on port %d: error %d\n", corpus_name, port, WSAGetLastError() );
        exit( 1 );
    }
    return s;
}

int main( int argc, char **argv )
{
    HANDLE threads[2];
    int i, port = 0;

    corpus_init( "wfpsampler" );
    for (i = 1; i < argc; i++)
    {
        if (!strcmp( argv[i], "--name" )) corpus_name = option_value( argc, argv, &i );
        else if (!port && (port = atoi( argv[i] )) > 0) ;
        else
        {
            fprintf( stderr, "usage: wfpsampler.exe [--name NAME] PORT\n" );
            return 2;
        }
    }
    if (!port) return 2;

    threads[0] = CreateThread( NULL, 0, accept_loop, (void *)(ULONG_PTR)sampler_listener( AF_INET, port ), 0, NULL );
    threads[1] = CreateThread( NULL, 0, accept_loop, (void *)(ULONG_PTR)sampler_listener( AF_INET6, port ), 0, NULL );
    listening();
    WaitForMultipleObjects( 2, threads, TRUE, INFINITE );
    return 1;
}
