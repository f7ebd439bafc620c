/*
 * wsfuzz: the WFP redirect calls with random and hostile arguments, from
 * several threads, through the documented Winsock API
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
 * Drives the four WFP ioctls, IP(V6)_WFP_REDIRECT_* and SO_ORIGINAL_DST,
 * accept, connect, closesocket and handle duplication with invalid and
 * random pointers and sizes, every socket type, family and state, closed
 * and non-socket handles, and records blobs that are genuine, mutated,
 * truncated, oversized and replayed.  Every call must succeed or fail with
 * an error that the README documents for it; anything else, and any crash,
 * is a failure.  It prints how many calls it made and how often each
 * error came back.
 *
 * Genuine records come from a redirected connection: the harness adds an
 * in-Wine rule sending REDIRECT_ADDRESS:PORT to 127.0.0.1:PROXY_PORT.
 * Those connections are accepted the ways proxies accept them: a blocking
 * accept() already waiting when the connection arrives, WSAAccept with a
 * condition that defers now and then, AcceptEx on a completion port, and
 * select() then accept(), with the records queried at once half the time.
 * Sockets are also handed to a worker process (WSADuplicateSocket), which
 * queries them and sets their records on sockets of its own, and which is
 * killed and started again now and then.
 *
 * WSASendMsg gets control data that is random, mutated, misaligned, cut
 * off by a PAGE_NOACCESS page, over the cap, or a records message (genuine
 * or random bytes, once or twice), and unreadable WSAMSGs and names; a
 * datagram must arrive exactly when it succeeds.  WSARecvMsg reads the
 * first datagram of flows with records, options on, into control buffers
 * that are empty, too small, misaligned or end at a PAGE_NOACCESS page,
 * synchronously and overlapped.
 *
 * A third of the ioctls go through the base provider's WSPIoctl instead
 * (mswsock.dll, found through the catalog as a layered provider finds
 * it), with bad lpThreadId and lpErrno pointers now and then.
 *
 * usage: wsfuzz.exe SECONDS THREADS SEED REDIRECT_ADDRESS:PORT PROXY_PORT
 *        wsfuzz.exe worker SEED    (started by wsfuzz itself)
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../e2e/wfp_sdk.h"
#include <mswsock.h>
#include <ws2spi.h>

#define POOL_SIZE 48

static SOCKET pool[POOL_SIZE];
static CRITICAL_SECTION pool_section;
static SOCKET listener4, listener6, proxy_listener;
static struct sockaddr_in redirect_target, listener4_addr;
static struct sockaddr_in6 listener6_addr;
static HANDLE event_handle, file_handle;
static void *noaccess_page, *reserved_page;
static char genuine[2048];
static DWORD genuine_size;
static DWORD deadline;

static LONG total_calls, unexpected, accept_shapes[4], handed_over, workers_killed;

/* what each fuzzing thread is doing, for the report of one stuck in a call */
static const char *volatile thread_doing[64];
static unsigned int thread_seed[64];
static LONG error_counts[64];
static int error_codes[64];
static LONG error_kinds;
static CRITICAL_SECTION count_section;

static unsigned int next_random( unsigned int *state )
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

static void count_error( int error )
{
    LONG i;

    EnterCriticalSection( &count_section );
    for (i = 0; i < error_kinds; i++) if (error_codes[i] == error) break;
    if (i == error_kinds && error_kinds < 64) error_codes[error_kinds++] = error;
    if (i < 64) error_counts[i]++;
    LeaveCriticalSection( &count_section );
}

/* a call's outcome: success, or one of the errors documented for it */
static void check( const char *what, int ret, int error, const int *allowed )
{
    InterlockedIncrement( &total_calls );
    if (!ret)
    {
        count_error( 0 );
        return;
    }
    count_error( error );
    for (; *allowed; allowed++) if (*allowed == error) return;
    InterlockedIncrement( &unexpected );
    printf( "wsfuzz: %s: unexpected error %d (%#x)\n", what, error, error );
}

static const int ioctl_errors[] =
{
    WSAEFAULT, WSAEINVAL, WSAENOTSOCK, WSAENOTCONN, WSAENOPROTOOPT, WSAEISCONN, WSAEACCES, WSAENOBUFS,
    FWP_E_NOT_FOUND, 0
};
static const int option_errors[] =
{
    WSAEFAULT, WSAEINVAL, WSAENOTSOCK, WSAENOTCONN, WSAENOPROTOOPT, WSAENOBUFS, FWP_E_NOT_FOUND, 0
};
/* Wine's setsockopt does not look the handle up first: a file answers the
 * option's ioctl as it answers any it does not know */
static const int set_option_errors[] =
{
    WSAEFAULT, WSAEINVAL, WSAENOTSOCK, WSAENOTCONN, WSAENOPROTOOPT, WSAENOBUFS, WSAEOPNOTSUPP, 0
};

static const char *error_name( int error )
{
    switch (error)
    {
    case 0: return "success";
    case WSAEFAULT: return "WSAEFAULT";
    case WSAEINVAL: return "WSAEINVAL";
    case WSAENOTSOCK: return "WSAENOTSOCK";
    case WSAENOTCONN: return "WSAENOTCONN";
    case WSAENOPROTOOPT: return "WSAENOPROTOOPT";
    case WSAEISCONN: return "WSAEISCONN";
    case WSAEACCES: return "WSAEACCES";
    case WSAENOBUFS: return "WSAENOBUFS";
    case WSAEOPNOTSUPP: return "WSAEOPNOTSUPP";
    case WSAEMSGSIZE: return "WSAEMSGSIZE";
    case WSAEWOULDBLOCK: return "WSAEWOULDBLOCK";
    case FWP_E_NOT_FOUND: return "FWP_E_NOT_FOUND";
    default: return "(undocumented)";
    }
}

static void *bad_pointer( unsigned int *rng )
{
    switch (next_random( rng ) % 6)
    {
    case 0: return (void *)1;
    case 1: return (void *)(ULONG_PTR)0xdeadbeef;
    case 2: return noaccess_page;
    case 3: return reserved_page;
    case 4: return (void *)(ULONG_PTR)0xffff800000000000ull;
    default: return (char *)noaccess_page - 3;   /* runs into the page */
    }
}

static DWORD odd_size( unsigned int *rng )
{
    static const DWORD sizes[] = { 0, 1, 3, 4, 7, 8, 16, 28, 96, 255, 256, 1176, 2048, 65536, 65537,
                                   0x7fffffff, 0xffffffff };
    return sizes[next_random( rng ) % (sizeof(sizes) / sizeof(sizes[0]))];
}

static SOCKET pick_socket( unsigned int *rng )
{
    switch (next_random( rng ) % 12)
    {
    case 0: return INVALID_SOCKET;
    case 1: return (SOCKET)event_handle;
    case 2: return (SOCKET)file_handle;
    case 3: return (SOCKET)(ULONG_PTR)(next_random( rng ) & 0xfffc);
    default:
    {
        SOCKET s;
        EnterCriticalSection( &pool_section );
        s = pool[next_random( rng ) % POOL_SIZE];
        LeaveCriticalSection( &pool_section );
        return s;
    }
    }
}

/* The accepted side of a connection just made to a listener.  Another
 * thread may take it first, or the connect may have failed (ephemeral
 * ports run out under churn): never block on accept(). */
static SOCKET accept_within( SOCKET listener, DWORD ms )
{
    struct timeval timeout = { ms / 1000, (ms % 1000) * 1000 };
    fd_set set;

    FD_ZERO( &set );
    FD_SET( listener, &set );
    if (select( 0, &set, NULL, NULL, &timeout ) != 1) return INVALID_SOCKET;
    return accept( listener, NULL, NULL );
}

/*
 * The accepting thread: what it accepts on proxy_listener waits here for
 * make_socket().
 */
#define ACCEPTED_MAX 8

static SOCKET accepted[ACCEPTED_MAX];
static unsigned int accepted_count;
static CRITICAL_SECTION accepted_section;
static HANDLE accepted_semaphore, accept_port;
static volatile LONG accepting = 1;

static void put_accepted( SOCKET s )
{
    EnterCriticalSection( &accepted_section );
    if (accepted_count < ACCEPTED_MAX)
    {
        accepted[accepted_count++] = s;
        s = INVALID_SOCKET;
        ReleaseSemaphore( accepted_semaphore, 1, NULL );
    }
    LeaveCriticalSection( &accepted_section );
    closesocket( s );
}

static SOCKET take_accepted( DWORD ms )
{
    SOCKET s = INVALID_SOCKET;

    if (WaitForSingleObject( accepted_semaphore, ms )) return INVALID_SOCKET;
    EnterCriticalSection( &accepted_section );
    if (accepted_count) s = accepted[--accepted_count];
    LeaveCriticalSection( &accepted_section );
    return s;
}

static int CALLBACK defer_every_other( WSABUF *caller, WSABUF *caller_data, QOS *qos, QOS *group_qos,
                                       WSABUF *callee, WSABUF *callee_data, GROUP *group, DWORD_PTR context )
{
    LONG *calls = (LONG *)context;

    (void)caller; (void)caller_data; (void)qos; (void)group_qos; (void)callee; (void)callee_data; (void)group;
    return (*calls)++ % 2 ? CF_ACCEPT : CF_DEFER;
}

