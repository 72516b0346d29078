/*
 * rhapsody's native spawner: starts executables for the runtime with posix_spawn (glibc: clone
 * with CLONE_VM|CLONE_VFORK, so the cost does not grow with anyone's heap), each in its own process
 * group. One process, no threads: a poll() loop over the control pipe, the children's pipes and a
 * SIGCHLD self-pipe. Built by actors/process/native-build.mjs with `cc`; libc only.
 *
 * Protocol (all integers little-endian u32 unless said; a string is u32 length + bytes):
 *  host → helper, on stdin, frames [u32 length][u8 op][body]:
 *   'E' base environment: u32 n, n strings "K=V" (sent when the runtime's process.env changed)
 *   'R' run: id, flags, timeout ms (0 none), grace ms, cap bytes; strings file, cwd, stdout file,
 *       stderr file, spill prefix ("" = none); u32 argc + strings; u32 envc + strings (overrides
 *       merged over the base environment); string stdin text (only read with F_STDIN)
 *   'K' kill: id, u8 reason (1 canceled, 2 timeout): SIGTERM to the group, SIGKILL after grace
 *  helper → host, on stdout, frames [u32 length][u8 op][body]:
 *   'Y' ready
 *   'S' started: id, pid
 *   'D' done: id, i32 exit code (-1 none), signal, u8 killed, errno (0 none), u8 stage,
 *       u8 output flags, u64 stdout total, u64 stderr total, string stdout head, string stderr head
 * On EOF of stdin (the runtime closed us or died) every running group is SIGKILLed and we exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum { F_STDIN = 1, F_OUT_IGNORE = 2, F_ERR_IGNORE = 4, F_ERR_MERGE = 8, F_KEEP_GROUP = 16 };
enum { ST_SPAWN = 0, ST_CWD = 1, ST_STDOUT_FILE = 2, ST_STDERR_FILE = 3, ST_PIPE = 4 };
enum { O_OUT_SPILLED = 1, O_ERR_SPILLED = 2, O_OUT_CUT = 4, O_ERR_CUT = 8 };
#define DRAIN_MS 100 /* after the main process exited, how long a leftover may hold its pipes */

typedef struct {
  int fd;
  char *buf;
  size_t len, alloc, cap;
  uint64_t total;
  int spill_fd, spilled, cut;
  const char *suffix;
} Stream;

typedef struct {
  uint32_t id;
  pid_t pid;
  Stream out, err;
  int in_fd;
  char *in_buf;
  size_t in_len, in_off;
  int killed, exited, status, keep_group;
  int64_t t_timeout, t_kill, t_drain; /* deadlines in ms (0 none) */
  uint32_t grace;
  char *spill;
} Task;

static Task **tasks;
static size_t ntasks, atasks;
static char **base_env;
static size_t nbase;
static int sig_pipe[2];
static char *inb, *outb;
static size_t inlen, inalloc, outlen, outalloc;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) { perror("rhapsody native spawner"); _exit(70); }
  return q;
}

static void grow(char **b, size_t *alloc, size_t need) {
  if (need <= *alloc) return;
  size_t n = *alloc ? *alloc : 4096;
  while (n < need) n *= 2;
  *b = xrealloc(*b, n);
  *alloc = n;
}

/* ---- output to the host ---- */
static void put(const void *p, size_t n) {
  grow(&outb, &outalloc, outlen + n);
  memcpy(outb + outlen, p, n);
  outlen += n;
}
static void put32(uint32_t v) { unsigned char b[4] = {v, v >> 8, v >> 16, v >> 24}; put(b, 4); }
static void put64(uint64_t v) { put32((uint32_t)v); put32((uint32_t)(v >> 32)); }
static void put8(uint8_t v) { put(&v, 1); }
static size_t frame_begin(char op) { size_t at = outlen; put32(0); put8((uint8_t)op); return at; }
static void frame_end(size_t at) {
  uint32_t n = (uint32_t)(outlen - at - 4);
  unsigned char b[4] = {n, n >> 8, n >> 16, n >> 24};
  memcpy(outb + at, b, 4);
}
static void flush_out(void) {
  while (outlen) {
    ssize_t w = write(1, outb, outlen);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return; /* poll for POLLOUT */
      _exit(0); /* the host is gone */
    }
    memmove(outb, outb + w, outlen - (size_t)w);
    outlen -= (size_t)w;
  }
}

