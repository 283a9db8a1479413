/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis-rec: the bastion's recorder around a local command or login
 * shell, like script(1) or tlog-rec: the same asciicast writer, masking and
 * seal as the proxy's sessions. Process glue only.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pty.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "portcullis/conf.h"
#include "portcullis/err.h"
#include "portcullis/file.h"
#include "portcullis/ini.h"
#include "portcullis/log.h"
#include "portcullis/proc.h"
#include "portcullis/ptyrelay.h"
#include "portcullis/recorder.h"

#define DEFAULT_CONFIG SYSCONFDIR "/portcullis/portcullis.conf"
#define SEAL_KEY_MAX 4096
#define EXIT_USAGE 64
#define EXIT_SOFTWARE 70
#define EXIT_CONFIG 78

static void __attribute__((noreturn))
usage(void)
{
    fprintf(stderr, "usage: portcullis-rec [-i] [-f config_file] "
                    "[-F asciicast-v2|asciicast-v3]\n"
                    "                      [-k seal_key] [-o file] "
                    "[-- command [arg ...]]\n");
    exit(EXIT_USAGE);
}

int
main(int argc, char **argv)
{
    const char *config_path = DEFAULT_CONFIG;
    const char *out_path = NULL;
    const char *key_path = NULL;
    const char *format = NULL;
    bool record_input = false;
    struct pcl_conf *conf = NULL;
    struct pcl_diag *diag = NULL;
    struct pcl_recorder_params rp;
    struct pcl_recorder *rec = NULL;
    struct pcl_ptyrelay_result res;
    struct passwd *pw = getpwuid(getuid());
    char session_id[33];
    char path[PATH_MAX];
    char rel[128];
    char why[512] = "";
    char key_id[32] = "";
    char command[1024] = "";
    uint8_t *key = NULL;
    size_t keylen = 0;
    struct winsize ws;
    bool have_ws;
    time_t now = time(NULL);
    struct tm tm;
    pid_t child;
    int master = -1;
    int ch;
    int rc;
    int i;

    /* "+": the options end at the command's name (ls -l stays ls's). */
    while ((ch = getopt(argc, argv, "+f:F:ik:o:h")) != -1) {
        switch (ch) {
        case 'f':
            config_path = optarg;
            break;
        case 'F':
            format = optarg;
            if (strcmp(format, "asciicast-v2") != 0 &&
                strcmp(format, "asciicast-v3") != 0) {
                usage();
            }
            break;
        case 'i':
            record_input = true;
            break;
        case 'k':
            key_path = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        default:
            usage();
        }
    }
    pcl_log_init("portcullis-rec", PCL_LOG_STDERR, PCL_LOG_INFO);
    if (pcl_proc_session_id(session_id, sizeof(session_id)) != PCL_OK ||
        pw == NULL) {
        fprintf(stderr, "portcullis-rec: cannot set up the session\n");
        return EXIT_SOFTWARE;
    }
    for (i = optind; i < argc; i++) {
        size_t l = strlen(command);
        snprintf(command + l, sizeof(command) - l, "%s%s", l > 0 ? " " : "",
                 argv[i]);
    }

    /* The bastion's settings are needed unless -o and -k say it all. */
    if (out_path == NULL || key_path == NULL) {
        if (pcl_diag_new(&diag) != PCL_OK ||
            pcl_conf_load(config_path, diag, &conf) != PCL_OK) {
            for (size_t k = 0; diag != NULL && k < pcl_diag_count(diag); k++) {
                fprintf(stderr, "%s\n", pcl_diag_get(diag, k));
            }
            pcl_diag_free(diag);
            return EXIT_CONFIG;
        }
        pcl_diag_free(diag);
    }
    if (format == NULL) {
        format = conf != NULL ? conf->rec_format : "asciicast-v2";
    }
    if (strcmp(format, "asciicast-v2") != 0 &&
        strcmp(format, "asciicast-v3") != 0) {
        usage();
    }
    if (out_path == NULL) {
        gmtime_r(&now, &tm);
        snprintf(rel, sizeof(rel), "%04d/%02d/%02d/%s.cast",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, session_id);
        if (pcl_file_mkdirs(conf->rec_directory, rel, why, sizeof(why)) !=
            PCL_OK) {
            fprintf(stderr, "portcullis-rec: %s\n", why);
            return EXIT_SOFTWARE;
        }
        snprintf(path, sizeof(path), "%s/%s", conf->rec_directory, rel);
        out_path = path;
    }
    if (key_path == NULL && conf != NULL) {
        key_path = conf->rec_seal_key;
    }
    if (key_path != NULL &&
        pcl_file_read_secret(key_path, SEAL_KEY_MAX, &key, &keylen, why,
                             sizeof(why)) != PCL_OK) {
        fprintf(stderr, "portcullis-rec: seal key: %s\n", why);
        return EXIT_CONFIG;
    }
    if (key != NULL) {
        (void)pcl_cast_key_id(key, keylen, key_id, sizeof(key_id));
    }

    have_ws = isatty(STDIN_FILENO) &&
              ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0;
    memset(&rp, 0, sizeof(rp));
    {
        char host[256];
        const struct pcl_cast_meta meta[] = {
            { "session_id", session_id },
            { "user", pw->pw_name },
            { "source", "local" },
            { "command", command[0] != '\0' ? command : NULL },
            { "bastion", host },
        };
        if (gethostname(host, sizeof(host)) != 0) {
            snprintf(host, sizeof(host), "unknown");
        }
        host[sizeof(host) - 1] = '\0';
        rp.cast.path = out_path;
        rp.cast.format = strcmp(format, "asciicast-v3") == 0 ? PCL_CAST_V3
                                                             : PCL_CAST_V2;
        rp.cast.width = have_ws ? ws.ws_col : 80;
        rp.cast.height = have_ws ? ws.ws_row : 24;
        rp.cast.timestamp = (int64_t)now;
        rp.cast.term = getenv("TERM");
        rp.cast.shell = pw->pw_shell;
        rp.cast.meta = meta;
        rp.cast.nmeta = sizeof(meta) / sizeof(meta[0]);
        rp.cast.flush_interval_ms = conf != NULL ? conf->rec_flush_interval_ms
                                                 : 1000;
        rp.cast.seal_key = key;
        rp.cast.seal_key_len = keylen;
        rp.cast.seal_key_id = key_id;
        rp.builtin_rules = true;
        rp.mask_holdback_ms = conf != NULL ? conf->rec_mask_holdback_ms : 50;
        rp.record_input = record_input;
        rc = pcl_recorder_new(&rp, &rec, why, sizeof(why));
    }
    pcl_file_secret_free(key, keylen);
    if (rc != PCL_OK) {
        fprintf(stderr, "portcullis-rec: cannot record: %s\n", why);
        return rc == PCL_ERR_CONFIG ? EXIT_CONFIG : EXIT_SOFTWARE;
    }
    /* Files are open: the command runs without the recorder's group. */
    if (pcl_proc_drop_group() != PCL_OK) {
        fprintf(stderr, "portcullis-rec: cannot drop group privilege\n");
        pcl_recorder_free(rec);
        return EXIT_SOFTWARE;
    }
    child = forkpty(&master, NULL, NULL, have_ws ? &ws : NULL);
    if (child < 0) {
        fprintf(stderr, "portcullis-rec: forkpty: %s\n", strerror(errno));
        pcl_recorder_free(rec);
        return EXIT_SOFTWARE;
    }
    if (child == 0) {
        if (optind < argc) {
            execvp(argv[optind], argv + optind);
        } else {
            const char *sh = pw->pw_shell != NULL && pw->pw_shell[0] != '\0'
                                 ? pw->pw_shell
                                 : "/bin/sh";
            execl(sh, sh, "-l", (char *)NULL);
        }
        fprintf(stderr, "portcullis-rec: cannot run the command: %s\r\n",
                strerror(errno));
        _exit(127);
    }
    (void)pcl_ptyrelay_run(master, child, STDIN_FILENO, STDOUT_FILENO,
                           pcl_recorder_tap(rec), &res);
    close(master);
    {
        char sig[16] = "";
        if (res.signo != 0) {
            snprintf(sig, sizeof(sig), "%s", sigabbrev_np(res.signo));
        }
        rc = pcl_recorder_finish(rec, res.exit_status,
                                 sig[0] != '\0' ? sig : NULL);
    }
    if (res.tap_failed) {
        fprintf(stderr, "portcullis-rec: the recording failed; the command "
                        "was stopped\n");
        return EXIT_SOFTWARE;
    }
    if (rc != PCL_OK) {
        fprintf(stderr, "portcullis-rec: %s: not sealed\n", out_path);
    }
    if (res.signo != 0) {
        signal(res.signo, SIG_DFL);
        raise(res.signo);
        return 128 + res.signo;
    }
    pcl_conf_free(conf);
    return res.exit_status;
}