static SOCKET accept_ex( void )
{
    static LPFN_ACCEPTEX pAcceptEx;
    char buffer[2 * (sizeof(SOCKADDR_STORAGE) + 16)];
    GUID guid = WSAID_ACCEPTEX;
    OVERLAPPED ovl, *done;
    ULONG_PTR key;
    DWORD size;
    SOCKET s;

    if (!pAcceptEx && WSAIoctl( proxy_listener, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof(guid),
                                &pAcceptEx, sizeof(pAcceptEx), &size, NULL, NULL ))
        return INVALID_SOCKET;
    s = WSASocketW( AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED );
    memset( &ovl, 0, sizeof(ovl) );
    if (!pAcceptEx( proxy_listener, s, buffer, 0, sizeof(SOCKADDR_STORAGE) + 16, sizeof(SOCKADDR_STORAGE) + 16,
                    &size, &ovl ) && WSAGetLastError() != ERROR_IO_PENDING)
    {
        closesocket( s );
        return INVALID_SOCKET;
    }
    if (!GetQueuedCompletionStatus( accept_port, &size, &key, &done, 3000 ))
    {
        CancelIoEx( (HANDLE)proxy_listener, &ovl );
        GetQueuedCompletionStatus( accept_port, &size, &key, &done, 1000 );
        closesocket( s );
        return INVALID_SOCKET;
    }
    setsockopt( s, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (char *)&proxy_listener, sizeof(proxy_listener) );
    return s;
}

static DWORD WINAPI accept_thread( void *arg )
{
    unsigned int rng = (unsigned int)(ULONG_PTR)arg | 1;
    char records[2048];
    LONG calls = 0;
    DWORD size;
    SOCKET s;

    while (accepting)
    {
        unsigned int shape = next_random( &rng ) % 4;

        switch (shape)
        {
        case 0:     /* blocking, before the connection arrives */
            s = accept( proxy_listener, NULL, NULL );
            break;
        case 1:     /* with a condition that defers every other time */
            while ((s = WSAAccept( proxy_listener, NULL, NULL, defer_every_other, (DWORD_PTR)&calls ))
                   == INVALID_SOCKET && WSAGetLastError() == WSATRY_AGAIN && accepting);
            break;
        case 2:
            s = accept_ex();
            break;
        default:
            s = accept_within( proxy_listener, 500 );
            break;
        }
        if (s == INVALID_SOCKET) continue;
        InterlockedIncrement( &accept_shapes[shape] );
        /* proxies ask at once; that also makes the next accepts carry the answers */
        if (next_random( &rng ) % 2)
        {
            int ret = WSAIoctl( s, next_random( &rng ) % 2 ? SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS
                                                            : SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT,
                                NULL, 0, records, sizeof(records), &size, NULL, NULL );
            check( "WSAIoctl after accept", ret, WSAGetLastError(), ioctl_errors );
        }
        put_accepted( s );
    }
    return 0;
}

/*
 * The worker process: sockets handed over with WSADuplicateSocket.
 */
static HANDLE worker_process, worker_pipe;
static DWORD worker_pid;
static CRITICAL_SECTION worker_section;
static char self_path[MAX_PATH];
static int worker_seed;

static void start_worker(void)
{
    SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, TRUE };
    PROCESS_INFORMATION info;
    STARTUPINFOA startup;
    HANDLE read_end;
    char command[MAX_PATH + 64];

    if (!CreatePipe( &read_end, &worker_pipe, &sa, 0 )) return;
    SetHandleInformation( worker_pipe, HANDLE_FLAG_INHERIT, 0 );
    memset( &startup, 0, sizeof(startup) );
    startup.cb = sizeof(startup);
    startup.dwFlags = STARTF_USESTDHANDLES;
    startup.hStdInput = read_end;
    startup.hStdOutput = GetStdHandle( STD_OUTPUT_HANDLE );
    startup.hStdError = GetStdHandle( STD_ERROR_HANDLE );
    snprintf( command, sizeof(command), "\"%s\" worker %d", self_path, worker_seed++ );
    if (CreateProcessA( NULL, command, NULL, NULL, TRUE, 0, NULL, NULL, &startup, &info ))
    {
        worker_process = info.hProcess;
        worker_pid = info.dwProcessId;
        CloseHandle( info.hThread );
    }
    else
    {
        CloseHandle( worker_pipe );
        worker_pipe = NULL;
    }
    CloseHandle( read_end );
}

/* the exit status of a worker that was not killed: its unexpected results */
static void stop_worker( BOOL kill )
{
    DWORD status = 0;

    if (!worker_process) return;
    CloseHandle( worker_pipe );
    if (kill) TerminateProcess( worker_process, 0 );
    if (WaitForSingleObject( worker_process, 30000 ))
    {
        printf( "wsfuzz: the worker process did not exit\n" );
        InterlockedIncrement( &unexpected );
        TerminateProcess( worker_process, 0 );
    }
    else if (!kill && GetExitCodeProcess( worker_process, &status ) && status)
    {
        printf( "wsfuzz: the worker process had %lu unexpected results\n", status );
        InterlockedAdd( &unexpected, status );
    }
    CloseHandle( worker_process );
    worker_process = worker_pipe = NULL;
}

static void hand_over( unsigned int *rng, const char *volatile *doing )
{
    WSAPROTOCOL_INFOW info;
    SOCKET s;
    DWORD written;

    *doing = "handing a socket over: waiting for the worker's lock";
    EnterCriticalSection( &worker_section );
    if (next_random( rng ) % 64 == 0)
    {
        /* killed with sockets in hand */
        *doing = "handing a socket over: killing the worker";
        stop_worker( TRUE );
        InterlockedIncrement( &workers_killed );
        *doing = "handing a socket over: starting a worker";
        start_worker();
    }
    *doing = "handing a socket over: WSADuplicateSocket";
    s = next_random( rng ) % 2 ? take_accepted( 0 ) : pick_socket( rng );
    if (worker_process && s != INVALID_SOCKET && !WSADuplicateSocketW( s, worker_pid, &info ))
    {
        *doing = "handing a socket over: writing to the worker's pipe";
        if (WriteFile( worker_pipe, &info, sizeof(info), &written, NULL )) InterlockedIncrement( &handed_over );
    }
    LeaveCriticalSection( &worker_section );
}

/* the worker's watchdog: a worker stuck in a call says in which */
static const char *volatile worker_doing;
static volatile LONG worker_steps;

static DWORD WINAPI worker_watchdog( void *arg )
{
    LONG last = -1;
    int stuck = 0;

    (void)arg;
    for (;;)
    {
        Sleep( 5000 );
        if (worker_steps != last || !worker_doing) { last = worker_steps; stuck = 0; continue; }
        if (++stuck == 4) printf( "wsfuzz: a worker has been in %s for 20 seconds\n", worker_doing );
    }
    return 0;
}

static int worker_main( int seed )
{
    char records[2048], context[512];
    unsigned int rng = seed * 2654435761u | 1;
    WSAPROTOCOL_INFOW info;
    DWORD size, records_size, got;
    SOCKADDR_STORAGE dst;
    WSADATA data;
    unsigned int sockets = 0, sets = 0;
    SOCKET s, out;
    int ret, len;

    InitializeCriticalSection( &count_section );
    WSAStartup( MAKEWORD(2, 2), &data );
    noaccess_page = VirtualAlloc( NULL, 4096, MEM_RESERVE | MEM_COMMIT, PAGE_NOACCESS );
    CloseHandle( CreateThread( NULL, 0, worker_watchdog, NULL, 0, NULL ) );
    for (;;)
    {
        worker_doing = NULL;
        if (!ReadFile( GetStdHandle( STD_INPUT_HANDLE ), &info, sizeof(info), &got, NULL ) || got != sizeof(info))
            break;
        InterlockedIncrement( &worker_steps );
        worker_doing = "WSASocket(FROM_PROTOCOL_INFO)";
        if ((s = WSASocketW( FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, 0 ))
            == INVALID_SOCKET)
            continue;
        worker_doing = "the queries";
        ret = WSAIoctl( s, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, records, sizeof(records),
                        &records_size, NULL, NULL );
        check( "worker QUERY_RECORDS", ret, WSAGetLastError(), ioctl_errors );
        ret = WSAIoctl( s, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, NULL, 0, context,
                        next_random( &rng ) % 2 ? sizeof(context) : 128, &size, NULL, NULL );
        check( "worker QUERY_CONTEXT", ret, WSAGetLastError(), ioctl_errors );
        len = sizeof(dst);
        ret = getsockopt( s, SOL_IP, SO_ORIGINAL_DST, (char *)&dst, &len );
        check( "worker SO_ORIGINAL_DST", ret, WSAGetLastError(), option_errors );
        if (!records_size || records_size > sizeof(records)) records_size = 0;
        /* a proxy's worker sets them on its outbound socket */
        worker_doing = "SET";
        out = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP );
        ret = WSAIoctl( out, SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS,
                        next_random( &rng ) % 8 ? (void *)records : noaccess_page, records_size ? records_size : 1,
                        NULL, 0, &size, NULL, NULL );
        check( "worker SET", ret, WSAGetLastError(), ioctl_errors );
        if (!ret) sets++;
        worker_doing = "closesocket";
        closesocket( out );
        if (next_random( &rng ) % 4) closesocket( s );   /* else left for the exit to close */
        sockets++;
    }
    printf( "wsfuzz worker: %u sockets handed over, %u SETs of their records accepted, %ld unexpected "
            "results\n", sockets, sets, unexpected );
    return unexpected;
}

/* a socket of some type, family and state */
static SOCKET make_socket( unsigned int *rng )
{
    static const int families[] = { AF_INET, AF_INET6 };
    int family = families[next_random( rng ) % 2];
    SOCKET s, peer;

    switch (next_random( rng ) % 8)
    {
    case 0: return socket( family, SOCK_DGRAM, IPPROTO_UDP );
    case 1: return socket( family, SOCK_RAW, IPPROTO_RAW );
    case 2:     /* a listening socket */
    {
        struct sockaddr_in6 any;
        s = socket( AF_INET6, SOCK_STREAM, IPPROTO_TCP );
        memset( &any, 0, sizeof(any) );
        any.sin6_family = AF_INET6;
        bind( s, (SOCKADDR *)&any, sizeof(any) );
        listen( s, 1 );
        return s;
    }
    case 3:     /* the client side of a plain connection */
    case 4:     /* the accepted side */
        s = socket( family, SOCK_STREAM, IPPROTO_TCP );
        if (family == AF_INET) connect( s, (SOCKADDR *)&listener4_addr, sizeof(listener4_addr) );
        else connect( s, (SOCKADDR *)&listener6_addr, sizeof(listener6_addr) );
        peer = accept_within( family == AF_INET ? listener4 : listener6, 2000 );
        if (peer == INVALID_SOCKET || next_random( rng ) % 2) { closesocket( peer ); return s; }
        closesocket( s );
        return peer;
    case 5:     /* a redirected connection, accepted: it has records */
        s = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP );
        connect( s, (SOCKADDR *)&redirect_target, sizeof(redirect_target) );
        peer = take_accepted( 2000 );
        if (peer == INVALID_SOCKET) return s;
        closesocket( s );
        return peer;
    default:
        return socket( family, SOCK_STREAM, IPPROTO_TCP );
    }
}