/* ---- input from the host ---- */
typedef struct { const unsigned char *p, *end; int bad; } Reader;
static uint32_t get32(Reader *r) {
  if (r->end - r->p < 4) { r->bad = 1; return 0; }
  uint32_t v = r->p[0] | r->p[1] << 8 | r->p[2] << 16 | (uint32_t)r->p[3] << 24;
  r->p += 4;
  return v;
}
static uint8_t get8(Reader *r) {
  if (r->p >= r->end) { r->bad = 1; return 0; }
  return *r->p++;
}
/* a NUL-terminated copy */
static char *getstr(Reader *r) {
  uint32_t n = get32(r);
  if (r->bad || (size_t)(r->end - r->p) < n) { r->bad = 1; return NULL; }
  char *s = xrealloc(NULL, n + 1);
  memcpy(s, r->p, n);
  s[n] = 0;
  r->p += n;
  return s;
}

static void kill_group(Task *t, int sig) {
  if (t->pid > 0) kill(-t->pid, sig);
}

static void stop(Task *t, int reason) {
  if (t->killed || t->exited) return;
  t->killed = reason;
  kill_group(t, SIGTERM);
  t->t_kill = now_ms() + t->grace;
}

static Task *find(uint32_t id) {
  for (size_t i = 0; i < ntasks; i++) if (tasks[i]->id == id) return tasks[i];
  return NULL;
}

static void send_done(uint32_t id, int code, int sig, int killed, int err, int stage, Task *t) {
  size_t at = frame_begin('D');
  put32(id);
  put32((uint32_t)code);
  put32((uint32_t)sig);
  put8((uint8_t)killed);
  put32((uint32_t)err);
  put8((uint8_t)stage);
  int flags = 0;
  if (t) {
    flags = (t->out.spilled ? O_OUT_SPILLED : 0) | (t->err.spilled ? O_ERR_SPILLED : 0) | (t->out.cut ? O_OUT_CUT : 0) | (t->err.cut ? O_ERR_CUT : 0);
  }
  put8((uint8_t)flags);
  put64(t ? t->out.total : 0);
  put64(t ? t->err.total : 0);
  put32(t ? (uint32_t)t->out.len : 0);
  if (t) put(t->out.buf, t->out.len);
  put32(t ? (uint32_t)t->err.len : 0);
  if (t) put(t->err.buf, t->err.len);
  frame_end(at);
}

static void free_task(Task *t) {
  if (t->out.fd >= 0) close(t->out.fd);
  if (t->err.fd >= 0) close(t->err.fd);
  if (t->out.spill_fd >= 0) close(t->out.spill_fd);
  if (t->err.spill_fd >= 0) close(t->err.spill_fd);
  if (t->in_fd >= 0) close(t->in_fd);
  free(t->out.buf);
  free(t->err.buf);
  free(t->in_buf);
  free(t->spill);
  free(t);
}

/* ---- output capture: the first `cap` bytes in memory, all of it in the spill file past that ---- */
static int mkdirs(char *path) {
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    int r = mkdir(path, 0755);
    *p = '/';
    if (r < 0 && errno != EEXIST) return -1;
  }
  return 0;
}

static void write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) { if (errno == EINTR) continue; return; }
    p += w;
    n -= (size_t)w;
  }
}

static void take(Task *t, Stream *s, const char *data, size_t n) {
  s->total += n;
  if (s->spill_fd < 0 && !s->cut && s->len + n > s->cap) {
    if (t->spill && *t->spill) {
      size_t pl = strlen(t->spill);
      char *path = xrealloc(NULL, pl + 8);
      memcpy(path, t->spill, pl);
      strcpy(path + pl, s->suffix);
      s->spill_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (s->spill_fd < 0 && errno == ENOENT && mkdirs(path) == 0) s->spill_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      free(path);
    }
    if (s->spill_fd >= 0) {
      s->spilled = 1;
      write_all(s->spill_fd, s->buf, s->len);
    } else {
      s->cut = 1;
    }
  }
  if (s->spill_fd >= 0) write_all(s->spill_fd, data, n);
  size_t room = s->cap > s->len ? s->cap - s->len : 0;
  size_t keep = n < room ? n : room;
  if (keep) {
    grow(&s->buf, &s->alloc, s->len + keep);
    memcpy(s->buf + s->len, data, keep);
    s->len += keep;
  }
}

