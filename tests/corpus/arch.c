/*
 * arch: one proxy, accepting and querying the ways real proxies do
 *
 * Copyright 2026 The wine-wfp authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/*
 * The accept architectures (--accept):
 *   blocking   one thread blocked in accept(), a thread per connection, so
 *              that accept() is already waiting when the next connection
 *              comes (Microsoft's WFPSampler helper loop, Win32 servers of
 *              the thread-per-connection kind);
 *   select     select() on the listener, then accept() (wfpproxy, Envoy's
 *              libevent loop);
 *   wsaaccept  a blocking WSAAccept() with no condition function
 *              (WFPSampler's HlprWinSockAcceptConnection);
 *   defer      WSAAccept() with a condition function that answers
 *              CF_DEFER the first time it sees a connection and CF_ACCEPT
 *              the second, the loop calling WSAAccept() again on
 *              WSATRY_AGAIN (a proxy that looks a caller up before it
 *              takes the connection);
 *   acceptex   a pool of AcceptEx() calls posted in advance on a completion
 *              port, two threads taking the completions, each accepted
 *              socket given SO_UPDATE_ACCEPT_CONTEXT and its AcceptEx
 *              posted again (IIS-style servers, .NET's and libuv's
 *              accept);
 *   threads    several threads blocked in accept() on one listener, each
 *              serving the connection it got (thread-pool servers);
 *   worker     the accepted socket handed to a worker process with
 *              WSADuplicateSocket(); the worker makes the socket with
 *              WSASocket(FROM_PROTOCOL_INFO), queries and relays, and the
 *              parent closes its copy once the worker has its own.
 *
 * The ways to query (--query), for both QUERY_RECORDS (2048 bytes) and
 * QUERY_CONTEXT (256 bytes):
 *   sync       plain WSAIoctl();
 *   event      a WSAOVERLAPPED with an event, WSAGetOverlappedResult(fWait);
 *   apc        a completion routine, then alertable SleepEx() until it ran;
 *   iocp       the socket on a completion port with
 *              FILE_SKIP_COMPLETION_PORT_ON_SUCCESS (as libuv and .NET do),
 *              GetQueuedCompletionStatus() unless it completed at once.
 * Then a new socket, SET, connect to the context's destination, relay.
 *
 * The listener is dual-stack, like wfpproxy's.  Each connection logs one
 * line with every result, for the runner.
 *
 * usage: arch.exe --accept MODE [--query MODE] [--threads N] [--name NAME] PORT
 */

#include "corpus.h"

enum query_mode { QUERY_SYNC, QUERY_EVENT, QUERY_APC, QUERY_IOCP };

static enum query_mode query_mode;
static const char *query_name = "sync";
static const char *accept_name;
static LONG connection_count;
static SOCKET listener;

/* ---- the queries ---------------------------------------------------------- */

struct apc_result
{
    WSAOVERLAPPED overlapped;
    DWORD error, bytes;
    BOOL done;
};

static void CALLBACK apc_routine( DWORD error, DWORD bytes, WSAOVERLAPPED *overlapped, DWORD flags )
{
    struct apc_result *result = CONTAINING_RECORD( overlapped, struct apc_result, overlapped );

    (void)flags;
    result->error = error;
    result->bytes = bytes;
    result->done = TRUE;
}

/* one query the configured way; 0 or the error, the size in *size, and
 * how it completed in how */