static void replace_socket( unsigned int *rng )
{
    unsigned int i = next_random( rng ) % POOL_SIZE;
    SOCKET s = make_socket( rng ), old;
    WSAPROTOCOL_INFOW info;

    /* now and then a duplicated handle of another socket */
    if (next_random( rng ) % 4 == 0)
    {
        EnterCriticalSection( &pool_section );
        old = pool[next_random( rng ) % POOL_SIZE];
        LeaveCriticalSection( &pool_section );
        if (!WSADuplicateSocketW( old, GetCurrentProcessId(), &info ))
        {
            closesocket( s );
            s = WSASocketW( FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, 0 );
        }
    }
    EnterCriticalSection( &pool_section );
    old = pool[i];
    pool[i] = s;
    LeaveCriticalSection( &pool_section );
    /* another thread may still use the old one: that is a closed handle too */
    closesocket( old );
}

static void WINAPI completion( DWORD error, DWORD size, OVERLAPPED *overlapped, DWORD flags )
{
    (void)error; (void)size; (void)overlapped; (void)flags;
}

/* the base provider's table, as a layered provider gets it */
static WSPPROC_TABLE wsp;

static int WSPAPI fuzz_queue_apc( LPWSATHREADID thread, LPWSAUSERAPC apc, DWORD_PTR context, LPINT err )
{
    if (QueueUserAPC( (PAPCFUNC)apc, thread->ThreadHandle, context )) return 0;
    *err = WSAEFAULT;
    return SOCKET_ERROR;
}

static SOCKET WSPAPI fuzz_modify_ifs_handle( DWORD catalog_id, SOCKET s, LPINT err )
{
    (void)catalog_id; (void)err;
    return s;
}

static void load_base_provider(void)
{
    WSPUPCALLTABLE upcalls = { .lpWPUQueueApc = fuzz_queue_apc, .lpWPUModifyIFSHandle = fuzz_modify_ifs_handle };
    WCHAR path[MAX_PATH], expanded[MAX_PATH];
    WSAPROTOCOL_INFOW *entries;
    LPWSPSTARTUP startup;
    DWORD size = 0;
    int count, len = MAX_PATH, err;
    WSPDATA data;
    HMODULE module;

    WSCEnumProtocols( NULL, NULL, &size, &err );
    if (!(entries = malloc( size ))) return;
    if ((count = WSCEnumProtocols( NULL, entries, &size, &err )) > 0 &&
        !WSCGetProviderPath( &entries[0].ProviderId, path, &len, &err ) &&
        ExpandEnvironmentStringsW( path, expanded, MAX_PATH ) && (module = LoadLibraryW( expanded )) &&
        (startup = (LPWSPSTARTUP)(void *)GetProcAddress( module, "WSPStartup" )) &&
        !startup( MAKEWORD(2, 2), &data, &entries[0], upcalls, &wsp ))
        printf( "wsfuzz: a third of the ioctls go through %ls's WSPIoctl\n", expanded );
    else
        printf( "wsfuzz: no base provider through the catalog; every ioctl goes through WSAIoctl\n" );
    free( entries );
}

static void fuzz_ioctl( unsigned int *rng )
{
    static const DWORD codes[] =
    {
        SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT,
        SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS, SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE,
    };
    char in[70000], out[4096];
    DWORD code = codes[next_random( rng ) % 4], in_size = 0, out_size = 0, returned, *ret_size = &returned;
    void *in_buff = NULL, *out_buff = NULL;
    OVERLAPPED ovl, *povl = NULL;
    LPWSAOVERLAPPED_COMPLETION_ROUTINE routine = NULL;
    unsigned int choice, i;
    int ret;

    /* the input: a blob, genuine or spoiled, or anything */
    choice = next_random( rng ) % 8;
    if (choice < 5 && genuine_size)
    {
        memcpy( in, genuine, genuine_size );
        in_size = genuine_size;
        if (choice == 1) in[next_random( rng ) % genuine_size] ^= 1 + next_random( rng ) % 255;     /* mutated */
        if (choice == 2) in_size = next_random( rng ) % genuine_size;                                 /* truncated */
        if (choice == 3)                                                                             /* oversized */
        {
            in_size = genuine_size + next_random( rng ) % (sizeof(in) - genuine_size);
            for (i = genuine_size; i < in_size; i++) in[i] = next_random( rng );
        }
        in_buff = in;
    }
    else if (choice == 5) { in_buff = bad_pointer( rng ); in_size = 1 + next_random( rng ) % 64; }
    else if (choice == 6) { in_buff = in; in_size = odd_size( rng ); if (in_size > sizeof(in)) in_buff = NULL; }
    else { in_buff = in; in_size = next_random( rng ) % 128; for (i = 0; i < in_size; i++) in[i] = next_random( rng ); }

    /* the output */
    switch (next_random( rng ) % 5)
    {
    case 0: out_buff = NULL; out_size = odd_size( rng ); if (out_size > 64) out_size = 0; break;
    case 1: out_buff = bad_pointer( rng ); out_size = 1 + next_random( rng ) % 4096; break;
    default: out_buff = out; out_size = odd_size( rng ); if (out_size > sizeof(out)) out_size = sizeof(out); break;
    }

    switch (next_random( rng ) % 8)
    {
    case 0: ret_size = bad_pointer( rng ); break;
    case 1: memset( &ovl, 0, sizeof(ovl) ); ovl.hEvent = CreateEventW( NULL, TRUE, FALSE, NULL ); povl = &ovl; break;
    case 2: memset( &ovl, 0, sizeof(ovl) ); povl = &ovl; routine = completion; break;
    case 3: povl = bad_pointer( rng ); break;
    case 4: routine = (LPWSAOVERLAPPED_COMPLETION_ROUTINE)bad_pointer( rng ); memset( &ovl, 0, sizeof(ovl) ); povl = &ovl; break;
    }

    if (wsp.lpWSPIoctl && !(next_random( rng ) % 3))
    {
        WSATHREADID thread, *pthread = &thread;
        int err = 0, *perr = &err;

        /* the thread that a completion routine runs in, as ws2_32 opens it */
        DuplicateHandle( GetCurrentProcess(), GetCurrentThread(), GetCurrentProcess(), &thread.ThreadHandle, 0, FALSE,
                         DUPLICATE_SAME_ACCESS );
        thread.Reserved = 0;
        if (routine != completion) routine = NULL;   /* a bad routine crashes where it runs */
        if (!(next_random( rng ) % 8)) pthread = bad_pointer( rng );
        if (!(next_random( rng ) % 16)) perr = bad_pointer( rng );
        ret = wsp.lpWSPIoctl( pick_socket( rng ), code, in_buff, in_size, out_buff, out_size, ret_size, povl,
                              routine, pthread, perr );
        if (perr == &err) check( "WSPIoctl", ret, err, ioctl_errors );
        else if (ret && ret != SOCKET_ERROR) check( "WSPIoctl with a bad lpErrno", ret, ret, ioctl_errors );
        if (routine == completion) SleepEx( 0, TRUE );
        CloseHandle( thread.ThreadHandle );
    }
    else
    {
        ret = WSAIoctl( pick_socket( rng ), code, in_buff, in_size, out_buff, out_size, ret_size, povl, routine );
        check( "WSAIoctl", ret, WSAGetLastError(), ioctl_errors );
        if (routine == completion) SleepEx( 0, TRUE );
    }
    if (povl == &ovl && ovl.hEvent) CloseHandle( ovl.hEvent );
}

static void fuzz_option( unsigned int *rng )
{
    static const int levels[] = { IPPROTO_IP, IPPROTO_IPV6, SOL_IP, SOL_IPV6 };
    static const int names[] = { IP_WFP_REDIRECT_RECORDS, IP_WFP_REDIRECT_CONTEXT, SO_ORIGINAL_DST, 0x3010 };
    int level = levels[next_random( rng ) % 4], name = names[next_random( rng ) % 4], len, ret, set;
    char value[256];
    void *optval = value;
    int *optlen = &len;

    if (level == IPPROTO_IP || level == IPPROTO_IPV6) name = names[next_random( rng ) % 2];
    set = level != SOL_IP && level != SOL_IPV6 && next_random( rng ) % 2;
    len = (int)odd_size( rng );
    if (len > (int)sizeof(value) || len < 0) len = next_random( rng ) % 2 ? (int)sizeof(value) : -1;
    /* The options are case labels of getsockopt and setsockopt, which check
     * optval and optlen for NULL, for a value passed instead of a pointer
     * (setsockopt) and their lengths, as for every option; whether a
     * pointer is mapped they do not check, for any option: no wild
     * pointers here (WSAIoctl gets them, below). */
    switch (next_random( rng ) % 6)
    {
    case 0: optval = set ? (void *)1 : NULL; break;
    case 1: optval = NULL; break;
    case 2: if (!set) optlen = NULL; break;
    }
    memset( value, next_random( rng ) % 2, sizeof(value) );

    if (!set)
    {
        ret = getsockopt( pick_socket( rng ), level, name, optval, optlen );
        check( "getsockopt", ret, WSAGetLastError(), option_errors );
    }
    else
    {
        ret = setsockopt( pick_socket( rng ), level, name, optval, len );
        check( "setsockopt", ret, WSAGetLastError(), set_option_errors );
    }
}

