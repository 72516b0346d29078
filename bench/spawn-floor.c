/* The machine's spawn floor for `npm run bench`: /bin/true started with posix_spawn in its own
 * process group, 8 in flight, stdout and stderr on pipes read to EOF (as a runtime that captures
 * output must). Compiled at bench time (bench/cases.ts). Prints {"value": processes per second}. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
extern char **environ;

#define C 8
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000, started = 0, done = 0, open_fds = 0;
  char *av[] = {"/bin/true", NULL};
  struct pollfd fds[2 * C];
  for (int i = 0; i < 2 * C; i++) fds[i].fd = -1, fds[i].events = POLLIN;
  int running = 0; /* started, not yet reaped */
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  while (done < n) {
    for (int s = 0; s < C && started < n && running < C; s++) {
      if (fds[2 * s].fd >= 0 || fds[2 * s + 1].fd >= 0) continue;
      int po[2], pe[2];
      if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC)) return 1;
      posix_spawn_file_actions_t fa;
      posix_spawn_file_actions_init(&fa);
      posix_spawn_file_actions_adddup2(&fa, po[1], 1);
      posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
      posix_spawnattr_t at;
      posix_spawnattr_init(&at);
      posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
      pid_t pid;
      if (posix_spawn(&pid, "/bin/true", &fa, &at, av, environ)) return 1;
      posix_spawn_file_actions_destroy(&fa);
      posix_spawnattr_destroy(&at);
      close(po[1]);
      close(pe[1]);
      fds[2 * s].fd = po[0];
      fds[2 * s + 1].fd = pe[0];
      open_fds += 2;
      started++;
      running++;
    }
    if (open_fds && poll(fds, 2 * C, -1) > 0) {
      char buf[256];
      for (int i = 0; i < 2 * C; i++) {
        if (fds[i].fd < 0 || !fds[i].revents) continue;
        if (read(fds[i].fd, buf, sizeof buf) > 0) continue;
        close(fds[i].fd);
        fds[i].fd = -1;
        open_fds--;
      }
    }
    int st;
    pid_t p;
    while ((p = waitpid(-1, &st, open_fds ? WNOHANG : 0)) > 0) {
      done++;
      running--;
      if (open_fds) continue;
      break;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("{\"case\": \"c-spawn\", \"value\": %f}\n", n / ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9));
  return 0;
}
