/* See fake_proc.h. */
#include "fake_proc.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

pid_t fake_proc_start(char *const argv[], bool quiet, int timeout_ms, char *url, size_t url_size,
                      int *out_fd)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        int devnull = quiet && !getenv("KGC_E2E_SERVER_LOG") ? open("/dev/null", O_WRONLY) : -1;
        if (devnull >= 0)
            dup2(devnull, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    char line[512] = "";
    size_t n = 0;
    long long deadline = now_ms() + timeout_ms;
    while (n + 1 < sizeof(line) && now_ms() < deadline) {
        struct pollfd pf = {.fd = fds[0], .events = POLLIN};
        if (poll(&pf, 1, 100) <= 0)
            continue;
        if (read(fds[0], line + n, 1) <= 0)
            break;
        if (line[n] == '\n')
            break;
        line[++n] = '\0';
    }
    line[n] = '\0';
    const char *u = strncmp(line, "listening on http://", 20) == 0 ? line + 13 : NULL;
    if (!u || !strrchr(u, ':')) {
        fake_proc_kill(pid);
        close(fds[0]);
        fprintf(stderr, "could not start %s\n", argv[0]);
        return -1;
    }
    snprintf(url, url_size, "%.*s", (int)strcspn(u, " \r\n"), u);
    if (out_fd)
        *out_fd = fds[0];
    else
        close(fds[0]);
    return pid;
}

void fake_proc_kill(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}