/*
 * WSASendMsg and WSARecvMsg with hostile control data (README, "UDP").
 *
 * Each fuzzing thread has UDP sockets of its own on ::1 and 127.0.0.1, so
 * that what arrives is known: WSASendMsg sends a datagram that names the
 * thread and the call to a receiver that nothing else sends to, and the
 * datagram must be there when the call succeeded and must not be when it
 * failed.  WSARecvMsg reads the first datagram of a new flow, sent with
 * records, on a socket with the options on, into control buffers that are
 * empty, too small, misaligned or end at a PAGE_NOACCESS page.
 */
#ifndef IPV6_WFP_REDIRECT_RECORDS
#define IPV6_WFP_REDIRECT_RECORDS 60
#endif
#ifndef IPV6_WFP_REDIRECT_CONTEXT
#define IPV6_WFP_REDIRECT_CONTEXT 70
#endif

#define CMSG_HEADER       sizeof(WSACMSGHDR)
#define CMSG_ALIGN8(len)  (((len) + 7) & ~(SIZE_T)7)
/* the most control data WSASendMsg reads: 64 KiB of records and 1 KiB more */
#define SEND_CONTROL_MAX  (65536 + 1024)
/* each thread's read-write bytes for control data, then a PAGE_NOACCESS page */
#define CONTROL_REGION    0x20000
#define PAYLOAD_SIZE      16
#define MSG_WAIT_MS       5000

static LPFN_WSASENDMSG pWSASendMsg;
static LPFN_WSARECVMSG pWSARecvMsg;
/* WSARecvMsg into unwritable control buffers: off by default, see main() */

static LONG sendmsg_results[5][2], recvmsg_calls, recvmsg_with_records, recvmsg_truncated, msg_setup_failures;

/* what the README documents for control data given to WSASendMsg */
enum verdict
{
    VERDICT_PLAIN,      /* no records message: the send as before */
    VERDICT_RECORDS,    /* one records message: the wineserver decides */
    VERDICT_INVALID,    /* WSAEINVAL, nothing sent */
    VERDICT_FAULT,      /* WSAEFAULT, nothing sent */
    VERDICT_ANY,        /* a freed region: whatever it holds now */
};

static const char *const verdict_names[] = { "plain", "records", "invalid", "unreadable", "any" };

struct msg_thread
{
    BOOL ready, family_ready[2];
    SOCKET receiver[2];                     /* non-blocking, options off: what WSASendMsg sent */
    SOCKADDR_STORAGE receiver_addr[2];
    int receiver_len[2];
    SOCKET sender[2], connected[2];         /* connected: to receiver */
    SOCKET control_receiver[2];             /* options on, for WSARecvMsg */
    SOCKADDR_STORAGE control_addr[2];
    int control_len[2];
    BYTE *region;                           /* CONTROL_REGION bytes, then a PAGE_NOACCESS page */
    BYTE *msg_page;                         /* one page, then a PAGE_NOACCESS page */
    void *freed;                            /* released: it may come back as anything */
    BYTE scratch[SEND_CONTROL_MAX + 4096];
    unsigned int seq;
    /* WSARecvMsg's, which must outlive an overlapped call that never completes */
    WSAMSG msg;
    WSABUF buf;
    char data[64];
    SOCKADDR_STORAGE from;
    OVERLAPPED ovl;
    LONG apc_done;
    DWORD apc_error, apc_size;
};

static struct msg_thread *msg_threads[64];

static SOCKET udp_socket( int family, SOCKADDR_STORAGE *addr, int *len )
{
    SOCKET s = WSASocketW( family, SOCK_DGRAM, IPPROTO_UDP, NULL, 0, WSA_FLAG_OVERLAPPED );

    memset( addr, 0, sizeof(*addr) );
    if (family == AF_INET)
    {
        ((struct sockaddr_in *)addr)->sin_family = AF_INET;
        ((struct sockaddr_in *)addr)->sin_addr.s_addr = htonl( INADDR_LOOPBACK );
        *len = sizeof(struct sockaddr_in);
    }
    else
    {
        ((struct sockaddr_in6 *)addr)->sin6_family = AF_INET6;
        ((struct sockaddr_in6 *)addr)->sin6_addr.s6_addr[15] = 1;
        *len = sizeof(struct sockaddr_in6);
    }
    if (s == INVALID_SOCKET) return s;
    if (bind( s, (SOCKADDR *)addr, *len ) || getsockname( s, (SOCKADDR *)addr, len ))
    {
        closesocket( s );
        return INVALID_SOCKET;
    }
    return s;
}

static BOOL setup_family( struct msg_thread *t, int f )
{
    int family = f ? AF_INET6 : AF_INET;
    SOCKADDR_STORAGE addr;
    u_long one = 1;
    int len;

    t->receiver[f] = udp_socket( family, &t->receiver_addr[f], &t->receiver_len[f] );
    t->sender[f] = udp_socket( family, &addr, &len );
    t->connected[f] = udp_socket( family, &addr, &len );
    t->control_receiver[f] = udp_socket( family, &t->control_addr[f], &t->control_len[f] );
    if (t->receiver[f] == INVALID_SOCKET || t->sender[f] == INVALID_SOCKET || t->connected[f] == INVALID_SOCKET ||
        t->control_receiver[f] == INVALID_SOCKET || ioctlsocket( t->receiver[f], FIONBIO, &one ) ||
        connect( t->connected[f], (SOCKADDR *)&t->receiver_addr[f], t->receiver_len[f] ))
    {
        printf( "wsfuzz: no UDP sockets on the %s loopback address (error %d): WSASendMsg and WSARecvMsg "
                "skipped there\n", f ? "IPv6" : "IPv4", WSAGetLastError() );
        InterlockedIncrement( &msg_setup_failures );
        return FALSE;
    }
    return TRUE;
}

static struct msg_thread *msg_thread( unsigned int index )
{
    struct msg_thread *t = msg_threads[index];
    DWORD old;

    if (t) return t->ready ? t : NULL;
    t = msg_threads[index] = calloc( 1, sizeof(*t) );
    if (!t) return NULL;
    t->region = VirtualAlloc( NULL, CONTROL_REGION + 3 * 4096, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE );
    t->freed = VirtualAlloc( NULL, 65536, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE );
    if (!t->region || !t->freed ||
        !VirtualProtect( t->region + CONTROL_REGION, 4096, PAGE_NOACCESS, &old ) ||
        !VirtualProtect( t->region + CONTROL_REGION + 2 * 4096, 4096, PAGE_NOACCESS, &old ))
        return NULL;
    VirtualFree( t->freed, 0, MEM_RELEASE );
    t->msg_page = t->region + CONTROL_REGION + 4096;
    t->family_ready[0] = setup_family( t, 0 );
    t->family_ready[1] = setup_family( t, 1 );
    t->ready = t->family_ready[0] || t->family_ready[1];
    return t->ready ? t : NULL;
}

/* WSASendMsg's walk as the README describes it: 8-byte aligned, each
 * message at least its header and inside the buffer, fewer bytes than a
 * header at the end are padding, records neither empty nor given twice */
static enum verdict control_verdict( const BYTE *control, SIZE_T len )
{
    WSACMSGHDR header;
    SIZE_T offset = 0;
    int records = 0;

    while (len - offset >= CMSG_HEADER)
    {
        memcpy( &header, control + offset, sizeof(header) );
        if (header.cmsg_len < CMSG_HEADER || header.cmsg_len > len - offset) return VERDICT_INVALID;
        if ((header.cmsg_level == IPPROTO_IP || header.cmsg_level == IPPROTO_IPV6) &&
            header.cmsg_type == IP_WFP_REDIRECT_RECORDS)
        {
            if (records++ || header.cmsg_len == CMSG_HEADER) return VERDICT_INVALID;
        }
        if (CMSG_ALIGN8( header.cmsg_len ) >= len - offset) break;
        offset += CMSG_ALIGN8( header.cmsg_len );
    }
    return records ? VERDICT_RECORDS : VERDICT_PLAIN;
}

static void random_bytes( unsigned int *rng, BYTE *p, SIZE_T len )
{
    unsigned int word;

    for (; len >= 4; p += 4, len -= 4)
    {
        word = next_random( rng );
        memcpy( p, &word, 4 );
    }
    for (; len; p++, len--) *p = next_random( rng );
}

/* one control message at out + at, its length field as given; the new end */
static SIZE_T put_cmsg( BYTE *out, SIZE_T at, SIZE_T max, SIZE_T cmsg_len, int level, int type,
                        const BYTE *data, SIZE_T size )
{
    WSACMSGHDR header;
    SIZE_T space = CMSG_HEADER + CMSG_ALIGN8( size );

    if (at + space > max) return at;
    header.cmsg_len = cmsg_len;
    header.cmsg_level = level;
    header.cmsg_type = type;
    memcpy( out + at, &header, sizeof(header) );
    memcpy( out + at + CMSG_HEADER, data, size );
    memset( out + at + CMSG_HEADER + size, 0, space - CMSG_HEADER - size );
    return at + space;
}

/* control data for WSASendMsg in out: random bytes, or messages with
 * random and mutated headers, records genuine or random, once or twice */