/* ---- starting a process ---- */
static const char *env_get(char **env, const char *key) {
  size_t kl = strlen(key);
  for (; *env; env++) if (strncmp(*env, key, kl) == 0 && (*env)[kl] == '=') return *env + kl + 1;
  return NULL;
}

/* PATH lookup in the child's environment (as libuv does), so `env: { PATH }` is honoured */
static char *resolve(const char *file, char **env, int *err) {
  if (strchr(file, '/')) return strdup(file);
  const char *path = env_get(env, "PATH");
  if (!path) path = "/usr/local/bin:/usr/bin:/bin";
  size_t fl = strlen(file);
  *err = ENOENT;
  for (const char *p = path;; p++) {
    const char *end = strchrnul(p, ':');
    size_t dl = (size_t)(end - p);
    char *cand = xrealloc(NULL, dl + fl + 2);
    memcpy(cand, dl ? p : ".", dl ? dl : 1);
    size_t at = dl ? dl : 1;
    cand[at] = '/';
    memcpy(cand + at + 1, file, fl + 1);
    if (access(cand, X_OK) == 0) return cand;
    if (access(cand, F_OK) == 0) *err = EACCES;
    free(cand);
    if (!*end) break;
    p = end;
  }
  return NULL;
}

static void run(Reader *r) {
  uint32_t id = get32(r), flags = get32(r), timeout = get32(r), grace = get32(r), cap = get32(r);
  char *file = getstr(r), *cwd = getstr(r), *ofile = getstr(r), *efile = getstr(r), *spill = getstr(r);
  uint32_t argc = get32(r);
  if (r->bad || argc > 1u << 20) { fprintf(stderr, "rhapsody native spawner: bad request\n"); _exit(65); }
  char **argv = xrealloc(NULL, (argc + 1) * sizeof *argv);
  for (uint32_t i = 0; i < argc; i++) argv[i] = getstr(r);
  argv[argc] = NULL;
  uint32_t envc = get32(r);
  if (r->bad || envc > 1u << 20) { fprintf(stderr, "rhapsody native spawner: bad request\n"); _exit(65); }
  char **over = xrealloc(NULL, (envc + 1) * sizeof *over);
  for (uint32_t i = 0; i < envc; i++) over[i] = getstr(r);
  char *input = getstr(r);
  if (r->bad) { fprintf(stderr, "rhapsody native spawner: bad request\n"); _exit(65); }

  /* the environment: base (the runtime's process.env at submit) with the overrides */
  char **env = xrealloc(NULL, (nbase + envc + 1) * sizeof *env);
  size_t n = 0;
  for (size_t i = 0; i < nbase; i++) env[n++] = base_env[i];
  for (uint32_t i = 0; i < envc; i++) {
    const char *eq = strchr(over[i], '=');
    size_t kl = eq ? (size_t)(eq - over[i]) + 1 : strlen(over[i]);
    size_t j = 0;
    while (j < n && strncmp(env[j], over[i], kl) != 0) j++;
    env[j == n ? n++ : j] = over[i];
  }
  env[n] = NULL;

  Task *t = calloc(1, sizeof *t);
  if (!t) _exit(70);
  t->id = id;
  t->out.fd = t->err.fd = t->in_fd = t->out.spill_fd = t->err.spill_fd = -1;
  t->out.cap = t->err.cap = cap;
  t->out.suffix = ".stdout";
  t->err.suffix = ".stderr";
  t->grace = grace;
  t->keep_group = (flags & F_KEEP_GROUP) != 0;
  t->spill = spill;
  spill = NULL;

  int err = 0, stage = ST_SPAWN;
  int child_fds[3] = {-1, -1, -1};
  int p_out[2] = {-1, -1}, p_err[2] = {-1, -1}, p_in[2] = {-1, -1};
  char *path = NULL;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&at);

  if (flags & F_STDIN) {
    if (pipe2(p_in, O_CLOEXEC) < 0) { err = errno; stage = ST_PIPE; goto fail; }
    child_fds[0] = p_in[0];
  }
  if (*ofile) {
    child_fds[1] = open(ofile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (child_fds[1] < 0) { err = errno; stage = ST_STDOUT_FILE; goto fail; }
  } else if (!(flags & F_OUT_IGNORE)) {
    if (pipe2(p_out, O_CLOEXEC) < 0) { err = errno; stage = ST_PIPE; goto fail; }
    child_fds[1] = p_out[1];
  }
  if (*efile) {
    child_fds[2] = open(efile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (child_fds[2] < 0) { err = errno; stage = ST_STDERR_FILE; goto fail; }
  } else if (flags & F_ERR_MERGE) {
    child_fds[2] = child_fds[1];
  } else if (!(flags & F_ERR_IGNORE)) {
    if (pipe2(p_err, O_CLOEXEC) < 0) { err = errno; stage = ST_PIPE; goto fail; }
    child_fds[2] = p_err[1];
  }
  for (int fd = 0; fd < 3; fd++) {
    if (child_fds[fd] >= 0) posix_spawn_file_actions_adddup2(&fa, child_fds[fd], fd);
    else posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd ? O_WRONLY : O_RDONLY, 0);
  }
  if (*cwd) posix_spawn_file_actions_addchdir_np(&fa, cwd);
  sigset_t mask, def;
  sigemptyset(&mask);
  sigemptyset(&def);
  sigaddset(&def, SIGPIPE); /* ignored here; default for the child */
  posix_spawnattr_setsigmask(&at, &mask);
  posix_spawnattr_setsigdefault(&at, &def);
  posix_spawnattr_setpgroup(&at, 0);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  /* a bare name is looked up in PATH; a relative path is resolved by exec after the chdir */
  path = resolve(file, env, &err);
  if (!path) goto fail;
  err = posix_spawn(&t->pid, path, &fa, &at, argv, env);
  if (err) {
    /* exec and chdir both fail with ENOENT/EACCES: say which */
    if (*cwd && access(cwd, X_OK) < 0) { err = errno; stage = ST_CWD; }
    goto fail;
  }
  t->out.fd = p_out[0];
  t->err.fd = p_err[0];
  p_out[0] = p_err[0] = -1;
  if (flags & F_STDIN) {
    t->in_fd = p_in[1];
    p_in[1] = -1;
    fcntl(t->in_fd, F_SETFL, O_NONBLOCK);
    t->in_buf = input;
    t->in_len = strlen(input); /* text from the runtime: no NULs */
    input = NULL;
  }
  if (t->out.fd >= 0) fcntl(t->out.fd, F_SETFL, O_NONBLOCK);
  if (t->err.fd >= 0) fcntl(t->err.fd, F_SETFL, O_NONBLOCK);
  if (timeout) t->t_timeout = now_ms() + timeout;
  if (ntasks == atasks) tasks = xrealloc(tasks, (atasks = atasks ? atasks * 2 : 64) * sizeof *tasks);
  tasks[ntasks++] = t;
  size_t f = frame_begin('S');
  put32(id);
  put32((uint32_t)t->pid);
  frame_end(f);
  t = NULL;
fail:
  if (t) {
    send_done(id, -1, 0, 0, err ? err : EINVAL, stage, NULL);
    free_task(t);
  }
  /* the child's ends (it has its own copies now) */
  if (p_in[0] >= 0) close(p_in[0]);
  if (p_in[1] >= 0) close(p_in[1]);
  if (p_out[0] >= 0) close(p_out[0]);
  if (p_err[0] >= 0) close(p_err[0]);
  if (p_out[1] >= 0) close(p_out[1]);
  else if (*ofile && child_fds[1] >= 0) close(child_fds[1]);
  if (p_err[1] >= 0) close(p_err[1]);
  else if (*efile && child_fds[2] >= 0) close(child_fds[2]);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  free(path);
  free(file); free(cwd); free(ofile); free(efile); free(spill); free(input);
  for (uint32_t i = 0; i < argc; i++) free(argv[i]);
  free(argv);
  for (uint32_t i = 0; i < envc; i++) free(over[i]);
  free(over);
  free(env);
}

