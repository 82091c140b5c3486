#include "fsutil.h"

#include <errno.h>
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

int img_atomic_open(img_atomic_file *file, const char *path, img_error *err)
{
    memset(file, 0, sizeof *file);
    if (snprintf(file->path, sizeof file->path, "%s", path) >= (int)sizeof file->path)
        return img_fail(err, "%s: path too long", path);
    snprintf(file->tmp, sizeof file->tmp, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(file->tmp);
    if (fd < 0)
        return img_fail(err, "%s: cannot create: %s", path, strerror(errno));
    file->f = fdopen(fd, "w");
    if (!file->f) {
        int e = errno;
        close(fd);
        unlink(file->tmp);
        return img_fail(err, "%s: cannot open: %s", path, strerror(e));
    }
    return 0;
}

int img_atomic_commit(img_atomic_file *file, img_error *err)
{
    int failed = ferror(file->f) || fflush(file->f) != 0;
    int e = failed ? (errno ? errno : EIO) : 0;
    if (fclose(file->f) != 0 && !failed) {
        failed = 1;
        e = errno;
    }
    file->f = NULL;
    /* mkstemp makes 0600; these files are for anyone who can read the folder. */
    if (!failed && chmod(file->tmp, 0644) != 0) {
        failed = 1;
        e = errno;
    }
    if (!failed && rename(file->tmp, file->path) != 0) {
        failed = 1;
        e = errno;
    }
    if (failed) {
        unlink(file->tmp);
        return img_fail(err, "%s: write failed: %s", file->path, strerror(e));
    }
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

int img_write_file_atomic(const char *path, const void *data, size_t len, img_error *err)
{
    img_atomic_file file;
    if (img_atomic_open(&file, path, err) != 0)
        return -1;
    if (len && fwrite(data, 1, len, file.f) != len) {
        int e = errno;
        img_atomic_abort(&file);
        return img_fail(err, "%s: write failed: %s", path, strerror(e));
    }
    return img_atomic_commit(&file, err);
}
