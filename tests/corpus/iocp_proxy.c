/*
 * iocp_proxy: an IOCP transparent proxy of the MdProxyService kind
 *
 * Copyright 2026 The wine-wfp authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/*
 * Stands for "MdProxyService", a public user-mode proxy for a WFP connect
 * redirect callout (MdProxyService.cpp: AcceptThread(), AcceptConnection(),
 * InitRemoteConnection(), AssociateWithIOCP(); the index this was read from
 * does not record its repository).  The windows-wfp-redirect-spec in the
 * project's reference folder describes the same program.
 *
 * The calls, in its order:
 *   1. an IPv4 listener: WSASocket(AF_INET, SOCK_STREAM, 0,
 *      WSA_FLAG_OVERLAPPED), bind(INADDR_ANY), listen(SOMAXCONN),
 *      WSAEventSelect(FD_ACCEPT) (which also makes it non-blocking);
 *   2. an accept thread: WSAWaitForMultipleEvents() with a timeout,
 *      WSAEnumNetworkEvents(), and for FD_ACCEPT one WSAAccept() with no
 *      condition function and a sockaddr_in;
 *   3. InitRemoteConnection(), synchronous, on the accept thread:
 *      QUERY_RECORDS into 2048 bytes and QUERY_CONTEXT into
 *      2 * sizeof(SOCKADDR_STORAGE) = 256 bytes, both on the heap, either
 *      failure dropping the connection; the destination is
 *      SOCKADDR_STORAGE[0] of the context; WSASocket(AF_INET,
 *      WSA_FLAG_OVERLAPPED); SET with the records' size (a returned size
 *      that differs only logs "Redirect record size mismatch"); a blocking
 *      WSAConnect() with a name length of sizeof(SOCKADDR_STORAGE);
 *   4. both sockets on one completion port, an initial WSARecv() posted on
 *      each; worker threads (two per processor) move what each receive
 *      brings to the other socket with WSASend(), and repost.
 * It is IPv4 only: the outbound socket is always AF_INET.
 *
 * usage: iocp_proxy.exe [--name NAME] PORT
 */

#include "corpus.h"

#define BUFFER_SIZE 16384

enum op_type { OP_RECV, OP_SEND };

struct pair;

/* one direction: receive from "from", send to the other socket */
struct direction
{
    WSAOVERLAPPED overlapped;
    enum op_type type;
    struct pair *pair;
    SOCKET from, to;
    char buffer[BUFFER_SIZE];
    WSABUF wsabuf;
    DWORD sent, length;
    BOOL done;
};

struct pair
{
    LONG id;
    LONG refs;
    LONG closed;
    struct direction dir[2];
    ULONGLONG bytes[2];
};

static HANDLE port;
static LONG connection_count;

static void pair_release( struct pair *pair )
{
    if (InterlockedDecrement( &pair->refs )) return;
    say( "#%ld done, relayed %I64u/%I64u bytes\n", pair->id, pair->bytes[0], pair->bytes[1] );
    free( pair );
}

static void pair_close( struct pair *pair )
{
    if (InterlockedExchange( &pair->closed, 1 )) return;
    closesocket( pair->dir[0].from );
    closesocket( pair->dir[1].from );
}

static BOOL post_recv( struct direction *dir )
{
    DWORD flags = 0;

    memset( &dir->overlapped, 0, sizeof(dir->overlapped) );
    dir->type = OP_RECV;
    dir->wsabuf.buf = dir->buffer;
    dir->wsabuf.len = sizeof(dir->buffer);
    InterlockedIncrement( &dir->pair->refs );
    if (WSARecv( dir->from, &dir->wsabuf, 1, NULL, &flags, &dir->overlapped, NULL ) &&
        WSAGetLastError() != WSA_IO_PENDING)
    {
        InterlockedDecrement( &dir->pair->refs );
        return FALSE;
    }
    return TRUE;
}