static int query( SOCKET s, HANDLE port, DWORD code, void *out, DWORD out_size, DWORD *size, const char **how )
{
    WSAOVERLAPPED overlapped;
    struct apc_result apc;
    DWORD flags = 0;
    int error = 0, tries;

    *size = 0;
    switch (query_mode)
    {
    case QUERY_SYNC:
        *how = "sync";
        if (WSAIoctl( s, code, NULL, 0, out, out_size, size, NULL, NULL )) return WSAGetLastError();
        return 0;

    case QUERY_EVENT:
        memset( &overlapped, 0, sizeof(overlapped) );
        overlapped.hEvent = WSACreateEvent();
        *how = "event, at once";
        if (WSAIoctl( s, code, NULL, 0, out, out_size, size, &overlapped, NULL ))
        {
            if ((error = WSAGetLastError()) != WSA_IO_PENDING)
            {
                WSACloseEvent( overlapped.hEvent );
                *how = "event, failed at once";
                return error;
            }
            *how = "event, pending";
        }
        error = WSAGetOverlappedResult( s, &overlapped, size, TRUE, &flags ) ? 0 : WSAGetLastError();
        WSACloseEvent( overlapped.hEvent );
        return error;

    case QUERY_APC:
        memset( &apc, 0, sizeof(apc) );
        *how = "apc, returned 0";
        if (WSAIoctl( s, code, NULL, 0, out, out_size, size, &apc.overlapped, apc_routine ))
        {
            if ((error = WSAGetLastError()) != WSA_IO_PENDING)
            {
                *how = "apc, failed at once";
                return error;
            }
            *how = "apc, pending";
        }
        /* the routine runs even when the call completed at once */
        for (tries = 0; !apc.done && tries < 100; tries++) SleepEx( 100, TRUE );
        if (!apc.done)
        {
            *how = "apc, the completion routine never ran";
            return -3;
        }
        *size = apc.bytes;
        return apc.error;

    case QUERY_IOCP:
    {
        OVERLAPPED *completed;
        ULONG_PTR key;

        memset( &overlapped, 0, sizeof(overlapped) );
        *how = "iocp, at once";
        if (!WSAIoctl( s, code, NULL, 0, out, out_size, size, &overlapped, NULL )) return 0;
        if ((error = WSAGetLastError()) != WSA_IO_PENDING)
        {
            *how = "iocp, failed at once";
            return error;
        }
        *how = "iocp, completion packet";
        if (!GetQueuedCompletionStatus( port, size, &key, &completed, INFINITE ))
            return completed ? (int)GetLastError() : -1;
        return completed == &overlapped ? 0 : -2;
    }
    }
    return -1;
}

/* ---- one proxied connection ------------------------------------------------ */

static void proxy( SOCKET s, LONG id, const char *via )
{
    BYTE records[2048];
    SOCKADDR_STORAGE context[2];
    DWORD records_size, context_size, size;
    const char *records_how, *context_how;
    char peer[80], text[80];
    ULONGLONG up = 0, back = 0;
    SOCKET upstream = INVALID_SOCKET;
    HANDLE port = NULL;
    int error;

    peer_string( s, peer, sizeof(peer) );
    if (query_mode == QUERY_IOCP)
    {
        port = CreateIoCompletionPort( (HANDLE)s, NULL, 0, 0 );
        SetFileCompletionNotificationModes( (HANDLE)s, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS );
    }
    if ((error = query( s, port, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, records, sizeof(records),
                        &records_size, &records_how )))
    {
        say( "#%ld %s from %s: records = error %d, %lu bytes (%s); closing\n", id, via, peer, error, records_size,
             records_how );
        goto done;
    }
    if ((error = query( s, port, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, context, sizeof(context),
                        &context_size, &context_how )))
    {
        say( "#%ld %s from %s: records = 0, %lu bytes (%s); context = error %d, %lu bytes (%s); closing\n", id, via,
             peer, records_size, records_how, error, context_size, context_how );
        goto done;
    }
    upstream = socket( context[0].ss_family, SOCK_STREAM, IPPROTO_TCP );
    if (WSAIoctl( upstream, SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS, records, records_size, NULL, 0, &size,
                  NULL, NULL ))
    {
        say( "#%ld %s from %s: records = 0, %lu bytes (%s); context = 0, %lu bytes (%s); SET = error %d; closing\n",
             id, via, peer, records_size, records_how, context_size, context_how, WSAGetLastError() );
        goto done;
    }
    say( "#%ld %s from %s: records = 0, %lu bytes (%s); context = 0, %lu bytes (%s); SET = 0; destination %s\n",
         id, via, peer, records_size, records_how, context_size, context_how,
         addr_string( &context[0], text, sizeof(text) ) );
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
    if (port) CloseHandle( port );
}

static DWORD WINAPI proxy_thread( void *arg )
{
    proxy( (SOCKET)(ULONG_PTR)arg, InterlockedIncrement( &connection_count ), accept_name );
    return 0;
}

static void spawn( SOCKET s )
{
    HANDLE thread;

    if ((thread = CreateThread( NULL, 0, proxy_thread, (void *)(ULONG_PTR)s, 0, NULL ))) CloseHandle( thread );
    else closesocket( s );
}

/* ---- the accept architectures ------------------------------------------- */

