#include "fsutil.h"

#include "memory.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int img_make_dirs(const char *dir, img_error *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return img_fail(err, "%s: path too long", dir);
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return img_fail(err, "%s: cannot create directory: %s", path, strerror(errno));
        if (c == '\0')
            break;
        *p = c;
    }
    /* EEXIST also covers a file of that name; and a folder that exists may refuse new
     * files. Either would only show when the first file is written, after the work. */
    struct stat st;
    if (stat(path, &st) != 0)
        return img_fail(err, "%s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return img_fail(err, "%s: exists and is not a folder", path);
    if (access(path, W_OK | X_OK) != 0)
        return img_fail(err, "%s: cannot write into it: %s", path, strerror(errno));
    return 0;
}

/* ---- reading ---- */

int img_read_whole_file(const char *path, size_t limit, uint8_t **data, size_t *size,
                        img_error *err)
{
    *data = NULL;
    *size = 0;
    uint8_t *buf = NULL;
    int e = 0;
    /* O_NONBLOCK: opening a FIFO must not hang before we get to refuse it. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return img_fail(err, "%s: %s", path, strerror(errno));

    struct stat st;
    if (fstat(fd, &st) != 0) {
        e = errno;
        img_fail(err, "%s: %s", path, strerror(e));
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        e = EISDIR;
        img_fail(err, "%s: is a directory", path);
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        e = EINVAL;
        img_fail(err, "%s: not a regular file", path);
        goto fail;
    }
    /* Checked before reading: the limit bounds the memory a wrong path can cost. */
    if ((uintmax_t)st.st_size > (uintmax_t)limit) {
        e = EFBIG;
        img_fail(err, "%s: file is too large (%jd bytes; the limit is %ju)", path,
                 (intmax_t)st.st_size, (uintmax_t)limit);
        goto fail;
    }
    const size_t want = (size_t)st.st_size;
    buf = img_alloc_large(want + 1, 16);   /* an image file is read once, whole */
    if (!buf) {
        e = ENOMEM;
        img_fail(err, "%s: out of memory reading %zu bytes", path, want);
        goto fail;
    }
    size_t got = 0;
    while (got < want) {
        ssize_t n = read(fd, buf + got, want - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            e = errno;
            img_fail(err, "%s: read failed: %s", path, strerror(e));
            goto fail;
        }
        if (n == 0)
            break;   /* the file shrank since fstat: keep what is there */
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *data = buf;
    *size = got;
    return 0;

fail:
    free(buf);
    close(fd);
    errno = e;   /* for callers that pass err == NULL */
    return -1;
}

/* ---- writing ---- */

/* Permission bits for a new file: what open(..., 0666) would give under the current
 * umask. umask() can only be read by setting it, which races with other threads
 * creating files, so read it from /proc when the kernel offers it there. */
static mode_t new_file_mode(void)
{
    mode_t mask = 022;
    FILE *status = fopen("/proc/self/status", "re");
    if (status) {
        char line[256];
        while (fgets(line, sizeof line, status)) {
            unsigned int value;
            if (sscanf(line, "Umask: %o", &value) == 1) {
                mask = (mode_t)value & 0777;
                break;
            }
        }
        fclose(status);
    }
    return 0666 & ~mask;
}

/* Makes the rename durable. Best effort: the new file is already in place and
 * complete, so a failure here is no reason to report the write as failed. */
static void sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir)
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

int img_atomic_open(img_atomic_file *file, const char *path, img_error *err)
{
    memset(file, 0, sizeof *file);
    if (snprintf(file->path, sizeof file->path, "%s", path) >= (int)sizeof file->path)
        return img_fail(err, "%s: path too long", path);
    snprintf(file->target, sizeof file->target, "%s", path);
    file->mode = new_file_mode();

    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return img_fail(err, "%s: is a directory", path);
        if (!S_ISREG(st.st_mode))
            return img_fail(err, "%s: not a regular file", path);
        file->mode = st.st_mode & 0777;
        /* Through a symlink, replace the file it points to rather than the link:
         * that is what opening the path for writing would have changed. */
        struct stat link;
        if (lstat(path, &link) == 0 && S_ISLNK(link.st_mode)) {
            char *resolved = realpath(path, NULL);
            if (!resolved)
                return img_fail(err, "%s: cannot resolve output: %s", path, strerror(errno));
            int too_long = snprintf(file->target, sizeof file->target, "%s", resolved) >=
                           (int)sizeof file->target;
            free(resolved);
            if (too_long)
                return img_fail(err, "%s: path too long", path);
        }
    }
    snprintf(file->tmp, sizeof file->tmp, "%s.tmp.XXXXXX", file->target);
    int fd = mkostemp(file->tmp, O_CLOEXEC);
    if (fd < 0)
        return img_fail(err, "%s: cannot create output: %s", path, strerror(errno));
    file->f = fdopen(fd, "wb");
    if (!file->f) {
        int e = errno;
        close(fd);
        unlink(file->tmp);
        return img_fail(err, "%s: cannot create output: %s", path, strerror(e));
    }
    return 0;
}

static int write_failed(img_atomic_file *file, int e, img_error *err)
{
    return img_fail(err, "%s: write failed: %s", file->path, strerror(e ? e : EIO));
}

int img_atomic_commit(img_atomic_file *file, img_error *err)
{
    int rc = 0;
    int fd = fileno(file->f);
    /* ferror catches a write whose failure the caller did not check. */
    if (ferror(file->f))
        rc = write_failed(file, errno, err);
    else if (fflush(file->f) != 0)
        rc = write_failed(file, errno, err);
    else if (fsync(fd) != 0)
        rc = write_failed(file, errno, err);
    /* mkstemp creates mode 0600; see the policy in fsutil.h. */
    else if (fchmod(fd, file->mode) != 0)
        rc = img_fail(err, "%s: cannot set permissions: %s", file->path, strerror(errno));
    int close_rc = fclose(file->f);
    file->f = NULL;   /* closed even when fclose fails */
    if (rc == 0 && close_rc != 0)
        rc = write_failed(file, errno, err);
    if (rc == 0 && rename(file->tmp, file->target) != 0)
        rc = img_fail(err, "%s: cannot replace output: %s", file->path, strerror(errno));
    if (rc != 0) {
        unlink(file->tmp);
        return -1;
    }
    sync_parent_dir(file->target);
    return 0;
}

void img_atomic_abort(img_atomic_file *file)
{
    if (file->f) {
        fclose(file->f);
        file->f = NULL;
        unlink(file->tmp);
    }
}

int img_write_atomic(const char *path, img_write_fn *fn, void *ctx, img_error *err)
{
    img_atomic_file file;
    if (img_atomic_open(&file, path, err) != 0)
        return -1;
    img_error inner;
    inner.message[0] = '\0';
    if (fn(file.f, ctx, &inner) != 0) {
        img_atomic_abort(&file);
        if (inner.message[0])
            return img_fail(err, "%s", inner.message);
        return img_fail(err, "%s: write failed", path);
    }
    return img_atomic_commit(&file, err);
}

typedef struct bytes {
    const void *data;
    size_t len;
} bytes;

static int write_bytes(FILE *f, void *ctx, img_error *err)
{
    const bytes *b = ctx;
    (void)err;   /* a failed fwrite sets the stream's error, which commit reports */
    if (b->len)
        fwrite(b->data, 1, b->len, f);
    return 0;
}

int img_write_file_atomic(const char *path, const void *data, size_t len, img_error *err)
{
    bytes b = {data, len};
    return img_write_atomic(path, write_bytes, &b, err);
}