static BOOL post_send( struct direction *dir )
{
    memset( &dir->overlapped, 0, sizeof(dir->overlapped) );
    dir->type = OP_SEND;
    dir->wsabuf.buf = dir->buffer + dir->sent;
    dir->wsabuf.len = dir->length - dir->sent;
    InterlockedIncrement( &dir->pair->refs );
    if (WSASend( dir->to, &dir->wsabuf, 1, NULL, 0, &dir->overlapped, NULL ) &&
        WSAGetLastError() != WSA_IO_PENDING)
    {
        InterlockedDecrement( &dir->pair->refs );
        return FALSE;
    }
    return TRUE;
}

static DWORD WINAPI worker_thread( void *arg )
{
    (void)arg;
    for (;;)
    {
        OVERLAPPED *overlapped;
        struct direction *dir;
        struct pair *pair;
        ULONG_PTR key;
        DWORD bytes;
        BOOL ok;

        ok = GetQueuedCompletionStatus( port, &bytes, &key, &overlapped, INFINITE );
        if (!overlapped) break;
        dir = CONTAINING_RECORD( overlapped, struct direction, overlapped );
        pair = dir->pair;

        if (!ok) pair_close( pair );
        else if (dir->type == OP_RECV)
        {
            if (!bytes)
            {
                /* the end of this direction: pass it on */
                shutdown( dir->to, SD_SEND );
                dir->done = TRUE;
                if (pair->dir[0].done && pair->dir[1].done) pair_close( pair );
            }
            else
            {
                pair->bytes[dir - pair->dir] += bytes;
                dir->length = bytes;
                dir->sent = 0;
                if (!post_send( dir )) pair_close( pair );
            }
        }
        else
        {
            dir->sent += bytes;
            if (dir->sent < dir->length ? !post_send( dir ) : !post_recv( dir )) pair_close( pair );
        }
        pair_release( pair );
    }
    return 0;
}

/* InitRemoteConnection() */
static SOCKET init_remote_connection( LONG id, SOCKET client, const char *peer )
{
    const SIZE_T records_capacity = 2048, context_capacity = sizeof(SOCKADDR_STORAGE) * 2;
    BYTE *records = malloc( records_capacity ), *context = malloc( context_capacity );
    SOCKADDR_STORAGE *remote = malloc( sizeof(*remote) );
    DWORD records_size = 0, context_size = 0, records_set = 0;
    SOCKET remote_socket = INVALID_SOCKET;
    char text[80];

    if (WSAIoctl( client, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, records, records_capacity,
                  &records_size, NULL, NULL ))
    {
        say( "#%ld from %s: Unable to get redirect records from socket: %d (%lu bytes)\n", id, peer,
             WSAGetLastError(), records_size );
        goto done;
    }
    if (WSAIoctl( client, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, NULL, 0, context, context_capacity,
                  &context_size, NULL, NULL ))
    {
        say( "#%ld from %s: records = 0, %lu bytes; Unable to get redirect context from socket: %d (%lu bytes)\n",
             id, peer, records_size, WSAGetLastError(), context_size );
        goto done;
    }
    memcpy( remote, context, sizeof(SOCKADDR_STORAGE) );

    remote_socket = WSASocketW( AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED );
    if (WSAIoctl( remote_socket, SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS, records, records_size, NULL, 0,
                  &records_set, NULL, NULL ))
    {
        say( "#%ld from %s: records = 0, %lu bytes; context = 0, %lu bytes; Unable to set redirect records on "
             "socket: %d\n", id, peer, records_size, context_size, WSAGetLastError() );
        closesocket( remote_socket );
        remote_socket = INVALID_SOCKET;
        goto done;
    }
    /* "Check no longer valid": only logged */
    if (records_size != records_set)
        say( "#%ld Redirect record size mismatch. %lu and %lu\n", id, records_size, records_set );

    if (WSAConnect( remote_socket, (SOCKADDR *)remote, sizeof(SOCKADDR_STORAGE), NULL, NULL, NULL, NULL ))
    {
        say( "#%ld from %s: Error occured while connecting to remote server %s: %d\n", id, peer,
             addr_string( remote, text, sizeof(text) ), WSAGetLastError() );
        closesocket( remote_socket );
        remote_socket = INVALID_SOCKET;
        goto done;
    }
    say( "#%ld from %s: records = 0, %lu bytes; context = 0, %lu bytes; SET = 0; WSAConnect(128) = 0: %s\n",
         id, peer, records_size, context_size, addr_string( remote, text, sizeof(text) ) );

done:
    free( remote );
    free( context );
    free( records );
    return remote_socket;
}