static SIZE_T build_control( unsigned int *rng, BYTE *out, SIZE_T max )
{
    static const SIZE_T near_cap[] = { 65536, SEND_CONTROL_MAX - 8, SEND_CONTROL_MAX - 1, SEND_CONTROL_MAX,
                                       SEND_CONTROL_MAX + 1, SEND_CONTROL_MAX + 8, 70000 };
    BYTE data[2048];
    SIZE_T at = 0, size, cmsg_len, total;
    unsigned int count, i, choice = next_random( rng ) % 16;
    int level, type;

    if (choice == 0) return 0;
    if (choice == 1)
    {
        total = next_random( rng ) % 2 ? next_random( rng ) % 256 : next_random( rng ) % 70001;
        random_bytes( rng, out, total );
        return total;
    }
    if (choice == 2)
    {
        /* around the cap: a records message, then one message filling it up */
        total = near_cap[next_random( rng ) % ARRAYSIZE(near_cap)];
        if (next_random( rng ) % 2 && genuine_size)
            at = put_cmsg( out, 0, max, CMSG_HEADER + genuine_size, IPPROTO_IP, IP_WFP_REDIRECT_RECORDS,
                           (const BYTE *)genuine, genuine_size );
        cmsg_len = total - at;
        memset( out + at, 0, total - at );
        memcpy( out + at, &cmsg_len, sizeof(cmsg_len) );
        ((WSACMSGHDR *)(out + at))->cmsg_level = SOL_SOCKET;
        ((WSACMSGHDR *)(out + at))->cmsg_type = 0x7777;
        return total;
    }

    count = next_random( rng ) % 4 ? 1 : 2 + next_random( rng ) % 3;
    for (i = 0; i < count; i++)
    {
        level = next_random( rng ) % 2 ? IPPROTO_IP : IPPROTO_IPV6;
        type = IP_WFP_REDIRECT_RECORDS;
        size = 0;
        switch (next_random( rng ) % 10)
        {
        case 0: case 1: case 2:     /* records, genuine */
            if (genuine_size)
            {
                size = genuine_size;
                memcpy( data, genuine, size );
                break;
            }
            /* fall through */
        case 3:                     /* records, random bytes */
            size = 1 + next_random( rng ) % (next_random( rng ) % 8 ? 200 : sizeof(data));
            random_bytes( rng, data, size );
            break;
        case 4:                     /* records, empty */
            break;
        case 5:                     /* IP_PKTINFO or IPV6_PKTINFO, which Wine ignores on send */
            type = level == IPPROTO_IP ? IP_PKTINFO : IPV6_PKTINFO;
            size = level == IPPROTO_IP ? sizeof(IN_PKTINFO) : sizeof(IN6_PKTINFO);
            memset( data, 0, size );
            break;
        case 6:                     /* IP_TOS, IP_TTL, or the context's type */
            type = next_random( rng ) % 2 ? (next_random( rng ) % 2 ? IP_TOS : IP_TTL) : IP_WFP_REDIRECT_CONTEXT;
            size = sizeof(INT);
            memset( data, 0, size );
            break;
        default:                    /* anything */
            level = next_random( rng ) % 4 ? (int)(next_random( rng ) % 64) : (int)next_random( rng );
            type = next_random( rng ) % 4 ? (int)(next_random( rng ) % 128) : (int)next_random( rng );
            size = next_random( rng ) % 64;
            random_bytes( rng, data, size );
            break;
        }
        cmsg_len = CMSG_HEADER + size;
        if (next_random( rng ) % 6 == 0)
        {
            switch (next_random( rng ) % 8)
            {
            case 0: cmsg_len = 0; break;
            case 1: cmsg_len = CMSG_HEADER - 1; break;
            case 2: cmsg_len = CMSG_HEADER; break;
            case 3: cmsg_len++; break;
            case 4: cmsg_len--; break;
            case 5: cmsg_len = (SIZE_T)-1; break;
            case 6: cmsg_len = next_random( rng ); break;
            default: cmsg_len += 8 + next_random( rng ) % 4096; break;
            }
        }
        at = put_cmsg( out, at, max, cmsg_len, level, type, data, size );
    }
    /* bytes after the messages: padding, or a header of sorts */
    switch (next_random( rng ) % 12)
    {
    case 0: size = 1 + next_random( rng ) % (CMSG_HEADER - 1); break;
    case 1: size = CMSG_HEADER + next_random( rng ) % 32; break;
    default: size = 0; break;
    }
    random_bytes( rng, out + at, size );
    at += size;
    /* a length that cuts the last message or runs on */
    if (next_random( rng ) % 10 == 0 && at) at -= 1 + next_random( rng ) % (at < 24 ? at : 24);
    return at;
}

static const int sendmsg_errors[] =
{
    WSAEFAULT, WSAEINVAL, WSAEACCES, WSAENOBUFS, WSAENOTCONN, 0
};
static const int recvmsg_errors[] =
{
    WSAEFAULT, WSAEINVAL, WSAEMSGSIZE, WSAEWOULDBLOCK, 0
};

/* the thread and the call in a datagram */
static void make_payload( BYTE *payload, unsigned int thread, unsigned int seq )
{
    memcpy( payload, "wsfuzz:", 7 );
    payload[7] = thread;
    memcpy( payload + 8, &seq, 4 );
    memcpy( payload + 12, "msg.", 4 );
}

/* how many of the datagrams waiting on a non-blocking receiver are this call's */
static unsigned int drain( SOCKET s, const BYTE *payload )
{
    unsigned int count = 0, i;
    char data[64];
    int ret;

    for (i = 0; i < 64; i++)
    {
        if ((ret = recv( s, data, sizeof(data), 0 )) == SOCKET_ERROR) break;
        if (ret == PAYLOAD_SIZE && !memcmp( data, payload, PAYLOAD_SIZE )) count++;
    }
    return count;
}

static BOOL readable_within( SOCKET s, DWORD ms )
{
    struct timeval timeout = { ms / 1000, (ms % 1000) * 1000 };
    fd_set set;

    FD_ZERO( &set );
    FD_SET( s, &set );
    return select( 0, &set, NULL, NULL, &timeout ) == 1;
}

static void msg_failure( const char *what, unsigned int thread, unsigned int seq, const char *detail )
{
    InterlockedIncrement( &unexpected );
    printf( "wsfuzz: %s (thread %u, call %u): %s\n", what, thread, seq, detail );
}

static void fuzz_sendmsg( unsigned int *rng, unsigned int index, struct msg_thread *t )
{
    static const ULONG bad_sizes[] = { 0, 1, 8, 16, 24, 64, 200, 4096, SEND_CONTROL_MAX, SEND_CONTROL_MAX + 1,
                                       0x7fffffff, 0xffffffff };
    static const int namelens[] = { 0, 1, 15, 16, 23, 24, 27, 28, 128, -1, 0x7fffffff };
    int f = next_random( rng ) % 2;
    BYTE payload[PAYLOAD_SIZE], *control = NULL, *end = t->region + CONTROL_REGION;
    WSABUF buf = { PAYLOAD_SIZE, (char *)payload };
    enum verdict verdict;
    SIZE_T len = 0, readable;
    WSAMSG msg, *pmsg = &msg;
    OVERLAPPED ovl, *povl = NULL;
    BOOL good_name = TRUE, freed = FALSE, msg_fault = FALSE;
    unsigned int seq = ++t->seq, arrived, choice, misalign;
    DWORD sent, flags;
    SOCKET s;
    int ret, error;
    char detail[160];

    if (!t->family_ready[f]) f = !f;
    make_payload( payload, index, seq );
    s = next_random( rng ) % 4 ? t->sender[f] : t->connected[f];

    /* the control data, and where it lies */
    choice = next_random( rng ) % 16;
    misalign = next_random( rng ) % 8 ? 0 : 1 + next_random( rng ) % 7;
    if (choice == 0)
    {
        /* a pointer that cannot be read, or a region since freed */
        len = bad_sizes[next_random( rng ) % ARRAYSIZE(bad_sizes)];
        switch (next_random( rng ) % 4)
        {
        case 0: control = NULL; break;
        case 1: control = t->freed; freed = TRUE; break;
        default: control = bad_pointer( rng ); break;
        }
        if (!len) verdict = VERDICT_PLAIN;
        else if (len > SEND_CONTROL_MAX || (ULONG_PTR)control % 8) verdict = VERDICT_INVALID;
        else verdict = freed ? VERDICT_ANY : VERDICT_FAULT;
    }
    else
    {
        len = build_control( rng, t->scratch, sizeof(t->scratch) );
        verdict = len ? control_verdict( t->scratch, len ) : VERDICT_PLAIN;
        readable = len;
        switch (next_random( rng ) % 4)
        {
        case 0:     /* ends at the PAGE_NOACCESS page, or runs into it */
            control = (BYTE *)((ULONG_PTR)(end - len) & ~(ULONG_PTR)7);
            if (len && next_random( rng ) % 4 == 0)
            {
                control = (BYTE *)((ULONG_PTR)(end - len + 1 + next_random( rng ) % (len < 4096 ? len : 4096))
                                   & ~(ULONG_PTR)7);
                if (control + len <= end) control += 8;
                readable = end - control;
                misalign = 0;
            }
            else if (misalign) control -= 8 - misalign;
            break;
        default:
            control = t->region + misalign;
            break;
        }
        memcpy( control, t->scratch, readable );
        if (!len) verdict = VERDICT_PLAIN;
        else if (len > SEND_CONTROL_MAX || misalign) verdict = VERDICT_INVALID;
        else if (readable < len) verdict = VERDICT_FAULT;
        if (!len && next_random( rng ) % 2) control = NULL;
    }

    memset( &msg, 0, sizeof(msg) );
    msg.name = (SOCKADDR *)&t->receiver_addr[f];
    msg.namelen = t->receiver_len[f];
    msg.lpBuffers = &buf;
    msg.dwBufferCount = 1;
    msg.Control.buf = (char *)control;
    msg.Control.len = len;

    /* the name: short, missing, or a bad pointer (stock Wine faulted on
     * one after queueing the send and left the socket stuck; wfp-core's
     * 0014 checks it first, and later sends of the socket must still go) */
    switch (next_random( rng ) % 12)
    {
    case 0:
        msg.namelen = namelens[next_random( rng ) % ARRAYSIZE(namelens)];
        good_name = FALSE;
        break;
    case 1:
        msg.name = NULL;
        msg.namelen = next_random( rng ) % 2 ? 0 : t->receiver_len[f];
        good_name = FALSE;
        break;
    case 2:
        good_name = FALSE;
        if (next_random( rng ) % 2)
            msg.name = bad_pointer( rng );
        else
        {
            /* runs into a PAGE_NOACCESS page */
            msg.name = (SOCKADDR *)(t->msg_page + 4096 - 1 - next_random( rng ) % (t->receiver_len[f] - 1));
            memcpy( msg.name, &t->receiver_addr[f], t->msg_page + 4096 - (BYTE *)msg.name );
        }
        break;
    }

    /* the WSAMSG itself: unreadable, or running into a PAGE_NOACCESS page */
    switch (next_random( rng ) % 24)
    {
    case 0:
    {
        static void *const bad_msgs[] = { NULL, (void *)1, (void *)(ULONG_PTR)0xffff800000000000ull };
        unsigned int which = next_random( rng ) % 5;
        pmsg = which < 3 ? bad_msgs[which] : which == 3 ? noaccess_page : reserved_page;
        msg_fault = TRUE;
        break;
    }
    case 1:
        if ((BYTE *)msg.name >= t->msg_page && (BYTE *)msg.name < t->msg_page + 4096) break;
        {
            /* a WSAMSG cut off anywhere is not wholly in valid memory */
            unsigned int kept = 1 + next_random( rng ) % (sizeof(msg) - 1);
            pmsg = (WSAMSG *)(t->msg_page + 4096 - kept);
            memcpy( pmsg, &msg, kept );
            msg_fault = TRUE;
        }
        break;
    }
    if (msg_fault) verdict = VERDICT_FAULT;

    if (next_random( rng ) % 8 == 0)
    {
        memset( &ovl, 0, sizeof(ovl) );
        ovl.hEvent = CreateEventW( NULL, TRUE, FALSE, NULL );
        povl = &ovl;
    }
    WSASetLastError( 0xdeadbeef );
    ret = pWSASendMsg( s, pmsg, 0, &sent, povl, NULL );
    error = ret ? WSAGetLastError() : 0;
    if (povl && error == WSA_IO_PENDING)
    {
        if (WaitForSingleObject( ovl.hEvent, MSG_WAIT_MS ))
        {
            msg_failure( "WSASendMsg", index, seq, "an overlapped send did not complete" );
            CancelIoEx( (HANDLE)s, &ovl );
            WaitForSingleObject( ovl.hEvent, MSG_WAIT_MS );
        }
        ret = !WSAGetOverlappedResult( s, &ovl, &sent, FALSE, &flags );
        error = ret ? WSAGetLastError() : 0;
    }
    if (povl) CloseHandle( ovl.hEvent );
    check( "WSASendMsg", ret, error, sendmsg_errors );

    /* loopback delivers before sendmsg() returns; a little grace all the same */
    arrived = drain( t->receiver[f], payload );
    if (!error && !arrived && readable_within( t->receiver[f], MSG_WAIT_MS )) arrived = drain( t->receiver[f], payload );
    snprintf( detail, sizeof(detail), "%s, %s control data (%lu bytes at %p), name %p (%d bytes), msg %p",
              error ? "failed" : "succeeded", verdict_names[verdict], (unsigned long)len, control, msg.name,
              msg.namelen, pmsg );
    if (error && arrived) msg_failure( "WSASendMsg sent a datagram and failed", index, seq, detail );
    if (!error && arrived != 1) msg_failure( "WSASendMsg succeeded without its datagram arriving", index, seq, detail );
    if (!error && (verdict == VERDICT_INVALID || verdict == VERDICT_FAULT))
        msg_failure( "WSASendMsg took control data that the README says it refuses", index, seq, detail );
    if ((error == WSAEINVAL || error == WSAEFAULT) && verdict == VERDICT_PLAIN && good_name)
        msg_failure( "WSASendMsg refused control data that it should leave to the send", index, seq, detail );
    InterlockedIncrement( &sendmsg_results[verdict][!!error] );
}

