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
 * usage: wsfuzz.exe SECONDS THREADS SEED REDIRECT_ADDRESS:PORT PROXY_PORT
 *        wsfuzz.exe worker SEED    (started by wsfuzz itself)
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../e2e/wfp_sdk.h"
#include <mswsock.h>

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

    ret = WSAIoctl( pick_socket( rng ), code, in_buff, in_size, out_buff, out_size, ret_size, povl, routine );
    check( "WSAIoctl", ret, WSAGetLastError(), ioctl_errors );
    if (povl == &ovl && ovl.hEvent) CloseHandle( ovl.hEvent );
    if (routine == completion) SleepEx( 0, TRUE );
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

static DWORD WINAPI fuzz_thread( void *arg )
{
    unsigned int index = (ULONG_PTR)arg, rng = thread_seed[index] | 1;

    while ((LONG)(GetTickCount() - deadline) < 0)
    {
        switch (next_random( &rng ) % 16)
        {
        case 0: thread_doing[index] = "replacing a socket"; replace_socket( &rng ); break;
        case 1: case 2: case 3: case 4: case 5: thread_doing[index] = "an option"; fuzz_option( &rng ); break;
        case 6: hand_over( &rng, &thread_doing[index] ); break;
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
    for (i = 0; i < error_kinds; i++)
        printf( "wsfuzz:   %-16s %#10x  %ld\n", error_name( error_codes[i] ), error_codes[i], error_counts[i] );
    /* the wineserver is still there and still answers */
    c = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP );
    i = WSAIoctl( c, SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE, NULL, 0, genuine, 8, &genuine_size, NULL, NULL );
    printf( "wsfuzz: the wineserver %s\n", i ? "does not answer" : "answers" );
    return unexpected || i;
}