static void accept_blocking( void )
{
    SOCKET s;

    for (;;)
    {
        if ((s = accept( listener, NULL, NULL )) == INVALID_SOCKET)
        {
            say( "accept failed: error %d\n", WSAGetLastError() );
            Sleep( 100 );
            continue;
        }
        spawn( s );
    }
}

static void accept_select( void )
{
    SOCKET s;

    for (;;)
    {
        fd_set set;

        FD_ZERO( &set );
        FD_SET( listener, &set );
        if (select( 0, &set, NULL, NULL, NULL ) <= 0) return;
        if ((s = accept( listener, NULL, NULL )) != INVALID_SOCKET) spawn( s );
    }
}

static SOCKADDR_STORAGE deferred_peer;

static int CALLBACK defer_condition( WSABUF *caller_id, WSABUF *caller_data, QOS *sqos, QOS *gqos,
                                     WSABUF *callee_id, WSABUF *callee_data, GROUP *g, DWORD_PTR context )
{
    (void)caller_data; (void)sqos; (void)gqos; (void)callee_id; (void)callee_data; (void)g; (void)context;

    if (!caller_id || !caller_id->buf || caller_id->len > sizeof(deferred_peer)) return CF_REJECT;
    if (!memcmp( &deferred_peer, caller_id->buf, caller_id->len )) return CF_ACCEPT;
    memset( &deferred_peer, 0, sizeof(deferred_peer) );
    memcpy( &deferred_peer, caller_id->buf, caller_id->len );
    return CF_DEFER;
}

static void accept_wsaaccept( BOOL defer )
{
    SOCKADDR_STORAGE addr;
    char text[80];
    int deferrals = 0;
    SOCKET s;
    INT len;

    for (;;)
    {
        len = sizeof(addr);
        s = WSAAccept( listener, (SOCKADDR *)&addr, &len, defer ? defer_condition : NULL, 0 );
        if (s == INVALID_SOCKET)
        {
            if (defer && WSAGetLastError() == WSATRY_AGAIN)
            {
                deferrals++;
                continue;
            }
            say( "WSAAccept failed: error %d\n", WSAGetLastError() );
            Sleep( 100 );
            continue;
        }
        if (defer) say( "accepted %s after %d deferral(s)\n", addr_string( &addr, text, sizeof(text) ), deferrals );
        deferrals = 0;
        spawn( s );
    }
}

#define ACCEPTEX_POOL 16
#define ACCEPTEX_ADDRESS (sizeof(SOCKADDR_IN6) + 16)

struct accept_slot
{
    OVERLAPPED overlapped;
    SOCKET socket;
    char addresses[2 * ACCEPTEX_ADDRESS];
};

static LPFN_ACCEPTEX acceptex;
static struct accept_slot slots[ACCEPTEX_POOL];
static HANDLE accept_port;

static void post_acceptex( struct accept_slot *slot )
{
    DWORD bytes;

    memset( &slot->overlapped, 0, sizeof(slot->overlapped) );
    slot->socket = WSASocketW( AF_INET6, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED );
    if (!acceptex( listener, slot->socket, slot->addresses, 0, ACCEPTEX_ADDRESS, ACCEPTEX_ADDRESS, &bytes,
                   &slot->overlapped ) && WSAGetLastError() != ERROR_IO_PENDING)
        say( "AcceptEx failed: error %d\n", WSAGetLastError() );
}

static DWORD WINAPI acceptex_thread( void *arg )
{
    (void)arg;
    for (;;)
    {
        OVERLAPPED *overlapped;
        struct accept_slot *slot;
        ULONG_PTR key;
        DWORD bytes;
        BOOL ok;
        SOCKET s;

        ok = GetQueuedCompletionStatus( accept_port, &bytes, &key, &overlapped, INFINITE );
        if (!overlapped) return 0;
        slot = CONTAINING_RECORD( overlapped, struct accept_slot, overlapped );
        s = slot->socket;
        if (!ok)
        {
            say( "AcceptEx completed with error %lu\n", GetLastError() );
            closesocket( s );
        }
        else
        {
            setsockopt( s, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (char *)&listener, sizeof(listener) );
            spawn( s );
        }
        post_acceptex( slot );
    }
}