/* WSASendMsg of payload with records (genuine, random or none); the records
 * that went with it, NULL if none */
static const BYTE *send_for_recv( unsigned int *rng, SOCKET s, struct msg_thread *t, int f, const BYTE *payload,
                                  BYTE *records, ULONG *records_size )
{
    ULONG_PTR control[(2048 + 64) / sizeof(ULONG_PTR)];
    WSABUF buf = { PAYLOAD_SIZE, (char *)payload };
    WSACMSGHDR *cmsg = (WSACMSGHDR *)control;
    WSAMSG msg;
    DWORD sent;
    int ret;

    *records_size = 0;
    switch (next_random( rng ) % 8)
    {
    case 0: break;
    case 1: *records_size = 1 + next_random( rng ) % 256; random_bytes( rng, records, *records_size ); break;
    default:
        if (!genuine_size) break;
        *records_size = genuine_size;
        memcpy( records, genuine, genuine_size );
        break;
    }
    memset( &msg, 0, sizeof(msg) );
    msg.name = (SOCKADDR *)&t->control_addr[f];
    msg.namelen = t->control_len[f];
    msg.lpBuffers = &buf;
    msg.dwBufferCount = 1;
    if (*records_size)
    {
        cmsg->cmsg_len = WSA_CMSG_LEN( *records_size );
        cmsg->cmsg_level = f ? IPPROTO_IPV6 : IPPROTO_IP;
        cmsg->cmsg_type = f ? IPV6_WFP_REDIRECT_RECORDS : IP_WFP_REDIRECT_RECORDS;
        memcpy( WSA_CMSG_DATA( cmsg ), records, *records_size );
        msg.Control.buf = (char *)control;
        msg.Control.len = WSA_CMSG_SPACE( *records_size );
        ret = pWSASendMsg( s, &msg, 0, &sent, NULL, NULL );
        check( "WSASendMsg with records", ret, ret ? WSAGetLastError() : 0, sendmsg_errors );
        if (!ret) return records;
        /* refused (random bytes): the datagram without them */
        *records_size = 0;
        msg.Control.buf = NULL;
        msg.Control.len = 0;
    }
    ret = pWSASendMsg( s, &msg, 0, &sent, NULL, NULL );
    check( "WSASendMsg", ret, ret ? WSAGetLastError() : 0, sendmsg_errors );
    return NULL;
}

static void WINAPI recvmsg_completion( DWORD error, DWORD size, OVERLAPPED *ovl, DWORD flags )
{
    struct msg_thread *t = CONTAINING_RECORD( ovl, struct msg_thread, ovl );

    (void)flags;
    t->apc_error = error;
    t->apc_size = size;
    t->apc_done = 1;
}

/* The control data that WSARecvMsg returned: inside the buffer, and the
 * records the sender gave, if there is a records message. */
static void check_control( const char *what, unsigned int index, unsigned int seq, struct msg_thread *t,
                           ULONG given, const BYTE *records, ULONG records_size )
{
    const BYTE *control = (const BYTE *)t->msg.Control.buf;
    ULONG len = t->msg.Control.len, offset = 0;
    WSACMSGHDR header;
    char detail[128];

    if (len > given)
    {
        snprintf( detail, sizeof(detail), "%lu bytes of control data in a buffer of %lu", len, given );
        msg_failure( what, index, seq, detail );
        return;
    }
    while (len - offset >= CMSG_HEADER)
    {
        memcpy( &header, control + offset, sizeof(header) );
        if (header.cmsg_len < CMSG_HEADER || header.cmsg_len > len - offset)
        {
            snprintf( detail, sizeof(detail), "a control message of %lu bytes at %lu of %lu",
                      (unsigned long)header.cmsg_len, offset, len );
            msg_failure( what, index, seq, detail );
            return;
        }
        if (header.cmsg_type == IP_WFP_REDIRECT_RECORDS &&
            (header.cmsg_level == IPPROTO_IP || header.cmsg_level == IPPROTO_IPV6))
        {
            InterlockedIncrement( &recvmsg_with_records );
            if (!records || header.cmsg_len - CMSG_HEADER != records_size ||
                memcmp( control + offset + CMSG_HEADER, records, records_size ))
                msg_failure( what, index, seq, "records that are not those the sender gave" );
        }
        offset += CMSG_ALIGN8( header.cmsg_len );
        if (offset >= len) break;
    }
}