static void set_env(Reader *r) {
  for (size_t i = 0; i < nbase; i++) free(base_env[i]);
  uint32_t n = get32(r);
  if (r->bad || n > 1u << 20) _exit(65);
  base_env = xrealloc(base_env, (n + 1) * sizeof *base_env);
  for (uint32_t i = 0; i < n; i++) base_env[i] = getstr(r);
  base_env[n] = NULL;
  nbase = n;
  if (r->bad) _exit(65);
}

static void shutdown_all(void) {
  for (size_t i = 0; i < ntasks; i++) kill_group(tasks[i], SIGKILL);
  flush_out();
  _exit(0);
}

static void handle_input(void) {
  size_t off = 0;
  while (inlen - off >= 4) {
    const unsigned char *p = (const unsigned char *)inb + off;
    uint32_t n = p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
    if (inlen - off - 4 < n) break;
    Reader r = {p + 5, p + 4 + n, 0};
    char op = n ? (char)p[4] : 0;
    if (op == 'R') run(&r);
    else if (op == 'E') set_env(&r);
    else if (op == 'K') {
      uint32_t id = get32(&r);
      int reason = get8(&r);
      Task *t = find(id);
      if (t) stop(t, reason ? reason : 1);
    }
    off += 4 + n;
  }
  memmove(inb, inb + off, inlen - off);
  inlen -= off;
}

