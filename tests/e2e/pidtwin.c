/*
 * pidtwin: run a program as the process with a given Wine process id, so
 * that two prefixes (two wineservers) can each have a process with the
 * same id, as happens by chance with real programs.
 *
 * Wine hands out process and thread ids from one counter, in order, and
 * reuses freed ones only once 256 are free.  So pidtwin creates threads
 * that it keeps (suspended) until the next id is the one asked for, then
 * starts the program, waits for it and exits with its status.
 *
 * usage: pidtwin.exe PID PROGRAM.EXE [ARGUMENTS...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

static DWORD WINAPI idle( void *arg )
{
    (void)arg;
    return 0;
}

int main( int argc, char **argv )
{
    char command[4096] = "";
    PROCESS_INFORMATION info;
    STARTUPINFOA startup;
    DWORD target, tid, status;
    HANDLE thread;
    int i, count = 0;

    if (argc < 3 || !(target = strtoul( argv[1], NULL, 0 )) || target % 4)
    {
        printf( "usage: pidtwin.exe PID PROGRAM.EXE [ARGUMENTS...]\n" );
        return 2;
    }
    for (i = 2; i < argc; i++)
    {
        strncat( command, "\"", sizeof(command) - strlen( command ) - 1 );
        strncat( command, argv[i], sizeof(command) - strlen( command ) - 1 );
        strncat( command, "\" ", sizeof(command) - strlen( command ) - 1 );
    }

    /* the threads stay, suspended, so that their ids are not freed */
    for (;;)
    {
        if (!(thread = CreateThread( NULL, 4096, idle, NULL, CREATE_SUSPENDED | STACK_SIZE_PARAM_IS_A_RESERVATION,
                                     &tid )))
        {
            printf( "pidtwin: CreateThread failed, error %lu\n", GetLastError() );
            return 2;
        }
        count++;
        if (tid + 4 == target) break;
        if (tid + 4 > target)
        {
            printf( "pidtwin: the ids are past %#lx already (thread %#lx)\n", target, tid );
            return 2;
        }
    }

    memset( &startup, 0, sizeof(startup) );
    startup.cb = sizeof(startup);
    if (!CreateProcessA( NULL, command, NULL, NULL, TRUE, 0, NULL, NULL, &startup, &info ))
    {
        printf( "pidtwin: cannot start %s: error %lu\n", argv[2], GetLastError() );
        return 2;
    }
    printf( "pidtwin: %s is process %#lx (asked for %#lx; %d threads made)\n", argv[2], info.dwProcessId, target,
            count );
    fflush( stdout );
    if (info.dwProcessId != target)
    {
        TerminateProcess( info.hProcess, 2 );
        return 2;
    }
    WaitForSingleObject( info.hProcess, INFINITE );
    GetExitCodeProcess( info.hProcess, &status );
    return status;
}