static void fuzz_recvmsg( unsigned int *rng, unsigned int index, struct msg_thread *t )
{
    static const ULONG tail_sizes[] = { 0, 8, 16, 24, 64, 120, 128, 136, 256, 4096 };
    int f = next_random( rng ) % 2, level, ret, error;
    BYTE payload[PAYLOAD_SIZE], records[2048], *end = t->region + CONTROL_REGION;
    const BYTE *sent_records = NULL;
    ULONG records_size = 0, given;
    unsigned int seq = ++t->seq, mode, choice;
    static const char *const mode_names[] =
        { "synchronous", "overlapped", "overlapped, posted first", "completion routine", "non-blocking" };
    BOOL unwritable = FALSE;
    DWORD value, got = 0, flags;
    SOCKADDR_STORAGE addr;
    char detail[256], what[128];
    SOCKET s, r;
    int len;

    if (!t->family_ready[f]) f = !f;
    level = f ? IPPROTO_IPV6 : IPPROTO_IP;
    r = t->control_receiver[f];
    make_payload( payload, index, seq );
    /* what a call that failed at once left there */
    {
        u_long one = 1, zero = 0;

        ioctlsocket( r, FIONBIO, &one );
        drain( r, payload );
        ioctlsocket( r, FIONBIO, &zero );
    }
    /* the records, the context, or both (random handles of the other
     * calls may turn them off now and then) */
    value = next_random( rng ) % 4 != 0;
    setsockopt( r, level, f ? IPV6_WFP_REDIRECT_RECORDS : IP_WFP_REDIRECT_RECORDS, (char *)&value, sizeof(value) );
    value = !value || next_random( rng ) % 2;
    setsockopt( r, level, f ? IPV6_WFP_REDIRECT_CONTEXT : IP_WFP_REDIRECT_CONTEXT, (char *)&value, sizeof(value) );

    /* the control buffer */
    memset( &t->msg, 0, sizeof(t->msg) );
    choice = next_random( rng ) % 12;
    switch (choice)
    {
    case 0: t->msg.Control.buf = NULL; t->msg.Control.len = 0; break;
    case 1: t->msg.Control.buf = (char *)t->region; t->msg.Control.len = 0; break;
    case 2: t->msg.Control.buf = (char *)t->region; t->msg.Control.len = 1; break;
    case 3: t->msg.Control.buf = (char *)t->region; t->msg.Control.len = CMSG_HEADER - 1; break;
    case 4: t->msg.Control.buf = (char *)t->region; t->msg.Control.len = CMSG_HEADER + next_random( rng ) % 160; break;
    case 5: t->msg.Control.buf = (char *)t->region; t->msg.Control.len = 4096; break;
    case 6: t->msg.Control.buf = (char *)t->region + 1 + next_random( rng ) % 7; t->msg.Control.len = 2048; break;
    case 7: case 8:
        /* exactly its size, ending at a PAGE_NOACCESS page: a byte
         * written past Control.len faults */
        t->msg.Control.len = tail_sizes[next_random( rng ) % ARRAYSIZE(tail_sizes)];
        t->msg.Control.buf = (char *)end - t->msg.Control.len;
        break;
    /* Unwritable: WSAEFAULT, and the datagram stays for the next call
     * (stock Wine 8.0 wrote the control data from ntdll's Unix side
     * unchecked, and lost it) */
    case 9:
    {
        /* not bad_pointer()'s 0xdeadbeef, which might be mapped */
        static void *const bad[] = { (void *)1, (void *)(ULONG_PTR)0xffff800000000000ull };
        unsigned int which = next_random( rng ) % 5;

        t->msg.Control.buf = which < 2 ? bad[which] : which == 2 ? reserved_page : which == 3 ? noaccess_page
                                                                                             : (char *)noaccess_page - 3;
        t->msg.Control.len = 1 + next_random( rng ) % 4096;
        unwritable = TRUE;
        break;
    }
    case 10:
    {
        ULONG tail = tail_sizes[next_random( rng ) % ARRAYSIZE(tail_sizes)];

        /* longer than what is left before the PAGE_NOACCESS page */
        t->msg.Control.len = next_random( rng ) % 2 ? 0x7fffffff : 4096;
        t->msg.Control.buf = (char *)end - tail;
        unwritable = t->msg.Control.len > tail;
        break;
    }
    default:
        t->msg.Control.buf = NULL;
        t->msg.Control.len = 2048;
        unwritable = TRUE;
        break;
    }
    given = t->msg.Control.len;
    if (!unwritable && given) memset( t->msg.Control.buf, 0xcc, given );
    t->buf.buf = t->data;
    t->buf.len = sizeof(t->data);
    memset( t->data, 0, sizeof(t->data) );
    t->msg.name = (SOCKADDR *)&t->from;
    t->msg.namelen = sizeof(t->from);
    t->msg.lpBuffers = &t->buf;
    t->msg.dwBufferCount = 1;

    /* a new flow: a sender of its own */
    if ((s = udp_socket( f ? AF_INET6 : AF_INET, &addr, &len )) == INVALID_SOCKET) return;
    mode = next_random( rng ) % 5;
    snprintf( what, sizeof(what), "WSARecvMsg (%s, control buffer %p of %lu bytes)", mode_names[mode],
              t->msg.Control.buf, given );
    memset( &t->ovl, 0, sizeof(t->ovl) );
    if (mode == 4)
    {
        /* non-blocking, nothing there yet */
        u_long one = 1, zero = 0;

        ioctlsocket( r, FIONBIO, &one );
        ret = pWSARecvMsg( r, &t->msg, &got, NULL, NULL );
        error = ret ? WSAGetLastError() : 0;
        ioctlsocket( r, FIONBIO, &zero );
        InterlockedIncrement( &recvmsg_calls );
        check( "WSARecvMsg, non-blocking", ret, error, recvmsg_errors );
        /* buffers are checked before the receive, as the data buffers are */
        if (error != (unwritable && given ? WSAEFAULT : WSAEWOULDBLOCK))
            msg_failure( what, index, seq, unwritable && given ? "no WSAEFAULT for an unwritable control buffer"
                                                               : "no WSAEWOULDBLOCK without a datagram" );
        mode = 0;
        t->msg.Control.len = given;
        t->msg.namelen = sizeof(t->from);
    }

    if (mode == 3)
    {
        /* posted before the datagram comes, with a completion routine */
        t->apc_done = 0;
        ret = pWSARecvMsg( r, &t->msg, NULL, &t->ovl, recvmsg_completion );
        error = ret ? WSAGetLastError() : 0;
        sent_records = send_for_recv( rng, s, t, f, payload, records, &records_size );
        if (error && error != WSA_IO_PENDING) check( "WSARecvMsg, completion routine", ret, error, recvmsg_errors );
        else
        {
            DWORD start = GetTickCount();
            while (!t->apc_done && GetTickCount() - start < MSG_WAIT_MS) SleepEx( 100, TRUE );
            if (!t->apc_done)
            {
                msg_failure( what, index, seq, "the completion routine did not run" );
                goto replace;
            }
            error = t->apc_error;
            got = t->apc_size;
            check( "WSARecvMsg, completion routine", !!error, error, recvmsg_errors );
        }
    }
    else if (mode == 2)
    {
        /* posted before the datagram comes, with an event */
        t->ovl.hEvent = CreateEventW( NULL, TRUE, FALSE, NULL );
        ret = pWSARecvMsg( r, &t->msg, NULL, &t->ovl, NULL );
        error = ret ? WSAGetLastError() : 0;
        sent_records = send_for_recv( rng, s, t, f, payload, records, &records_size );
        if (error && error != WSA_IO_PENDING) check( "WSARecvMsg, overlapped", ret, error, recvmsg_errors );
        else
        {
            if (WaitForSingleObject( t->ovl.hEvent, MSG_WAIT_MS ))
            {
                msg_failure( what, index, seq, "an overlapped call did not complete" );
                goto replace;
            }
            ret = !WSAGetOverlappedResult( r, &t->ovl, &got, FALSE, &flags );
            error = ret ? WSAGetLastError() : 0;
            check( "WSARecvMsg, overlapped", ret, error, recvmsg_errors );
        }
        CloseHandle( t->ovl.hEvent );
    }
    else
    {
        /* the datagram is there: synchronous, or overlapped (mode 1) */
        sent_records = send_for_recv( rng, s, t, f, payload, records, &records_size );
        if (!readable_within( r, MSG_WAIT_MS ))
        {
            msg_failure( what, index, seq, "the socket does not report the datagram waiting on it" );
            goto replace;
        }
        if (mode == 1)
        {
            t->ovl.hEvent = CreateEventW( NULL, TRUE, FALSE, NULL );
            ret = pWSARecvMsg( r, &t->msg, NULL, &t->ovl, NULL );
            error = ret ? WSAGetLastError() : 0;
            if (!error || error == WSA_IO_PENDING)
            {
                if (WaitForSingleObject( t->ovl.hEvent, MSG_WAIT_MS ))
                {
                    msg_failure( what, index, seq, "an overlapped call did not complete" );
                    goto replace;
                }
                ret = !WSAGetOverlappedResult( r, &t->ovl, &got, FALSE, &flags );
                error = ret ? WSAGetLastError() : 0;
            }
            CloseHandle( t->ovl.hEvent );
            check( "WSARecvMsg, overlapped", ret, error, recvmsg_errors );
        }
        else
        {
            ret = pWSARecvMsg( r, &t->msg, &got, NULL, NULL );
            error = ret ? WSAGetLastError() : 0;
            check( "WSARecvMsg", ret, error, recvmsg_errors );
        }
    }
    InterlockedIncrement( &recvmsg_calls );

    snprintf( detail, sizeof(detail), "error %d, %lu bytes, flags %#lx, %lu bytes of control data, %lu bytes of "
              "records sent", error, got, t->msg.dwFlags, t->msg.Control.len, records_size );
    if (!error || error == WSAEMSGSIZE)
    {
        /* the datagram, truncated control data or not */
        if (memcmp( t->data, payload, PAYLOAD_SIZE ) || (!error && got != PAYLOAD_SIZE))
            msg_failure( what, index, seq, strcat( detail, ": the datagram was not delivered" ) );
        else if (error && !(t->msg.dwFlags & MSG_CTRUNC))
            msg_failure( what, index, seq, strcat( detail, ": WSAEMSGSIZE without MSG_CTRUNC" ) );
        if (error) InterlockedIncrement( &recvmsg_truncated );
        else check_control( what, index, seq, t, given, sent_records, records_size );
    }
    else if (error == WSAEFAULT && !unwritable)
        msg_failure( what, index, seq, strcat( detail, ": WSAEFAULT with a writable control buffer" ) );
    closesocket( s );
    return;

replace:
    /* a socket that lost a datagram or a call: a new one, so the next calls
     * test something (closing it ends what is pending on it) */
    closesocket( s );
    closesocket( r );
    if (t->ovl.hEvent)
    {
        WaitForSingleObject( t->ovl.hEvent, MSG_WAIT_MS );
        CloseHandle( t->ovl.hEvent );
    }
    SleepEx( 0, TRUE );
    t->control_receiver[f] = udp_socket( f ? AF_INET6 : AF_INET, &t->control_addr[f], &t->control_len[f] );
    if (t->control_receiver[f] == INVALID_SOCKET) t->family_ready[f] = FALSE;
}