static void on_signal(int sig) {
  char c = sig == SIGCHLD ? 'c' : 't'; /* SIGTERM, SIGINT, SIGHUP: shut down */
  int saved = errno;
  (void)!write(sig_pipe[1], &c, 1);
  errno = saved;
}

/* the main process exited: take the group down (unless kept), then reap */
static void reap(void) {
  for (;;) {
    siginfo_t si;
    si.si_pid = 0;
    if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0) return;
    Task *t = NULL;
    for (size_t i = 0; i < ntasks; i++) if (tasks[i]->pid == si.si_pid && !tasks[i]->exited) t = tasks[i];
    /* while it is a zombie its pid (and so its group id) cannot be reused */
    if (t && (t->killed || !t->keep_group)) kill_group(t, SIGKILL);
    int status = 0;
    while (waitpid(si.si_pid, &status, 0) < 0 && errno == EINTR) {}
    if (!t) continue;
    t->exited = 1;
    t->status = status;
    t->t_drain = now_ms() + DRAIN_MS;
    t->t_timeout = t->t_kill = 0;
    if (t->in_fd >= 0) { close(t->in_fd); t->in_fd = -1; }
  }
}

static void read_stream(Task *t, Stream *s) {
  static char chunk[65536];
  for (;;) {
    ssize_t n = read(s->fd, chunk, sizeof chunk);
    if (n > 0) { take(t, s, chunk, (size_t)n); if ((size_t)n < sizeof chunk) return; continue; }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    close(s->fd); /* EOF or error */
    s->fd = -1;
    return;
  }
}

static void write_stdin(Task *t) {
  while (t->in_off < t->in_len) {
    ssize_t w = write(t->in_fd, t->in_buf + t->in_off, t->in_len - t->in_off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) return;
    if (w < 0) break; /* EPIPE: it does not read its stdin */
    t->in_off += (size_t)w;
  }
  close(t->in_fd);
  t->in_fd = -1;
}

/* finished when reaped and its pipes are closed (or a leftover held them past the drain time) */
static void finish_ready(int64_t now) {
  for (size_t i = 0; i < ntasks;) {
    Task *t = tasks[i];
    if (!t->exited || ((t->out.fd >= 0 || t->err.fd >= 0) && now < t->t_drain)) { i++; continue; }
    if (t->out.fd >= 0) read_stream(t, &t->out);
    if (t->err.fd >= 0) read_stream(t, &t->err);
    int st = t->status;
    send_done(t->id, WIFEXITED(st) ? WEXITSTATUS(st) : -1, WIFSIGNALED(st) ? WTERMSIG(st) : 0, t->killed, 0, 0, t);
    tasks[i] = tasks[--ntasks];
    free_task(t);
  }
}