static void accept_acceptex( void )
{
    GUID guid = WSAID_ACCEPTEX;
    HANDLE threads[2];
    DWORD bytes;
    int i;

    WSAIoctl( listener, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof(guid), &acceptex, sizeof(acceptex),
              &bytes, NULL, NULL );
    accept_port = CreateIoCompletionPort( (HANDLE)listener, NULL, 0, 0 );
    for (i = 0; i < ACCEPTEX_POOL; i++) post_acceptex( &slots[i] );
    for (i = 0; i < 2; i++) threads[i] = CreateThread( NULL, 0, acceptex_thread, NULL, 0, NULL );
    WaitForMultipleObjects( 2, threads, TRUE, INFINITE );
}

static DWORD WINAPI accept_and_serve_thread( void *arg )
{
    SOCKET s;

    (void)arg;
    for (;;)
    {
        if ((s = accept( listener, NULL, NULL )) == INVALID_SOCKET)
        {
            say( "accept failed: error %d\n", WSAGetLastError() );
            Sleep( 100 );
            continue;
        }
        proxy( s, InterlockedIncrement( &connection_count ), accept_name );
    }
    return 0;
}

static void accept_threads( int count )
{
    HANDLE threads[MAXIMUM_WAIT_OBJECTS];
    int i;

    for (i = 0; i < count; i++) threads[i] = CreateThread( NULL, 0, accept_and_serve_thread, NULL, 0, NULL );
    WaitForMultipleObjects( count, threads, TRUE, INFINITE );
}

/* ---- worker processes ------------------------------------------------------ */

struct handoff
{
    LONG id;
    WSAPROTOCOL_INFOW info;
};

struct worker
{
    HANDLE to, from;                   /* handoffs out, acknowledgements back */
    DWORD pid;
};

#define MAX_PENDING 4096
static SOCKET pending[MAX_PENDING];    /* the parent's copies, by id */

static DWORD WINAPI ack_thread( void *arg )
{
    struct worker *worker = arg;
    DWORD bytes;
    LONG id;

    while (ReadFile( worker->from, &id, sizeof(id), &bytes, NULL ) && bytes == sizeof(id))
    {
        closesocket( pending[id % MAX_PENDING] );
        pending[id % MAX_PENDING] = INVALID_SOCKET;
    }
    return 0;
}

static void start_worker( struct worker *worker, int index, int port )
{
    SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, TRUE };
    HANDLE to_read, from_write;
    PROCESS_INFORMATION pi;
    STARTUPINFOA si;
    char cmdline[MAX_PATH + 128], exe[MAX_PATH];

    CreatePipe( &to_read, &worker->to, &sa, 0 );
    CreatePipe( &worker->from, &from_write, &sa, 0 );
    SetHandleInformation( worker->to, HANDLE_FLAG_INHERIT, 0 );
    SetHandleInformation( worker->from, HANDLE_FLAG_INHERIT, 0 );
    GetModuleFileNameA( NULL, exe, sizeof(exe) );
    snprintf( cmdline, sizeof(cmdline), "\"%s\" --worker %lu %lu --query %s --name %s-w%d %d", exe,
              (unsigned long)(ULONG_PTR)to_read, (unsigned long)(ULONG_PTR)from_write, query_name, corpus_name, index, port );
    memset( &si, 0, sizeof(si) );
    si.cb = sizeof(si);
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = GetStdHandle( STD_INPUT_HANDLE );
    si.hStdOutput = GetStdHandle( STD_OUTPUT_HANDLE );
    si.hStdError = GetStdHandle( STD_ERROR_HANDLE );
    if (!CreateProcessA( exe, cmdline, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi ))
    {
        say( "cannot start a worker: error %lu\n", GetLastError() );
        exit( 1 );
    }
    CloseHandle( to_read );
    CloseHandle( from_write );
    CloseHandle( pi.hThread );
    CloseHandle( pi.hProcess );
    worker->pid = pi.dwProcessId;
    CloseHandle( CreateThread( NULL, 0, ack_thread, worker, 0, NULL ) );
}

static void accept_worker( int port )
{
    struct worker workers[2];
    struct handoff handoff;
    DWORD bytes;
    LONG id = 0;
    SOCKET s;
    int i;

    for (i = 0; i < MAX_PENDING; i++) pending[i] = INVALID_SOCKET;
    for (i = 0; i < 2; i++) start_worker( &workers[i], i, port );
    for (;;)
    {
        struct worker *worker = &workers[id % 2];

        if ((s = accept( listener, NULL, NULL )) == INVALID_SOCKET)
        {
            say( "accept failed: error %d\n", WSAGetLastError() );
            Sleep( 100 );
            continue;
        }
        handoff.id = ++id;
        if (WSADuplicateSocketW( s, worker->pid, &handoff.info ))
        {
            say( "#%ld WSADuplicateSocket failed: error %d\n", handoff.id, WSAGetLastError() );
            closesocket( s );
            continue;
        }
        if (pending[id % MAX_PENDING] != INVALID_SOCKET) closesocket( pending[id % MAX_PENDING] );
        pending[id % MAX_PENDING] = s;
        WriteFile( worker->to, &handoff, sizeof(handoff), &bytes, NULL );
    }
}