static DWORD WINAPI fuzz_thread( void *arg )
{
    unsigned int index = (ULONG_PTR)arg, rng = thread_seed[index] | 1;

    while ((LONG)(GetTickCount() - deadline) < 0)
    {
        struct msg_thread *t;

        switch (next_random( &rng ) % 20)
        {
        case 0: thread_doing[index] = "replacing a socket"; replace_socket( &rng ); break;
        case 1: case 2: case 3: case 4: case 5: thread_doing[index] = "an option"; fuzz_option( &rng ); break;
        case 6: hand_over( &rng, &thread_doing[index] ); break;
        case 16: case 17: case 18:
            thread_doing[index] = "WSASendMsg";
            if ((t = msg_thread( index ))) fuzz_sendmsg( &rng, index, t );
            break;
        case 19:
            thread_doing[index] = "WSARecvMsg";
            if ((t = msg_thread( index ))) fuzz_recvmsg( &rng, index, t );
            break;
        default: thread_doing[index] = "an ioctl"; fuzz_ioctl( &rng ); break;
        }
    }
    thread_doing[index] = NULL;
    return 0;
}

static SOCKET bound_listener( int family, SOCKADDR *addr, int len )
{
    SOCKET s = socket( family, SOCK_STREAM, IPPROTO_TCP );

    bind( s, addr, len );
    listen( s, SOMAXCONN );
    getsockname( s, addr, &len );
    return s;
}

int main( int argc, char **argv )
{
    int seconds, threads, seed, i;
    struct addrinfo hints, *info;
    struct sockaddr_in proxy;
    HANDLE handles[64];
    char host[64], *colon;
    char temp_path[MAX_PATH];
    HANDLE acceptor;
    WSADATA data;
    SOCKET c, a;

    setvbuf( stdout, NULL, _IONBF, 0 );
    if (argc == 3 && !strcmp( argv[1], "worker" )) return worker_main( atoi( argv[2] ) );
    if (argc != 6) return 2;
    seconds = atoi( argv[1] );
    threads = atoi( argv[2] );
    seed = atoi( argv[3] );
    if (threads < 1 || threads > 64) return 2;
    snprintf( host, sizeof(host), "%s", argv[4] );
    if (!(colon = strrchr( host, ':' ))) return 2;
    *colon = 0;

    InitializeCriticalSection( &pool_section );
    InitializeCriticalSection( &count_section );
    InitializeCriticalSection( &accepted_section );
    InitializeCriticalSection( &worker_section );
    accepted_semaphore = CreateSemaphoreW( NULL, 0, ACCEPTED_MAX, NULL );
    GetModuleFileNameA( NULL, self_path, sizeof(self_path) );
    WSAStartup( MAKEWORD(2, 2), &data );
    load_base_provider();

    memset( &hints, 0, sizeof(hints) );
    hints.ai_family = AF_INET;
    hints.ai_flags = AI_NUMERICHOST;
    if (getaddrinfo( host, colon + 1, &hints, &info )) return 2;
    memcpy( &redirect_target, info->ai_addr, sizeof(redirect_target) );
    freeaddrinfo( info );

    memset( &proxy, 0, sizeof(proxy) );
    proxy.sin_family = AF_INET;
    proxy.sin_addr.s_addr = htonl( INADDR_LOOPBACK );
    proxy.sin_port = htons( atoi( argv[5] ) );
    proxy_listener = bound_listener( AF_INET, (SOCKADDR *)&proxy, sizeof(proxy) );
    accept_port = CreateIoCompletionPort( (HANDLE)proxy_listener, NULL, 1, 0 );
    memset( &listener4_addr, 0, sizeof(listener4_addr) );
    listener4_addr.sin_family = AF_INET;
    listener4_addr.sin_addr.s_addr = htonl( INADDR_LOOPBACK );
    listener4 = bound_listener( AF_INET, (SOCKADDR *)&listener4_addr, sizeof(listener4_addr) );
    memset( &listener6_addr, 0, sizeof(listener6_addr) );
    listener6_addr.sin6_family = AF_INET6;
    listener6_addr.sin6_addr.s6_addr[15] = 1;
    listener6 = bound_listener( AF_INET6, (SOCKADDR *)&listener6_addr, sizeof(listener6_addr) );

    noaccess_page = VirtualAlloc( NULL, 4096, MEM_RESERVE | MEM_COMMIT, PAGE_NOACCESS );
    /* reserved, never committed: it faults like freed memory, and unlike
     * freed memory nothing else is ever given it (a freed page may come
     * back as another thread's, and Windows would write into that too) */
    reserved_page = VirtualAlloc( NULL, 65536, MEM_RESERVE, PAGE_NOACCESS );
    event_handle = CreateEventW( NULL, FALSE, FALSE, NULL );
    /* a file, which is not a socket, in the prefix's temporary directory */
    GetTempPathA( sizeof(temp_path) - 16, temp_path );
    strcat( temp_path, "wsfuzz.tmp" );
    file_handle = CreateFileA( temp_path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                               FILE_FLAG_DELETE_ON_CLOSE, NULL );

    /* genuine records, issued to this process */
    c = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP );
    if (!connect( c, (SOCKADDR *)&redirect_target, sizeof(redirect_target) ) &&
        (a = accept( proxy_listener, NULL, NULL )) != INVALID_SOCKET)
    {
        if (WSAIoctl( a, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, genuine, sizeof(genuine),
                      &genuine_size, NULL, NULL ))
            genuine_size = 0;
        closesocket( a );
    }
    closesocket( c );
    printf( "wsfuzz: %s genuine records (%lu bytes); %d threads for %d seconds, seed %d\n",
            genuine_size ? "have" : "no", genuine_size, threads, seconds, seed );

    {
        GUID send_guid = WSAID_WSASENDMSG, recv_guid = WSAID_WSARECVMSG;
        DWORD size;

        c = socket( AF_INET, SOCK_DGRAM, IPPROTO_UDP );
        if (WSAIoctl( c, SIO_GET_EXTENSION_FUNCTION_POINTER, &send_guid, sizeof(send_guid), &pWSASendMsg,
                      sizeof(pWSASendMsg), &size, NULL, NULL ) ||
            WSAIoctl( c, SIO_GET_EXTENSION_FUNCTION_POINTER, &recv_guid, sizeof(recv_guid), &pWSARecvMsg,
                      sizeof(pWSARecvMsg), &size, NULL, NULL ))
        {
            printf( "wsfuzz: FAILED: no WSASendMsg or WSARecvMsg (error %d)\n", WSAGetLastError() );
            return 2;
        }
        closesocket( c );
    }
    printf( "wsfuzz: WSASendMsg and WSARecvMsg with hostile control data\n" );

    worker_seed = seed;
    start_worker();
    acceptor = CreateThread( NULL, 0, accept_thread, (void *)(ULONG_PTR)(seed * 31), 0, NULL );
    {
        unsigned int rng = seed | 1;
        for (i = 0; i < POOL_SIZE; i++) pool[i] = make_socket( &rng );
    }
    deadline = GetTickCount() + seconds * 1000;
    for (i = 0; i < threads; i++)
    {
        thread_seed[i] = seed * 7919 + i * 104729;
        handles[i] = CreateThread( NULL, 0, fuzz_thread, (void *)(ULONG_PTR)i, 0, NULL );
    }
    /* every call returns; a thread still busy a minute after the deadline
     * is stuck in one, which is a failure, not something to wait out */
    if (WaitForMultipleObjects( threads, handles, TRUE, (seconds + 60) * 1000 ) == WAIT_TIMEOUT)
    {
        printf( "wsfuzz: FAILED: a thread is still in a call 60 seconds after the deadline "
                "(%ld calls made)\n", total_calls );
        for (i = 0; i < threads; i++)
            if (thread_doing[i]) printf( "wsfuzz: thread %d is still in %s\n", i, thread_doing[i] );
        fflush( stdout );
        ExitProcess( 3 );
    }

    /* The accepting thread may be blocked in accept(): closing the last
     * handle of the listener ends that.  The worker may hold one too (a
     * random handle value handed over), so it goes first. */
    accepting = 0;
    stop_worker( FALSE );
    closesocket( proxy_listener );
    if (WaitForSingleObject( acceptor, 30000 ))
    {
        printf( "wsfuzz: FAILED: the accepting thread did not return after its listener was closed\n" );
        ExitProcess( 3 );
    }

    printf( "wsfuzz: %ld calls, %ld unexpected results\n", total_calls, unexpected );
    printf( "wsfuzz: accepted %ld blocking, %ld with WSAAccept (CF_DEFER every other call), %ld with AcceptEx, "
            "%ld after select(); %ld sockets handed to worker processes, %ld workers killed\n",
            accept_shapes[0], accept_shapes[1], accept_shapes[2], accept_shapes[3], handed_over, workers_killed );
    printf( "wsfuzz: WSASendMsg, sent/refused by control data: none or other messages %ld/%ld, records %ld/%ld, "
            "malformed %ld/%ld, unreadable %ld/%ld, freed %ld/%ld\n",
            sendmsg_results[VERDICT_PLAIN][0], sendmsg_results[VERDICT_PLAIN][1],
            sendmsg_results[VERDICT_RECORDS][0], sendmsg_results[VERDICT_RECORDS][1],
            sendmsg_results[VERDICT_INVALID][0], sendmsg_results[VERDICT_INVALID][1],
            sendmsg_results[VERDICT_FAULT][0], sendmsg_results[VERDICT_FAULT][1],
            sendmsg_results[VERDICT_ANY][0], sendmsg_results[VERDICT_ANY][1] );
    printf( "wsfuzz: WSARecvMsg %ld calls: %ld with records, %ld with MSG_CTRUNC; %ld families without UDP "
            "sockets\n", recvmsg_calls, recvmsg_with_records, recvmsg_truncated, msg_setup_failures );
    for (i = 0; i < error_kinds; i++)
        printf( "wsfuzz:   %-16s %#10x  %ld\n", error_name( error_codes[i] ), error_codes[i], error_counts[i] );
    /* the wineserver is still there and still answers */
    c = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP );
    i = WSAIoctl( c, SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE, NULL, 0, genuine, 8, &genuine_size, NULL, NULL );
    printf( "wsfuzz: the wineserver %s\n", i ? "does not answer" : "answers" );
    return unexpected || i;
}