static void accept_connection( SOCKET listener )
{
    struct sockaddr_in client_address;
    int len = sizeof(client_address);
    SOCKADDR_STORAGE storage;
    struct pair *pair;
    SOCKET s, remote;
    char peer[80];
    LONG id;

    s = WSAAccept( listener, (SOCKADDR *)&client_address, &len, NULL, 0 );
    if (s == INVALID_SOCKET)
    {
        say( "Error occurred while accepting socket: %d.\n", WSAGetLastError() );
        return;
    }
    id = InterlockedIncrement( &connection_count );
    memset( &storage, 0, sizeof(storage) );
    memcpy( &storage, &client_address, sizeof(client_address) );
    addr_string( &storage, peer, sizeof(peer) );
    if ((remote = init_remote_connection( id, s, peer )) == INVALID_SOCKET)
    {
        closesocket( s );
        return;
    }

    pair = calloc( 1, sizeof(*pair) );
    pair->id = id;
    pair->refs = 1;
    pair->dir[0].pair = pair->dir[1].pair = pair;
    pair->dir[0].from = pair->dir[1].to = s;
    pair->dir[1].from = pair->dir[0].to = remote;
    if (!CreateIoCompletionPort( (HANDLE)s, port, 0, 0 ) || !CreateIoCompletionPort( (HANDLE)remote, port, 0, 0 ) ||
        !post_recv( &pair->dir[0] ) || !post_recv( &pair->dir[1] ))
    {
        say( "#%ld Error in Initial Post %d.\n", id, WSAGetLastError() );
        pair_close( pair );
    }
    pair_release( pair );
}

int main( int argc, char **argv )
{
    struct sockaddr_in server_address;
    SYSTEM_INFO info;
    WSAEVENT accept_event;
    SOCKET listener;
    int i, portno = 0;

    corpus_init( "iocp" );
    for (i = 1; i < argc; i++)
    {
        if (!strcmp( argv[i], "--name" )) corpus_name = option_value( argc, argv, &i );
        else if (!portno && (portno = atoi( argv[i] )) > 0) ;
        else
        {
            fprintf( stderr, "usage: iocp_proxy.exe [--name NAME] PORT\n" );
            return 2;
        }
    }
    if (!portno) return 2;

    port = CreateIoCompletionPort( INVALID_HANDLE_VALUE, NULL, 0, 0 );
    GetSystemInfo( &info );
    for (i = 0; i < 2 * (int)info.dwNumberOfProcessors; i++) CloseHandle( CreateThread( NULL, 0, worker_thread, NULL, 0, NULL ) );

    listener = WSASocketW( AF_INET, SOCK_STREAM, 0, NULL, 0, WSA_FLAG_OVERLAPPED );
    memset( &server_address, 0, sizeof(server_address) );
    server_address.sin_family = AF_INET;
    server_address.sin_addr.s_addr = INADDR_ANY;
    server_address.sin_port = htons( portno );
    if (bind( listener, (SOCKADDR *)&server_address, sizeof(server_address) ) || listen( listener, SOMAXCONN ))
    {
        fprintf( stderr, "[%s] cannot listen on port %d: error %d\n", corpus_name, portno, WSAGetLastError() );
        return 1;
    }
    accept_event = WSACreateEvent();
    WSAEventSelect( listener, accept_event, FD_ACCEPT );
    listening();

    /* AcceptThread() */
    for (;;)
    {
        WSANETWORKEVENTS events;

        if (WSAWaitForMultipleEvents( 1, &accept_event, FALSE, 1000, FALSE ) == WSA_WAIT_TIMEOUT) continue;
        WSAEnumNetworkEvents( listener, accept_event, &events );
        if ((events.lNetworkEvents & FD_ACCEPT) && !events.iErrorCode[FD_ACCEPT_BIT]) accept_connection( listener );
    }
    return 1;
}