int main(void) {
  if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0) return 71;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  sigaction(SIGINT, &sa, NULL); /* ^C, a cluster stopping a worker: our groups go with us */
  fcntl(0, F_SETFL, O_NONBLOCK);
  fcntl(1, F_SETFL, O_NONBLOCK);
  size_t f = frame_begin('Y');
  frame_end(f);
  flush_out();

  struct pollfd *pfds = NULL;
  Task **owner = NULL;
  Stream **which = NULL;
  size_t apfd = 0;
  for (;;) {
    size_t need = 3 + ntasks * 3;
    if (need > apfd) {
      apfd = need * 2;
      pfds = xrealloc(pfds, apfd * sizeof *pfds);
      owner = xrealloc(owner, apfd * sizeof *owner);
      which = xrealloc(which, apfd * sizeof *which);
    }
    size_t np = 0;
    pfds[np++] = (struct pollfd){0, POLLIN, 0};
    pfds[np++] = (struct pollfd){sig_pipe[0], POLLIN, 0};
    pfds[np++] = (struct pollfd){outlen ? 1 : -1, POLLOUT, 0};
    int64_t now = now_ms(), next = -1;
    for (size_t i = 0; i < ntasks; i++) {
      Task *t = tasks[i];
      if (t->out.fd >= 0) { owner[np] = t; which[np] = &t->out; pfds[np++] = (struct pollfd){t->out.fd, POLLIN, 0}; }
      if (t->err.fd >= 0) { owner[np] = t; which[np] = &t->err; pfds[np++] = (struct pollfd){t->err.fd, POLLIN, 0}; }
      if (t->in_fd >= 0) { owner[np] = t; which[np] = NULL; pfds[np++] = (struct pollfd){t->in_fd, POLLOUT, 0}; }
      int64_t d[3] = {t->t_timeout, t->t_kill, t->exited ? t->t_drain : 0};
      for (int k = 0; k < 3; k++) if (d[k] && (next < 0 || d[k] < next)) next = d[k];
    }
    int wait = next < 0 ? -1 : next <= now ? 0 : (int)(next - now);
    int ready = poll(pfds, np, wait);
    if (ready < 0 && errno != EINTR) { perror("poll"); return 72; }
    if (ready > 0 && (pfds[2].revents & (POLLERR | POLLHUP))) shutdown_all(); /* the runtime is gone */
    if (ready > 0 && pfds[1].revents) {
      char c[64];
      ssize_t n;
      int term = 0;
      while ((n = read(sig_pipe[0], c, sizeof c)) > 0) for (ssize_t k = 0; k < n; k++) term |= c[k] == 't';
      if (term) shutdown_all();
      reap();
    }
    for (size_t i = 3; ready > 0 && i < np; i++) {
      if (!pfds[i].revents) continue;
      Task *t = owner[i];
      if (which[i]) { if (which[i]->fd >= 0) read_stream(t, which[i]); }
      else if (t->in_fd >= 0) write_stdin(t);
    }
    if (ready > 0 && pfds[0].revents) {
      for (;;) {
        grow(&inb, &inalloc, inlen + 65536);
        ssize_t n = read(0, inb + inlen, 65536);
        if (n > 0) { inlen += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        shutdown_all(); /* EOF: the runtime closed us, or died */
      }
      handle_input();
    }
    now = now_ms();
    for (size_t i = 0; i < ntasks; i++) {
      Task *t = tasks[i];
      if (t->exited) continue;
      if (t->t_timeout && now >= t->t_timeout) { t->t_timeout = 0; stop(t, 2); }
      if (t->t_kill && now >= t->t_kill) { t->t_kill = 0; kill_group(t, SIGKILL); }
    }
    finish_ready(now);
    flush_out();
  }
}