struct worker_job
{
    LONG id;
    SOCKET socket;
};

static DWORD WINAPI worker_job_thread( void *arg )
{
    struct worker_job *job = arg;

    proxy( job->socket, job->id, "worker" );
    free( job );
    return 0;
}

static int worker_main( HANDLE from_parent, HANDLE to_parent )
{
    struct handoff handoff;
    DWORD bytes;

    while (ReadFile( from_parent, &handoff, sizeof(handoff), &bytes, NULL ) && bytes == sizeof(handoff))
    {
        struct worker_job *job = malloc( sizeof(*job) );
        HANDLE thread;

        job->id = handoff.id;
        job->socket = WSASocketW( FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &handoff.info, 0,
                                  WSA_FLAG_OVERLAPPED );
        WriteFile( to_parent, &handoff.id, sizeof(handoff.id), &bytes, NULL );
        if (job->socket == INVALID_SOCKET)
        {
            say( "#%ld WSASocket(FROM_PROTOCOL_INFO) failed: error %d\n", handoff.id, WSAGetLastError() );
            free( job );
            continue;
        }
        if ((thread = CreateThread( NULL, 0, worker_job_thread, job, 0, NULL ))) CloseHandle( thread );
        else
        {
            closesocket( job->socket );
            free( job );
        }
    }
    return 0;
}

/* ---- main -------------------------------------------------------------------- */

int main( int argc, char **argv )
{
    HANDLE worker_from = NULL, worker_to = NULL;
    int i, port = 0, threads = 8;

    corpus_init( "arch" );
    for (i = 1; i < argc; i++)
    {
        if (!strcmp( argv[i], "--accept" )) accept_name = option_value( argc, argv, &i );
        else if (!strcmp( argv[i], "--query" )) query_name = option_value( argc, argv, &i );
        else if (!strcmp( argv[i], "--threads" )) threads = atoi( option_value( argc, argv, &i ) );
        else if (!strcmp( argv[i], "--name" )) corpus_name = option_value( argc, argv, &i );
        else if (!strcmp( argv[i], "--worker" ) && i + 2 < argc)
        {
            accept_name = "worker";
            worker_from = (HANDLE)(ULONG_PTR)_strtoui64( argv[++i], NULL, 10 );
            worker_to = (HANDLE)(ULONG_PTR)_strtoui64( argv[++i], NULL, 10 );
        }
        else if (!port && (port = atoi( argv[i] )) > 0) ;
        else
        {
            fprintf( stderr, "usage: arch.exe --accept MODE [--query MODE] [--threads N] [--name NAME] PORT\n" );
            return 2;
        }
    }
    if (!strcmp( query_name, "sync" )) query_mode = QUERY_SYNC;
    else if (!strcmp( query_name, "event" )) query_mode = QUERY_EVENT;
    else if (!strcmp( query_name, "apc" )) query_mode = QUERY_APC;
    else if (!strcmp( query_name, "iocp" )) query_mode = QUERY_IOCP;
    else return 2;
    if (worker_from) return worker_main( worker_from, worker_to );
    if (!accept_name || !port || threads < 1 || threads > MAXIMUM_WAIT_OBJECTS) return 2;

    listener = listen_on( AF_INET6, port, TRUE, WSA_FLAG_OVERLAPPED );
    listening();
    if (!strcmp( accept_name, "blocking" )) accept_blocking();
    else if (!strcmp( accept_name, "select" )) accept_select();
    else if (!strcmp( accept_name, "wsaaccept" )) accept_wsaaccept( FALSE );
    else if (!strcmp( accept_name, "defer" )) accept_wsaaccept( TRUE );
    else if (!strcmp( accept_name, "acceptex" )) accept_acceptex();
    else if (!strcmp( accept_name, "threads" )) accept_threads( threads );
    else if (!strcmp( accept_name, "worker" )) accept_worker( port );
    else return 2;
    return 1;
}
